"""Payment-card numbers and IBANs: a checksum and a registry decide, not the digits' look.

Card numbers: 13-19 digits, bare or grouped with one kind of separator (space or dash), whose
issuer prefix (IIN) is a known scheme's with that scheme's lengths (ISO/IEC 7812; the schemes'
published ranges) and whose Luhn check digit holds (``stdnum.luhn``). A random 16-digit id
passes Luhn one time in ten, the IIN table and the "no order/invoice/id word just before" rule
keep ids out. IBANs: two letters, two check digits and a BBAN, grouped in fours or not, valid
under ISO 13616 (mod 97) with the country's length and BBAN structure from the SWIFT IBAN
registry (``stdnum.iban`` ships it; national check digits are not required).
"""
from __future__ import annotations

import re

from stdnum import iban as _iban
from stdnum import luhn
from stdnum.exceptions import ValidationError

# (first digits range, lengths) per scheme: Visa, Mastercard (51-55, 2221-2720), Amex, Discover
# (6011, 644-649, 65, 622126-622925), JCB (3528-3589, taken as the whole 35 block that generators
# and older tables give it; 2131 and 1800 at 15 digits), Diners
# (300-305, 3095, 36, 38, 39), UnionPay (62), Mir (2200-2204), Maestro (50, 56-69).
_SCHEMES = (
    ((4, 4), (13, 16, 19)), ((51, 55), (16,)), ((2221, 2720), (16,)), ((34, 34), (15,)), ((37, 37), (15,)),
    ((6011, 6011), range(16, 20)), ((644, 649), range(16, 20)), ((65, 65), range(16, 20)),
    ((622126, 622925), range(16, 20)), ((3500, 3599), range(16, 20)), ((2131, 2131), (15,)), ((1800, 1800), (15,)),
    ((300, 305), range(14, 20)), ((3095, 3095), range(14, 20)), ((36, 36), range(14, 20)), ((38, 39), range(14, 20)),
    ((62, 62), range(16, 20)), ((2200, 2204), range(16, 20)), ((50, 50), range(13, 20)), ((56, 69), range(13, 20)),
)
CARD = re.compile(r"(?<![\w.,+/:@#-])(?:\d{13,19}|\d{4}(?P<sep>[ -])\d{4,6}(?:(?P=sep)\d{1,6}){1,3})"
                  r"(?![\w/:@-]|[.,]\d)")
_ID_BEFORE = re.compile(r"(?i)(?<!\w)(?:order|invoice|ticket|tracking|ref(?:erence)?|id|ean|gtin|upc|isbn(?:-1[03])?|"
                        r"issn|sku|item|art(?:icle)?|#)[\s:#.=-]{0,3}(?:(?:no|nr|num(?:ber)?)[\s:#.=-]{0,3})?$")
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")


def _scheme_ok(digits: str) -> bool:
    return any(lo <= int(digits[:len(str(lo))]) <= hi and len(digits) in lengths
               for (lo, hi), lengths in _SCHEMES)


def is_card(s: str, text: str = "", start: int = 0) -> bool:
    digits = s.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or not _scheme_ok(digits) or not luhn.is_valid(digits):
        return False
    return not _ID_BEFORE.search(text, max(0, start - 24), start)


def cards(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in CARD.finditer(text) if is_card(m.group(), text, m.start())]


def is_iban(s: str) -> bool:
    try:
        _iban.validate(s, check_country=False)
    except ValidationError:
        return False
    return True


def ibans(text: str) -> list[tuple[int, int]]:
    """IBAN spans; a match that ran into a following upper-case word is cut back a group at a time."""
    out = []
    for m in IBAN.finditer(text):
        s = m.group()
        while len(s.replace(" ", "")) >= 15:
            if is_iban(s):
                out.append((m.start(), m.start() + len(s)))
                break
            s = s.rpartition(" ")[0] if " " in s[5:] else ""
    return out
