"""The claim's key data recorded with a decision: NIK and name, bank and account (pure).

The officer's console fills the form from what the booth's OCR read (the KTP's NIK and
name) and the officer corrects it; the branch server checks it here before anything is
stored. An approval needs all four (the money is paid from it); another outcome records
what was given, each part checked. A refusal names the part in both languages
(``bilik/catalogue/claim.py``) and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from bilik.catalogue import Message, text
from bilik.documents.nik import InvalidNik, parse_nik

FIELDS = ("nik", "name", "bank", "account")
NAME_MAX_CHARS = 80
BANK_MAX_CHARS = 64
ACCOUNT_MIN_DIGITS = 6  # Indonesian bank accounts: 10 (BRI 15, BCA 10, Mandiri 13) digits
ACCOUNT_MAX_DIGITS = 20
NAME_RE = re.compile(r"\A[^\W\d_]+(?:[ .,'\-][^\W\d_]*)*\Z")
ACCOUNT_SEPARATORS = re.compile(r"[ \-]")


class ClaimDataError(ValueError):
    """The claim data is incomplete or wrong; ``message`` says which part, in both
    languages."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.en)
        self.message = message


@dataclass(frozen=True)
class ClaimData:
    nik: str = ""
    name: str = ""
    bank: str = ""
    account: str = ""  # digits only

    def as_json(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


def check_claim(raw: dict[str, str], *, required: bool, today: dt.date) -> ClaimData:
    """The claim data as recorded (trimmed, the account's digits only), or
    :class:`ClaimDataError` naming the first part that is wrong."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ClaimDataError(text("claim.unknown_field", field=unknown[0][:40]))
    values = {k: " ".join(str(raw.get(k, "")).split()) for k in FIELDS}
    missing = [k for k in FIELDS if not values[k]]
    if required and missing:
        raise ClaimDataError(text("claim.missing", fields=", ".join(missing)))
    nik = values["nik"]
    if nik:
        try:
            nik = parse_nik(nik, today=today).digits
        except InvalidNik as exc:
            raise ClaimDataError(text("claim.nik_invalid", why=str(exc))) from None
    name = values["name"]
    if name and not (2 <= len(name) <= NAME_MAX_CHARS and NAME_RE.fullmatch(name)):
        raise ClaimDataError(text("claim.name_invalid", max=NAME_MAX_CHARS))
    bank = values["bank"]
    if bank and not 2 <= len(bank) <= BANK_MAX_CHARS:
        raise ClaimDataError(text("claim.bank_invalid", max=BANK_MAX_CHARS))
    account = ACCOUNT_SEPARATORS.sub("", values["account"])
    if account and not (account.isascii() and account.isdigit()
                        and ACCOUNT_MIN_DIGITS <= len(account) <= ACCOUNT_MAX_DIGITS):
        raise ClaimDataError(text("claim.account_invalid", low=ACCOUNT_MIN_DIGITS,
                                  high=ACCOUNT_MAX_DIGITS))
    return ClaimData(nik=nik, name=name, bank=bank, account=account)
