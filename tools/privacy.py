"""Masks personal data in visitor text before a tool shows it, stores it or trains on it.

Masked, in this order (an IBAN or a phone number is also a run of digits, so the specific kinds go first):
e-mail addresses -> [email]; IBAN-like account numbers (BE71 0961 2345 6769, GB29 NWBK 6016 1331 9268 19)
-> [iban]; phone numbers, national or international (+32 2 555 12 34, 0032 2..., (02) 555-1234,
0470/12.34.56, 0470123456) -> [phone]; any other run of 6 or more digits (case, passport or card numbers)
-> [number]. A phone number needs 9 digits, 8 after a + or 00, so years ("1951 2011") and dates stay
readable. Names are not detected: the assistant never asks for them and no pattern finds them reliably.
"""
from __future__ import annotations

import re
from typing import Optional

EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
# Country, check digits, a first group that may hold letters (a bank code), then groups of digits.
IBAN = re.compile(r"\b[A-Z]{2}\d{2}[ ]?[A-Z0-9]{4}(?:[ ]?\d{4}){1,6}(?:[ ]?\d{1,3})?\b", re.I)
PHONE_LIKE = re.compile(r"(?:\+|\b00)?\(?\d[\d ().\/-]{6,}\d")  # digits and the separators phones use
DIGITS = re.compile(r"\d{6,}")
PHONE_DIGITS = 9
INTERNATIONAL_PHONE_DIGITS = 8


def _phone(match: "re.Match[str]") -> str:
    raw = match.group(0)
    if raw.isdigit() and not raw.startswith("0"):
        return raw  # a bare run of digits is a number, not a phone (masked as [number] next)
    digits = sum(c.isdigit() for c in raw)
    international = raw.startswith(("+", "00"))
    return "[phone]" if digits >= (INTERNATIONAL_PHONE_DIGITS if international else PHONE_DIGITS) else raw


def mask(text: Optional[str]) -> str:
    """`text` with personal data replaced by [email], [iban], [phone] or [number]."""
    if not text:
        return ""
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub("[iban]", text)
    text = PHONE_LIKE.sub(_phone, text)
    return DIGITS.sub("[number]", text)
