"""PII redaction: e-mail addresses, IP addresses and phone numbers → typed placeholders.

Candidates come from regular expressions; each is then validated so that software text
survives untouched: dotted quads must be valid, public (datatrove's PIIFormatter default) and
not part of a longer dotted or version-like sequence ("v1.2.3.4", "1.2.3.4.5", "Version 7.4.7.2");
phone numbers need separators in a known national or international layout and 10-15 digits
(bare digit runs also need a phone word just before them), so dates, ISBNs, timestamps,
decimals and hex do not match. Counts per type go to the ledger.
"""
from __future__ import annotations

import ipaddress
import re

import polars as pl

from lmsci.config import PII_TYPES, PiiConfig
from lmsci.ledger import Ledger

PLACEHOLDER = {"email": "<EMAIL>", "ip": "<IP>", "phone": "<PHONE>"}
assert set(PLACEHOLDER) == set(PII_TYPES)

EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![\w@-]|\.[A-Za-z0-9])")
IPV4 = re.compile(r"(?<![\w.:/-])(?:\d{1,3}\.){3}\d{1,3}(?![\w-]|\.\w|/\d)")  # not a CIDR prefix
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:)(?![\w:]|/\d)")
# Words that make a dotted quad a version or build number, not an address.
_VERSION_CONTEXT = re.compile(r"(?i)\b(?:v|version|release|build|rev(?:ision)?|update|patch|ver\.?)\s*$")
_SEP = r"[ .-]"
PHONE = re.compile(
    r"(?<![\w.+/:-])(?:"
    # North American (area code and exchange start 2-9): (415)555-0123, 415.555.0123, +1-415-555-0123
    r"(?:(?:\+1|001|1)[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[.-])[2-9]\d{2}[.-]\d{4}"
    # International with a leading +: +44 20 7946 0958, +44(0)20 7946 0958, +443069990475
    rf"|\+\d{{1,3}}(?:\(0\))?{_SEP}?\(?\d{{1,5}}\)?(?:{_SEP}?\d{{2,5}}){{1,4}}"
    # National with trunk prefix 0: 020 7946 0958, (0121)4960841, 01632 960 139
    rf"|\(0[1-9]\d{{1,3}}\) ?\d{{3,4}}{_SEP}?\d{{3,4}}|0[1-9]\d{{1,3}} \d{{3,4}} ?\d{{3,4}}"
    r")(?: ?(?:x|ext\.?|#) ?\d{1,6})?(?![\w/:]|[.-]\d)")
# Unseparated digits are a phone number only as a valid NANP number (area code and exchange
# 2-9) or a UK number with trunk 0, and only after a word that says so: "2147483647" stays.
PHONE_PLAIN = re.compile(r"(?<![\w.+/:-])(?:[2-9]\d{2}[2-9]\d{6}|0\d{10})(?![\w/:]|[.,-]\d)")
_PHONE_CONTEXT = re.compile(r"(?i)(?:phone|tel|telephone|call|fax|mobile|cell|contact|dial|text|sms|whatsapp|"
                            r"hotline|☎)\W{0,3}(?:\w+\W{1,3}){0,2}$")
_ISBN_CONTEXT = re.compile(r"(?i)isbn(?:-1[03])?:?\s*$")


def _ip_ok(s: str, cfg: PiiConfig) -> bool:
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return False
    return ip.is_global or not cfg.public_ips_only


def _ipv4(m: re.Match, text: str, cfg: PiiConfig) -> bool:
    s = m.group()
    octets = s.split(".")
    if any(len(o) > 1 and o[0] == "0" for o in octets):  # leading zeros: not how addresses are written
        return False
    if all(len(o) == 1 for o in octets[:3]):  # versions, sections ("7.4.7.2", "8.2.4.44"); 8.8.4.4 is not personal
        return False
    return _ip_ok(s, cfg) and not _VERSION_CONTEXT.search(text, max(0, m.start() - 24), m.start())


def _phone_plain(m: re.Match, text: str, cfg: PiiConfig) -> bool:
    return bool(_PHONE_CONTEXT.search(text, max(0, m.start() - 32), m.start()))


def _phone(m: re.Match, text: str, cfg: PiiConfig) -> bool:
    digits = sum(c.isdigit() for c in m.group().split("x")[0].split("#")[0].split("ext")[0])
    return 10 <= digits <= 15 and not _ISBN_CONTEXT.search(text, max(0, m.start() - 10), m.start())


CHECKS = (  # (type, pattern, validator), applied in this order
    ("email", EMAIL, lambda m, text, cfg: True),
    ("ip", IPV6, lambda m, text, cfg: sum(map(bool, m.group().split(":"))) >= 3 and _ip_ok(m.group(), cfg)),
    ("ip", IPV4, _ipv4),
    ("phone", PHONE, _phone),
    ("phone", PHONE_PLAIN, _phone_plain),
)


def redact(text: str, cfg: PiiConfig) -> tuple[str, dict[str, int]]:
    """Text with every accepted match replaced by its placeholder, and the count per type."""
    counts = dict.fromkeys(cfg.types, 0)
    for kind, pattern, ok in CHECKS:
        if kind not in counts:
            continue
        parts, last = [], 0
        for m in pattern.finditer(text):
            if ok(m, text, cfg):
                parts += [text[last:m.start()], PLACEHOLDER[kind]]
                last = m.end()
                counts[kind] += 1
        if parts:
            text = "".join(parts) + text[last:]
    return text, counts


def apply(df: pl.DataFrame, cfg: PiiConfig, source: str, shard: str) -> tuple[pl.DataFrame, Ledger]:
    """Redact every document's text; nothing is dropped. Counts per type land in ``ledger.extra``."""
    led = Ledger("pii", source, shard)
    totals = {f"pii_{t}": 0 for t in cfg.types}
    texts, touched = [], 0
    for text in df["text"]:
        out, counts = redact(text, cfg)
        texts.append(out)
        touched += out != text
        for t, c in counts.items():
            totals[f"pii_{t}"] += c
        led.keep(len(text), len(out))
    led.extra.update(totals, pii_documents=touched)
    return df.with_columns(pl.Series("text", texts, dtype=pl.String)), led
