"""PII redaction: e-mail addresses, IP addresses and phone numbers → typed placeholders.

Candidates come from regular expressions; each is then validated so that software text
survives untouched: dotted quads must be valid, public (datatrove's PIIFormatter default) and
not part of a longer dotted or version-like sequence ("v1.2.3.4", "1.2.3.4.5", "Version 7.4.7.2");
phone numbers need separators in a known national or international layout and 10-15 digits
(bare digit runs also need a phone word just before them), so dates, ISBNs, timestamps,
decimals and hex do not match. Addresses reserved for documentation (RFC 5737, RFC 3849) and
the public DNS resolvers every tutorial names are never replaced: no person is behind them.

An e-mail's top-level domain must be one that exists (IANA root zone: the two-letter country
codes and the common generic ones below), which is what separates ``jane@mail.example.com`` from
the matrix product ``a@self.weight``; an address read as a method call or subscript
(``q@k.transpose(``), an attribute of ``self``/``this``/``cls``, or an SSH remote
(``git@github.com:user/repo``) is code. New gTLDs outside the list are missed (a recall cost).
Counts per type go to the ledger.
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
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+([A-Za-z]{2,24})"
    r"(?![\w@(\[-]|\.[A-Za-z0-9]|:[\w~/])")  # not a call, subscript, longer name or user@host:path remote
# IANA root zone (https://www.iana.org/domains/root/db): country codes (ISO 3166-1 alpha-2 and the
# delegated exceptions ac, eu, su, uk) and the generic TLDs common in mail addresses.
CC_TLDS = frozenset("""
ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt bv bw by bz
ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fk fm
fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is
it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm
mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr
ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg
th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw""".split())
GENERIC_TLDS = frozenset("""
com net org edu gov mil int info biz name pro aero coop museum mobi asia tel travel jobs cat post
xyz online top shop site store club vip app dev tech live life website space fun blog cloud email news
world today global digital agency company solutions services network studio design media group link
click page art one ltd llc health care legal law bank money finance academy school university
church family house home land solar energy eco earth city london berlin nyc paris tokyo""".split())
_CODE_RECEIVER = re.compile(r"@(?:self|this|cls)\.", re.I)
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


# RFC 5737 TEST-NET-1/2/3 and RFC 3849: reserved for examples, so never a person's address
DOCUMENTATION_NETS = tuple(map(ipaddress.ip_network, ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                                                      "2001:db8::/32")))
# Public resolvers of Google, Cloudflare, Quad9 and OpenDNS, named in countless configuration examples
PUBLIC_RESOLVERS = frozenset(map(ipaddress.ip_address, (
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112", "208.67.222.222", "208.67.220.220",
    "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111", "2606:4700:4700::1001",
    "2620:fe::fe", "2620:fe::9")))


def _ip_ok(s: str, cfg: PiiConfig) -> bool:
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return False
    if ip in PUBLIC_RESOLVERS or any(ip in net for net in DOCUMENTATION_NETS):
        return False
    return ip.is_global or not cfg.public_ips_only


def _email(m: re.Match, text: str, cfg: PiiConfig) -> bool:
    tld = m.group(1).lower()
    return (tld in CC_TLDS if len(tld) == 2 else tld in GENERIC_TLDS) and not _CODE_RECEIVER.search(m.group())


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
    ("email", EMAIL, _email),
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
