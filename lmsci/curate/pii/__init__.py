"""PII redaction: e-mail and IP addresses, IBANs, payment-card and phone numbers → typed placeholders.

Each type has a finder that returns the spans it accepts (``net``: e-mail and IP; ``finance``:
IBAN (mod 97, SWIFT registry) and cards (IIN + Luhn); ``phone``: libphonenumber, region from the
page's language and URL). Types run in :data:`ORDER` on the text the previous ones left, so a digit
run that is an IBAN or a card is not also read as a phone number. Nothing is dropped; the counts
per type go to the ledger's ``extra``. :func:`stage` is the :mod:`lmsci.stage` contract.
"""
from __future__ import annotations

import polars as pl

from lmsci.config import PII_TYPES, PiiConfig
from lmsci.curate.pii import finance, net, phone
from lmsci.ledger import Ledger
from lmsci.stage import Result, empty_dropped

PLACEHOLDER = {"email": "<EMAIL>", "ip": "<IP>", "phone": "<PHONE>", "credit_card": "<CREDIT_CARD>",
               "iban": "<IBAN>"}
assert set(PLACEHOLDER) == set(PII_TYPES)
# E-mail first (its local part may hold digits), then the checksummed numbers, then IPs, then phones:
# the most specific evidence claims a span before the loosest reader sees it.
ORDER = ("email", "iban", "credit_card", "ip", "phone")
LANGUAGE_COLUMNS = ("language", "lang")  # what the tag stage calls the detected language


def _spans(kind: str, text: str, cfg: PiiConfig, lang: str | None, url: str | None) -> list[tuple[int, int]]:
    if kind == "email":
        return net.emails(text, cfg)
    if kind == "ip":
        return net.ips(text, cfg)
    if kind == "iban":
        return finance.ibans(text)
    if kind == "credit_card":
        return finance.cards(text)
    return phone.find(text, lang, url)


def redact(text: str, cfg: PiiConfig, lang: str | None = None, url: str | None = None) -> tuple[str, dict[str, int]]:
    """Text with every accepted match replaced by its placeholder, and the count per type.

    ``lang`` (detected language, ISO 639-1) and ``url`` pick the regions a national phone number is read in."""
    counts = dict.fromkeys(cfg.types, 0)
    for kind in ORDER:
        if kind not in counts:
            continue
        spans = _spans(kind, text, cfg, lang, url)
        if spans:
            parts, last = [], 0
            for start, end in spans:
                parts += [text[last:start], PLACEHOLDER[kind]]
                last = end
            text = "".join(parts) + text[last:]
            counts[kind] = len(spans)
    return text, counts


def apply(df: pl.DataFrame, cfg: PiiConfig, source: str, shard: str) -> tuple[pl.DataFrame, Ledger]:
    """Redact every document's text; nothing is dropped. Counts per type land in ``ledger.extra``."""
    led = Ledger("pii", source, shard)
    totals = {f"pii_{t}": 0 for t in cfg.types}
    lang_col = next((c for c in LANGUAGE_COLUMNS if c in df.columns), None)
    langs = df[lang_col].to_list() if lang_col else [None] * df.height
    urls = df["url"].to_list() if "url" in df.columns else [None] * df.height
    texts, touched = [], 0
    for text, lang, url in zip(df["text"], langs, urls):
        out, counts = redact(text, cfg, lang, url)
        texts.append(out)
        touched += out != text
        for t, c in counts.items():
            totals[f"pii_{t}"] += c
        led.keep(len(text), len(out))
    led.extra.update(totals, pii_documents=touched)
    return df.with_columns(pl.Series("text", texts, dtype=pl.String)), led


def stage(df: pl.DataFrame, *, cfg: PiiConfig, source: str, shard: str) -> Result:
    """:mod:`lmsci.stage` contract: every document kept (redacted), an empty dropped frame."""
    kept, led = apply(df, cfg, source, shard)
    return kept, empty_dropped(), led
