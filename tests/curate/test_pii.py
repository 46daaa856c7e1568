"""lmsci/curate/pii.py: recall on PII planted with faker (en_US and en_GB), no replacement on
software look-alikes (versions, dates, ISBNs, section numbers, code), counts in the ledger."""
from __future__ import annotations

import ipaddress
import random

import polars as pl
import pytest
from faker import Faker

from lmsci.config import PiiConfig
from lmsci.curate import pii

DEFAULT = PiiConfig()
N = 300  # planted values per type and locale
# Where each kind turns up in running text; two phone contexts name no phone at all, so a
# bare 10-digit number there is missed by design (it could as well be a timestamp or an id).
CONTEXTS = {
    "email": ["Contact {v} for details.", "Write to {v} for help", "({v})", "email: {v}", "{v} is the address we use"],
    "ip": ["the server {v} answered", "connect to {v} on port 443", "({v})", "from {v} at noon", "host {v}"],
    "phone": ["Call us on {v} today", "Phone: {v}", "Reach the office at {v} or by post.", "({v})", "Tel. {v}",
              "Contact {v} for details.", "or text {v}."],
}


def _public_ipv6(fake: Faker) -> str:
    # faker mixes in unique-local fc00::/7 addresses, which are private like 10.0.0.0/8: not planted
    return next(v for v in iter(fake.ipv6, None) if ipaddress.ip_address(v).is_global)


GENERATORS = {"email": lambda f: f.email(), "ipv4": lambda f: f.ipv4_public(), "ipv6": _public_ipv6,
              "phone": lambda f: f.phone_number()}
KIND = {"email": "email", "ipv4": "ip", "ipv6": "ip", "phone": "phone"}


def _recall(kind: str, locale: str) -> tuple[float, list]:
    fake = Faker(locale)
    fake.seed_instance(1234)
    rng = random.Random(1234)
    hits, misses = 0, []
    for _ in range(N):
        value = GENERATORS[kind](fake)
        text = f"{fake.sentence()} {rng.choice(CONTEXTS[KIND[kind]]).format(v=value)} {fake.sentence()}"
        out, counts = pii.redact(text, DEFAULT)
        expected = {t: int(t == KIND[kind]) for t in DEFAULT.types}
        if counts == expected and value not in out and pii.PLACEHOLDER[KIND[kind]] in out:
            hits += 1
        else:
            misses.append(value)
    return hits / N, misses


@pytest.mark.parametrize("locale", ["en_US", "en_GB"])
@pytest.mark.parametrize("kind, floor", [("email", 0.99), ("ipv4", 0.99), ("ipv6", 0.99), ("phone", 0.95)])
def test_recall_on_planted_pii(kind, floor, locale):
    recall, misses = _recall(kind, locale)
    assert recall >= floor, f"{kind}/{locale}: recall {recall:.3f}; missed e.g. {misses[:5]}"


LOOKALIKES = [
    "Python 3.11.4 and LibreOffice 7.4.7.2 were released; see section 8.2.4.44 of the HTML5 spec.",
    "Upgrade to version 1.2.3.4 (v10.0.0.1, build 10.0.19045.3570, tag 2.40.1.windows.1, OID 1.2.3.4.5).",
    "ISBN 978-3-16-148410-0, ISBN-10: 0-306-40615-2, ISBN 0306406152 and 9783161484100.",
    "Dates: 2023-10-12, 12.10.2023, 10/12/2023, 20-07-1954, 2024-01-02T03:04:05Z at 12:30:45.",
    "x = 2.71828182845904; n = 1,234,567,890; limit 2.147.483.648; sys.maxsize 2147483647; t = 1700000000",
    "@property\ndef weight(self):\n    return x @ W.T + a[1::2] - b[::2]\nstd::vector<int> v; mask = 0x7fffffff",
    "uuid 123e4567-e89b-12d3-a456-426614174000, colour #ff00ff, string.digits = '0123456789', range(100, 200)",
    "Private and reserved: 192.168.0.1, 127.0.0.1, 10.0.0.8, 192.0.2.5/24, fe80::1, ::1, 2001:db8::/32.",
    "ids 100-200-3000, Fibonacci 21 34 55 89 144 233 377 610 987 1597, IBAN BR15 0000 0000 0000 1093",
    "MAC 00:1a:2b:3c:4d:5e, ports 8080:80, ratio 5678.1234, user@localhost, root@host:~# and pi 3.141592653589793",
    # matrix products and method calls (PEP 465 '@'), attribute chains, SSH remotes
    "y = a@self.weight + b\nscores = q@k.transpose(-2, -1)\nh = (x@self.fc.in)\nz = x@W.T@v.norm()",
    "git clone git@github.com:lmsci/lmsci.git and hg@bitbucket.org:team/repo",
    "Version 2.13.0, v1.2.3.4-rc1, release 10.0.22631.2861, Python 3.11.7 (2023-12-04), ISBN 978-0-262-03384-8",
    # documentation examples: RFC 5737 / RFC 3849 ranges and the public resolvers tutorials name
    "ping 203.0.113.7; route 198.51.100.23 via 192.0.2.1; host 2001:db8:85a3::8a2e:370:7334",
    "nameserver 208.67.222.222\nnameserver 9.9.9.9\ndig @2606:4700:4700::1111 example.com",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_software_lookalikes_are_untouched(text):
    out, counts = pii.redact(text, DEFAULT)
    assert out == text and sum(counts.values()) == 0, out


def test_placeholders_are_typed_and_counted():
    text = "Mail jane.doe@example.org or call (415) 555-0123; the host is 93.184.216.34 or 2606:4700::1111."
    out, counts = pii.redact(text, DEFAULT)
    assert out == "Mail <EMAIL> or call <PHONE>; the host is <IP> or <IP>."
    assert counts == {"email": 1, "ip": 2, "phone": 1}


def test_only_configured_types_are_replaced():
    text = "jane.doe@example.org, 93.184.216.34"
    out, counts = pii.redact(text, PiiConfig(types=["ip"]))
    assert out == "jane.doe@example.org, <IP>" and counts == {"ip": 1}


def test_documentation_addresses_stay_even_when_private_ones_are_replaced():
    text = "the test host 203.0.113.7 (or 2001:db8::5) and the office at 93.184.216.34"
    out, counts = pii.redact(text, PiiConfig(public_ips_only=False))
    assert out == "the test host 203.0.113.7 (or 2001:db8::5) and the office at <IP>" and counts["ip"] == 1


@pytest.mark.parametrize("address, kept", [
    ("jane@example.com", False), ("j.doe@mail.example.co.uk", False), ("sales@shop.store", False),
    ("a@self.weight", True), ("x@layer.bias", True), ("me@host.internal", True), ("you@x.zq", True),
])
def test_email_needs_a_real_top_level_domain(address, kept):
    out, counts = pii.redact(f"Send it to {address} today.", DEFAULT)
    assert (out == f"Send it to {address} today.") == kept and counts["email"] == int(not kept)


def test_private_addresses_are_replaced_when_asked():
    text = "the router at 192.168.0.1"
    assert pii.redact(text, DEFAULT)[0] == text
    assert pii.redact(text, PiiConfig(public_ips_only=False))[0] == "the router at <IP>"


def test_apply_redacts_every_document_and_counts_per_type():
    texts = ["write to a@example.com or b@example.net", "no personal data here", "call 415-555-0123"]
    df = pl.DataFrame({"id": ["s/a/1", "s/a/2", "s/a/3"], "text": texts})
    out, led = pii.apply(df, DEFAULT, "s", "a")
    assert out["text"].to_list() == ["write to <EMAIL> or <EMAIL>", "no personal data here", "call <PHONE>"]
    assert out["id"].to_list() == df["id"].to_list()
    assert (led.stage, led.seen, led.kept, dict(led.dropped)) == ("pii", 3, 3, {})
    assert led.extra == {"pii_email": 2, "pii_ip": 0, "pii_phone": 1, "pii_documents": 2}
    assert led.chars_out == sum(out["text"].str.len_chars())
