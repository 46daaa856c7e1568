"""lmsci/curate/pii: each type on crafted text (cards, IBANs, phones by region), software look-alikes
(versions, dates, ISBNs, section numbers, order numbers, code) untouched, counts in the ledger, the
stage contract. Recall on planted PII in 30 locales: test_pii_recall.py."""
from __future__ import annotations

import polars as pl
import pytest

from lmsci.config import PiiConfig
from lmsci.curate import pii

DEFAULT = PiiConfig()
NONE = {t: 0 for t in DEFAULT.types}


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
    # the look-alikes: section numbers taken for phones; Luhn-valid ids; coordinates; timestamps
    "See section 3.2.1.4 and § 12.4.5.33; v1.10.2 fixed it; clause 4.1.2.10 of ISO 13616-1:2020.",
    "Order #4111111111111111, invoice 2024-00017, order no. 5500000000000004, EAN 4006381333931",
    "Located at 48.856614, 2.3522219 (-33.8688197 151.2092955); N 48°51′24″ E 2°21′03″",
    "created 1700000000123 ms, 2024-01-02 03:04:05.678901, 02.01.2024 03:04, kernel 6.5.0-1017-azure",
    "hash 4f9c2a1e0b7d3c5a, id 0x4111111111111111, GUID {3F2504E0-4F89-11D3-9A0C-0305E82C3301}",
]


# Not "zh": libphonenumber's CN pattern reads "100-200-3000" as a Beijing number (10 0200 3000);
# test_pii_recall.py checks generated look-alikes under zh_CN and 29 other locales.
@pytest.mark.parametrize("lang", [None, "en", "de", "fr", "ru", "ja"])
@pytest.mark.parametrize("text", LOOKALIKES)
def test_software_lookalikes_are_untouched(text, lang):
    out, counts = pii.redact(text, DEFAULT, lang)
    assert out == text and sum(counts.values()) == 0, out


def test_placeholders_are_typed_and_counted():
    text = "Mail jane.doe@example.org or call (415) 555-0123; the host is 93.184.216.34 or 2606:4700::1111."
    out, counts = pii.redact(text, DEFAULT)
    assert out == "Mail <EMAIL> or call <PHONE>; the host is <IP> or <IP>."
    assert counts == {**NONE, "email": 1, "ip": 2, "phone": 1}


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
    assert led.extra == {"pii_email": 2, "pii_ip": 0, "pii_phone": 1, "pii_credit_card": 0, "pii_iban": 0,
                         "pii_documents": 2}
    assert led.chars_out == sum(out["text"].str.len_chars())


@pytest.mark.parametrize("number", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
                                    "3782 822463 10005", "5555 5555 5555 4444", "6011 1111 1111 1117",
                                    "3566 0020 2036 0505", "2223 0031 2200 3222"])
def test_card_numbers_with_a_known_issuer_and_luhn_are_replaced(number):
    out, counts = pii.redact(f"Paid with {number} on Monday.", DEFAULT)
    assert out == "Paid with <CREDIT_CARD> on Monday." and counts == {**NONE, "credit_card": 1}


@pytest.mark.parametrize("number", [
    "4111 1111 1111 1112",   # Luhn check digit wrong
    "9111 1111 1111 1115",   # Luhn-valid, but no scheme issues from 9
    "4111 1111-1111 1111",   # mixed separators: not how a card is written
    "3782 8224 6310 0005 4",  # Amex prefix at 17 digits
])
def test_card_lookalikes_are_untouched(number):
    text = f"Paid with {number} on Monday."
    assert pii.redact(text, DEFAULT) == (text, NONE)


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000",
                                  "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606",
                                  "NL91ABNA0417164300"])
def test_ibans_valid_under_mod_97_are_replaced(iban):
    out, counts = pii.redact(f"Please transfer to {iban} by Friday.", DEFAULT)
    assert out == "Please transfer to <IBAN> by Friday." and counts == {**NONE, "iban": 1}


def test_an_iban_stops_before_the_next_upper_case_word():
    out, counts = pii.redact("IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX", DEFAULT)
    assert out == "IBAN <IBAN> BIC COBADEFFXXX" and counts["iban"] == 1


@pytest.mark.parametrize("text", ["IBAN DE88 3704 0044 0532 0130 00 (check digits off by one)",
                                  "IBAN DE89 3704 0044 0532 0130 (too short for DE)",
                                  "IBAN XX89 3704 0044 0532 0130 00 (no such country)"])
def test_invalid_ibans_are_untouched(text):
    assert pii.redact(text, DEFAULT) == (text, NONE)


@pytest.mark.parametrize("lang, url, found", [
    ("de", None, True), (None, "https://www.stadt-koeln.de/kontakt", True),
    ("en", None, False),                       # an English page reads it as US/GB/IN/AU: no such number
    ("en", "https://example.de/", True),       # ... unless its URL says Germany
])
def test_a_national_number_is_read_in_the_pages_regions(lang, url, found):
    text = "Telefon: 0221 1234567 (Mo-Fr)"
    out, counts = pii.redact(text, DEFAULT, lang, url)
    assert (out == "Telefon: <PHONE> (Mo-Fr)") == found and counts["phone"] == int(found)


def test_regions_come_from_url_then_language_then_fallback():
    from lmsci.curate.pii import phone
    assert phone.regions("fr", "https://www.example.ca/") == ("CA", "FR", "BE", "CH")
    assert phone.regions(None, "https://shop.example.co.uk/") == ("GB",)
    assert phone.regions("en", None)[0] == "US" and "CA" not in phone.regions("en", "https://x.ca/")[1:]
    assert phone.regions(None, "https://example.com/") == phone.FALLBACK == phone.REGIONS["en"]
    assert phone.regions("de", "http://[::1/broken") == ("DE", "AT", "CH")  # a malformed URL gives no hint


@pytest.mark.parametrize("text, replaced", [
    ("电话：18290743915", "电话：<PHONE>"), ("Tel. 0221 1234567", "Tel. <PHONE>"), ("+49 221 1234567", "<PHONE>"),
    ("Kundennummer 02211234567", None), ("id 02211234567", None), ("+49 221 12", None),
])
def test_bare_digit_runs_need_a_phone_word(text, replaced):
    lang = "zh" if "电话" in text else "de"
    assert pii.redact(text, DEFAULT, lang)[0] == (replaced or text)


def test_an_international_number_needs_no_region_and_may_be_unassigned():
    # +49 0806 ... is not a number Germany has assigned, but "+CC" and the right length say phone
    out, counts = pii.redact("Ruf an: +49 (0) 6750 199204 oder (+44) 20 7946 0958", DEFAULT, "en")
    assert counts["phone"] == 2 and "<PHONE>" in out and "199204" not in out and "0958" not in out


def test_stage_keeps_every_document_with_an_empty_dropped_frame(tmp_path):
    import functools

    from lmsci import stage
    df = pl.DataFrame({"id": ["s/a/2", "s/a/1"], "url": ["https://x.de/", "https://x.com/"], "lang": ["de", "en"],
                       "text": ["Tel. 0221 1234567", "IBAN GB82 WEST 1234 5698 7654 32"]})
    fn = functools.partial(pii.stage, cfg=DEFAULT, source="s", shard="a")
    kept, dropped, led = fn(df)
    assert kept["text"].to_list() == ["Tel. <PHONE>", "IBAN <IBAN>"] and dropped.height == 0
    led = stage.run(fn, df, out=tmp_path / "o.parquet", stats=tmp_path / "o.stats.json")
    assert (led.seen, led.kept, led.extra["pii_phone"], led.extra["pii_iban"]) == (2, 2, 1, 1)
    assert pl.read_parquet(tmp_path / "o.parquet")["text"].to_list() == ["Tel. <PHONE>", "IBAN <IBAN>"]


def test_an_id_word_ending_a_sentence_does_not_hide_the_next_number():
    # "id." ends a Latin sentence here; "(…)" opens a new one (an "ID: …" label would hide it)
    out, counts = pii.redact("Lorem ipsum id. (4111 1111 1111 1111) or ID: 4111 1111 1111 1111", DEFAULT)
    assert out == "Lorem ipsum id. (<CREDIT_CARD>) or ID: 4111 1111 1111 1111" and counts["credit_card"] == 1
