"""E-mail and IP addresses, validated so that software text survives untouched.

Dotted quads must be valid, public (datatrove's PIIFormatter default) and not part of a longer
dotted or version-like sequence ("v1.2.3.4", "1.2.3.4.5", "Version 7.4.7.2"). Addresses reserved
for documentation (RFC 5737, RFC 3849) and the public DNS resolvers every tutorial names are never
replaced: no person is behind them. An e-mail's top-level domain must be one that exists (IANA root
zone: the two-letter country codes and the common generic ones below), which is what separates
``jane@mail.example.com`` from the matrix product ``a@self.weight``; an address read as a method
call or subscript (``q@k.transpose(``), an attribute of ``self``/``this``/``cls``, or an SSH remote
(``git@github.com:user/repo``) is code. New gTLDs outside the list are missed (a recall cost).
"""
from __future__ import annotations

import ipaddress
import re

from lmsci.config import PiiConfig

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
# ... or a section, clause or rule number ("section 12.4.5.33", "§ 3.2.1.4").
_VERSION_CONTEXT = re.compile(r"(?i)(?:\b(?:v|version|release|build|rev(?:ision)?|update|patch|ver\.?|section|sect?\.|"
                              r"chapter|ch\.|clause|para(?:graph)?|art(?:icle)?\.?|rule|table|fig(?:ure)?\.?|"
                              r"appendix|step|item)|§+)\s*$")


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


def emails(text: str, cfg: PiiConfig) -> list[tuple[int, int]]:
    return [m.span() for m in EMAIL.finditer(text) if _email(m, text, cfg)]


def ips(text: str, cfg: PiiConfig) -> list[tuple[int, int]]:
    """IPv6 first: an IPv4 tail (``::ffff:1.2.3.4``) must not be taken apart."""
    v6 = [m.span() for m in IPV6.finditer(text)
          if sum(map(bool, m.group().split(":"))) >= 3 and _ip_ok(m.group(), cfg)]
    v4 = [m.span() for m in IPV4.finditer(text) if _ipv4(m, text, cfg)
          and not any(m.start() < b and a < m.end() for a, b in v6)]
    return sorted(v6 + v4)
