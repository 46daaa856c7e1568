"""Phone numbers with libphonenumber (``phonenumbers``), the region guessed from the page.

A national number ("030 1234567") means something only in a region, so each document gets an
ordered list of regions: its URL's country-code TLD, then the regions where its detected language
is spoken most (``REGIONS``), else ``FALLBACK``. Numbers written with a country code ("+49 30 …")
need none. Candidates are cheap digit runs (>= 7 digits with phone separators); each is handed,
with one character of context either side (what libphonenumber's boundary test reads), to
``PhoneNumberMatcher`` at ``Leniency.VALID``: the number must be in a range the region has assigned,
which is what keeps build numbers, dates, ISBNs and ids out. An international number that is only
possible (right length, unassigned range) is still taken: a writer who adds "+CC" means a phone.
A bare digit run ("2147483647" is a valid US number) needs a phone word just before it.
"""
from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

import phonenumbers as pn

# Where a language is mostly written, most speakers first (CLDR territory-language data, trimmed to
# at most four regions a language: each costs a parse per candidate, and a page from a smaller one
# usually names it in its URL, e.g. .co.za, .ie). fastText lid.176 codes. Regions that share a
# calling code are tried once (a valid NANP number is valid whichever NANP region parses it).
REGIONS = {
    "en": ("US", "GB", "IN", "AU"), "de": ("DE", "AT", "CH"), "fr": ("FR", "BE", "CH", "CA"),
    "es": ("ES", "MX", "AR", "CO"), "pt": ("BR", "PT"), "it": ("IT", "CH"), "nl": ("NL", "BE"), "pl": ("PL",),
    "ru": ("RU", "BY"), "uk": ("UA",), "be": ("BY",), "cs": ("CZ",), "sk": ("SK",), "sl": ("SI",), "hr": ("HR", "BA"),
    "sr": ("RS", "BA"), "bs": ("BA",), "bg": ("BG",), "mk": ("MK",), "ro": ("RO", "MD"), "hu": ("HU",),
    "el": ("GR", "CY"), "tr": ("TR",), "sv": ("SE", "FI"), "da": ("DK",), "no": ("NO",), "nb": ("NO",), "nn": ("NO",),
    "fi": ("FI",), "is": ("IS",), "et": ("EE",), "lv": ("LV",), "lt": ("LT",), "ga": ("IE",), "ca": ("ES", "AD"),
    "eu": ("ES",), "gl": ("ES",), "ja": ("JP",), "zh": ("CN", "TW", "HK", "SG"), "ko": ("KR",), "vi": ("VN",),
    "th": ("TH",), "id": ("ID",), "ms": ("MY", "SG"), "tl": ("PH",), "fil": ("PH",), "hi": ("IN",), "bn": ("BD", "IN"),
    "ur": ("PK", "IN"), "ta": ("IN", "LK"), "te": ("IN",), "mr": ("IN",), "ne": ("NP",), "si": ("LK",),
    "fa": ("IR", "AF"), "ar": ("SA", "EG", "AE", "MA"), "he": ("IL",), "iw": ("IL",), "hy": ("AM",), "ka": ("GE",),
    "az": ("AZ",), "kk": ("KZ",), "uz": ("UZ",), "sw": ("KE", "TZ"), "af": ("ZA",),
}
# No language or URL hint: English's regions, the largest share of Common Crawl (an international
# "+CC" number needs no region at all).
FALLBACK = REGIONS["en"]
_TLD_REGION = {"uk": "GB"}  # the one ccTLD that is not its ISO 3166 code (.eu, .su have no dialling plan)

# A run of >= 7 digits that phone punctuation holds together, with an optional extension.
CANDIDATE = re.compile(r"[+(]{0,2}\d(?:[ \u00a0().\-/\u2010-\u2015]{0,3}\d){6,19}"
                       r"(?:[ \u00a0]?(?:x|ext\.?|#)[ \u00a0]?\d{1,6})?")
# A bare digit run is a phone number only after one of these words (any script), as in "Tel. 0301234567".
_CONTEXT = re.compile(
    r"(?i)(?:phone|ph|tel|telephone|call|fax|mobile|cell|contact|dial|text|sms|whatsapp|hotline|☎|📞|"
    r"telefon|telefono|teléfono|téléphone|tél|telefone|telefoon|telepon|tfn|tlf|puh|puhelin|handy|mobil|"
    r"móvil|celular|cellulare|portable|appel|anruf|kontakt|contacto|contatto|contato|τηλ|тел|телефон|моб|"
    r"電話|电话|手机|手機|携帯|전화|휴대폰|โทร|điện thoại|sđt|هاتف|تلفن|טלפון)\W{0,4}(?:\w+\W{1,3}){0,2}$")
# ... and never after a word that makes it an identifier ("ISBN 0306406152", "build 10.0.19045", "order #").
_NOT_PHONE_BEFORE = re.compile(r"(?i)(?:(?<!\w)(?:isbn(?:-1[03])?|issn|doi|v|version|release|build|rev(?:ision)?|"
                               r"patch|order|invoice|ticket|tracking|ref|id)[\s:#.=-]{0,3}"
                               r"(?:(?:no|nr|num(?:ber)?)[\s:#.=-]{0,3})?|#\s?)$")

# Shapes that are something else: a quantity grouped in thousands ("2.147.483.648", "1,234,567,890"),
# a decimal ("117.717994"), a dotted quad (a private address the IP finder left), a date with or
# without its time ("2004-09-23 18", "23.09.2004 18"), a time, a version, a range.
_NOT_NUMBER = re.compile(r"^[1-9]\d{0,2}([.,])\d{3}(?:\1\d{3})+$|^-?\d+[.,]\d+$|^\d{1,3}(?:\.\d{1,3}){3}"
                         r"|(?:19|20)\d\d([-./])[01]?\d\2[0-3]?\d|[0-3]?\d([-./])[01]?\d\3(?:19|20)\d\d|\d:\d\d"
                         r"|^[1-9]\d?\.\d{1,2}\.\d"  # a version: "5.15.123-456"
                         r"|\s[-–—]\s")  # a range: "32768 – 32767"
# Part of a longer dotted or timed sequence: "4.8.123-456", "72.9202635 170.06", "18:27:32.184487".
# Also a uuid's or hash's inner group ("d462bb7b-1234-5678"), an exponent ("10E+38"), a negative number.
_DOTTED_BEFORE = re.compile(r"(?:\d[.:,/]|\w-|[A-Za-z0-9]|(?:^|[\s(\[=,;:])[-−])$")
_DOTTED_AFTER = re.compile(r"[.:,/]\d|[:\]]|-\w")


@functools.lru_cache(maxsize=4096)
def regions(lang: str | None, url: str | None) -> tuple[str, ...]:
    """The regions a national number on this page is read in, most likely first."""
    out: list[str] = []
    try:
        host = (urlsplit(url).hostname or "") if url else ""
    except ValueError:  # "http://[::1": a crawled URL is not always well formed; then no URL hint
        host = ""
    tld = host.rpartition(".")[2].lower()
    region = _TLD_REGION.get(tld, tld.upper())
    if len(tld) == 2 and region in pn.SUPPORTED_REGIONS:
        out.append(region)
    code = (lang or "").lower().replace("-", "_").split("_")[0]
    out += REGIONS.get(code, ())
    out = out or list(FALLBACK)
    codes = [pn.country_code_for_region(r) for r in out]
    return tuple(r for i, r in enumerate(out) if codes[i] not in codes[:i])


def _matches(window: str, region_list: tuple[str, ...]):
    for region in region_list:
        found = list(pn.PhoneNumberMatcher(window, region, leniency=pn.Leniency.VALID))
        if found:
            return found
    if "+" in window:  # explicit country code: a possible length is enough (and >= 9 digits, not "+12345678")
        return [m for m in pn.PhoneNumberMatcher(window, "ZZ", leniency=pn.Leniency.POSSIBLE)
                if m.raw_string.lstrip("(").startswith("+")
                and len(str(m.number.country_code)) + len(str(m.number.national_number)) >= 9]
    return []


def _span(m, lo: int) -> tuple[int, int, str]:
    """The match without an unbalanced opening bracket ("(+33 1 23 45 67 89)" keeps its brackets)."""
    raw, start = m.raw_string, lo + m.start
    if raw.startswith("(") and raw.count("(") > raw.count(")"):
        raw, start = raw[1:], start + 1
    return start, start + len(raw), raw


def _looks_like_phone(text: str, start: int, end: int, raw: str) -> bool:
    """The precision rules libphonenumber does not apply (each seen on software and reference pages)."""
    if _NOT_NUMBER.search(raw) or _DOTTED_BEFORE.search(text, max(0, start - 2), start) \
            or _DOTTED_AFTER.match(text, end):
        return False
    before = text[max(0, start - 40):start]
    if _NOT_PHONE_BEFORE.search(before[-24:]):
        return False
    return not raw.strip("()[]").isdigit() or bool(_CONTEXT.search(before))


def find(text: str, lang: str | None = None, url: str | None = None) -> list[tuple[int, int]]:
    """Spans of the phone numbers in ``text``, in order."""
    spans: list[tuple[int, int]] = []
    region_list = None
    for c in CANDIDATE.finditer(text):
        if sum(ch.isdigit() for ch in c.group()) < 7 or spans and c.start() < spans[-1][1]:
            continue
        lo, hi = max(0, c.start() - 1), min(len(text), c.end() + 1)
        region_list = region_list or regions(lang, url)
        for m in _matches(text[lo:hi], region_list):
            start, end, raw = _span(m, lo)
            if _looks_like_phone(text, start, end, raw):
                spans.append((start, end))
    return spans
