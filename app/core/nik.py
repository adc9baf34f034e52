"""NIK and KK number checks (DOMAIN.md §2 and §3).

A NIK (Nomor Induk Kependudukan) is 16 digits::

    PP KK CC DDMMYY SSSS
    |  |  |  |      serial, 0001-9999
    |  |  |  birth date; women have day + 40 (41-71)
    |  |  kecamatan (01-99, never 00)
    |  kabupaten 01-69 / kota 71-99 (never 00, never 70)
    province

Sources: Dukcapil (Kab. Klaten, "Arti 16 digit NIK") for the layout, Permendagri 58/2021 and
the Kemendagri code lists 2018-2025 for the region codes (``data/region_kecamatan.csv``, 7,879
kecamatan codes, 594 of them retired in the 2022 Papua splits).

A KK number (No. KK) has the same layout with the issue date instead of the birth date and no
"+ 40". Its prefix is checked as strictly as a NIK's, its date only gives warnings (legacy data).

Temporary numbers, for people not yet registered by Dukcapil, are ``0`` + 10-digit kode desa
+ 5-digit sequence. No real NIK starts with 0.

Every message is a lazy, translatable string (English source, Indonesian catalogue). Never log
a full NIK or KK number: use :func:`nik_log_id` (or :func:`mask_nik` for display).
"""
from __future__ import annotations

import csv
import functools
import datetime as _dt
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from app.core.i18n import lazy_gettext as _l
from wtforms.validators import ValidationError

__all__ = [
    "NumberCheck",
    "normalize_number",
    "check_nik",
    "check_kk_number",
    "mask_nik",
    "nik_log_id",
    "kecamatan_codes",
    "NikValidator",
    "KkNumberValidator",
]

#: The Kemendagri kecamatan list shipped with the app (copied from shared/reference).
KECAMATAN_CSV = Path(__file__).parent / "data" / "region_kecamatan.csv"

#: Length of a NIK and of a KK number.
NUMBER_LENGTH = 16

#: Characters :func:`normalize_number` removes: spaces (incl. no-break spaces), dots and
#: dashes (ASCII hyphen-minus and the Unicode hyphens/dashes a word processor substitutes).
_SEPARATORS = " \u00a0\u202f.-\u2010\u2011\u2012\u2013"
_SEPARATOR_TABLE = str.maketrans("", "", _SEPARATORS)
_ASCII_DIGITS = frozenset("0123456789")

MALE = 1
FEMALE = 2


# --------------------------------------------------------------------------- result type


@dataclass(frozen=True)
class NumberCheck:
    """The result of :func:`check_nik` or :func:`check_kk_number`.

    Attributes:
        value: the normalised number (spaces, dots and dashes removed; nothing else changed),
            also when it is invalid. Store this string, never an int (leading zeros).
        errors: tuple of lazy translatable messages; non-empty means "reject".
        warnings: tuple of lazy translatable messages to show to the operator; the number is
            still accepted.
        temporary: True for a temporary number (``0`` + kode desa + sequence).
        sex: 1 (male) or 2 (female) as encoded in a NIK's day field; None for KK numbers,
            temporary numbers and a day field out of range.
        date: the decoded date (birth date of a NIK, issue date of a KK number) when it is a
            real date not in the future; otherwise None.
        kecamatan_code: the 6-digit kecamatan code ("317101") when it is in the Kemendagri
            list (current or retired); otherwise None.
        kind: "nik" or "kk".
    """

    value: str
    errors: tuple = ()
    warnings: tuple = ()
    temporary: bool = False
    sex: int | None = None
    date: _dt.date | None = None
    kecamatan_code: str | None = None
    kind: str = "nik"

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    @property
    def birth_date(self) -> _dt.date | None:
        """The birth date encoded in a NIK (None for KK numbers)."""
        return self.date if self.kind == "nik" else None

    @property
    def issue_date(self) -> _dt.date | None:
        """The issue date encoded in a KK number (None for NIKs)."""
        return self.date if self.kind == "kk" else None


# --------------------------------------------------------------------------- messages
# One full sentence per kind (NIK / KK number) so translators never assemble sentences.
# Keys are shared; lambdas build the lazy string with its values at check time.

_NIK_MESSAGES = {
    "empty": lambda: _l("Please enter the NIK (16 digits)."),
    "chars": lambda chars: _l(
        "The NIK may only contain digits, but it contains %(chars)s. Letters and other "
        "characters are never removed automatically: please check the number on the KTP or KK.",
        chars=chars,
    ),
    "length": lambda count: _l(
        "The NIK must be exactly 16 digits; %(count)s characters were entered "
        "(spaces, dots and dashes are not counted).",
        count=count,
    ),
    "kab": lambda code: _l(
        "Digits 3-4 of the NIK (kabupaten/kota code) cannot be %(code)s: "
        "a kabupaten is 01-69 and a kota is 71-99.",
        code=code,
    ),
    "kec": lambda: _l("Digits 5-6 of the NIK (kecamatan code) cannot be 00."),
    "unknown": lambda code: _l(
        "The first 6 digits of the NIK (%(code)s) are not a known kecamatan code.", code=code
    ),
    "retired": lambda code: _l(
        "The NIK starts with kecamatan code %(code)s, which is no longer in the current "
        "Kemendagri list (retired after a region split). Such NIKs stay valid; please check "
        "the number.",
        code=code,
    ),
    "day": lambda day: _l(
        "Digits 7-8 of the NIK (birth day) are %(day)s: they must be 01-31 for a man or "
        "41-71 for a woman (day + 40).",
        day=day,
    ),
    "month": lambda month: _l(
        "Digits 9-10 of the NIK (birth month) are %(month)s: they must be 01-12.", month=month
    ),
    "unreal": lambda when: _l(
        "The birth date in the NIK (%(date)s) is not a real date.", date=when
    ),
    "future": lambda when: _l("The birth date in the NIK (%(date)s) is in the future.", date=when),
    "serial": lambda: _l("The last 4 digits of the NIK (serial number) cannot be 0000."),
    "temp_unknown": lambda code: _l(
        "A temporary NIK is 0 + a 10-digit kode desa + a 5-digit sequence, but digits 2-7 "
        "(%(code)s) are not a known kecamatan code.",
        code=code,
    ),
    "temp_sequence": lambda: _l(
        "The last 5 digits of a temporary NIK (sequence number) cannot be 00000."
    ),
}

_KK_MESSAGES = {
    "empty": lambda: _l("Please enter the KK number (16 digits)."),
    "chars": lambda chars: _l(
        "The KK number may only contain digits, but it contains %(chars)s. Letters and other "
        "characters are never removed automatically: please check the number on the KK.",
        chars=chars,
    ),
    "length": lambda count: _l(
        "The KK number must be exactly 16 digits; %(count)s characters were entered "
        "(spaces, dots and dashes are not counted).",
        count=count,
    ),
    "kab": lambda code: _l(
        "Digits 3-4 of the KK number (kabupaten/kota code) cannot be %(code)s: "
        "a kabupaten is 01-69 and a kota is 71-99.",
        code=code,
    ),
    "kec": lambda: _l("Digits 5-6 of the KK number (kecamatan code) cannot be 00."),
    "unknown": lambda code: _l(
        "The first 6 digits of the KK number (%(code)s) are not a known kecamatan code.",
        code=code,
    ),
    "retired": lambda code: _l(
        "The KK number starts with kecamatan code %(code)s, which is no longer in the current "
        "Kemendagri list (retired after a region split). Such numbers stay valid; please check "
        "the number.",
        code=code,
    ),
    # The date of a KK number only ever gives warnings (legacy data), hence "should".
    "day": lambda day: _l(
        "Digits 7-8 of the KK number (issue day) are %(day)s: they should be 01-31 "
        "(a KK number does not add 40 like a NIK). Please check the number.",
        day=day,
    ),
    "month": lambda month: _l(
        "Digits 9-10 of the KK number (issue month) are %(month)s: they should be 01-12. "
        "Please check the number.",
        month=month,
    ),
    "unreal": lambda when: _l(
        "The issue date in the KK number (%(date)s) is not a real date. Please check the number.",
        date=when,
    ),
    "future": lambda when: _l(
        "The issue date in the KK number (%(date)s) is in the future. Please check the number.",
        date=when,
    ),
    "serial": lambda: _l(
        "The last 4 digits of the KK number (serial number) are 0000, which is unusual. "
        "Please check the number."
    ),
    "temp_unknown": lambda code: _l(
        "A temporary KK number is 0 + a 10-digit kode desa + a 5-digit sequence, but digits "
        "2-7 (%(code)s) are not a known kecamatan code.",
        code=code,
    ),
    "temp_sequence": lambda: _l(
        "The last 5 digits of a temporary KK number (sequence number) cannot be 00000."
    ),
}


def _sex_mismatch_message(nik_sex: int):
    """Warning for a NIK whose encoded sex differs from the record's."""
    if nik_sex == FEMALE:
        return _l(
            "The NIK is that of a woman (birth day + 40), but the record says male. Dukcapil "
            "does not change a NIK when data are corrected; please check which is right."
        )
    return _l(
        "The NIK is that of a man, but the record says female. Dukcapil does not change a "
        "NIK when data are corrected; please check which is right."
    )


def _birth_date_mismatch_message(nik_date: date, record_date: date):
    """Warning for a NIK whose encoded birth date differs from the record's."""
    return _l(
        "The birth date in the NIK (%(nik_date)s) differs from the birth date in the record "
        "(%(record_date)s). Dukcapil does not change a NIK when a birth date is corrected, so "
        "this can be right; please check.",
        nik_date=_format_date(nik_date),
        record_date=_format_date(record_date),
    )


# --------------------------------------------------------------------------- helpers


def normalize_number(raw: str | None) -> str:
    """Remove spaces, dots and dashes from a typed NIK or KK number; change nothing else.

    Letters and any other characters are kept, so that ``3171011708450001aa`` stays invalid
    instead of being "cleaned" into a valid NIK (DOMAIN.md §2 rule 1, shared/cases).
    Removed: ASCII space, no-break spaces (U+00A0, U+202F), ``.``, ``-`` and the Unicode
    hyphens/dashes U+2010-U+2013.

    Args:
        raw: the text as typed or imported; None is treated as "".

    Returns:
        The normalised string (possibly empty). Usable as a WTForms filter.
    """
    if raw is None:
        return ""
    return str(raw).translate(_SEPARATOR_TABLE)


@functools.cache
def kecamatan_codes() -> Mapping[str, bool]:
    """All kecamatan codes that exist or existed, loaded once from ``data/region_kecamatan.csv``.

    Source: Kemendagri code lists 2018-2025 (Permendagri 58/2021 and successors, via the
    MIT-licensed cahyadsn/wilayah collection), DOMAIN.md §2 rule 5 and §3.

    Returns:
        A read-only mapping ``"317101" -> in_current_list`` (False for the codes retired in the
        2022 Papua splits).

    Raises:
        ValueError: if a row of the CSV does not hold a ``PP.KK.CC`` code.
    """
    codes: dict[str, bool] = {}
    with KECAMATAN_CSV.open(encoding="utf-8", newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            code6 = row["code"].strip().replace(".", "")
            if len(code6) != 6 or not _is_ascii_digits(code6):
                raise ValueError(
                    f"{KECAMATAN_CSV.name}:{line_no}: bad kecamatan code {row['code']!r}"
                )
            codes[code6] = row["in_current_list"].strip() == "1"
    return MappingProxyType(codes)


def mask_nik(nik: str | None) -> str:
    """Mask a NIK (or KK number) for partial display and logs.

    The first 6 digits (region) and the last 2 are kept, the birth date and the rest of the
    serial become stars: ``3171011708450001`` -> ``317101********01`` (16 characters).
    The input is normalised first; anything shorter than 16 characters is masked completely,
    so a mistyped number never leaks.

    Args:
        nik: the number, normalised or not; None gives "".

    Returns:
        The masked string, as long as the normalised input.
    """
    value = normalize_number(nik)
    if len(value) < NUMBER_LENGTH:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 8) + value[-2:]


def nik_log_id(nik: str | None) -> str:
    """The form of a NIK (or KK number) to write in logs: the same as :func:`mask_nik`.

    Never log a full NIK (UU PDP No. 27/2022, DOMAIN.md §8).
    """
    return mask_nik(nik)


def _is_ascii_digits(value: str) -> bool:
    """True when ``value`` is non-empty and only ASCII 0-9 (``str.isdigit`` also accepts ``١``)."""
    return bool(value) and all(c in _ASCII_DIGITS for c in value)


def _resolve_century(yy: int, today: date) -> int:
    """DOMAIN.md §2 rule 3: 20YY if that year is not in the future, else 19YY.

    The year is compared, not the full date: in 2025 ``YY = 25`` is 2025, so a date later in
    2025 is reported as "in the future" rather than silently read as 1925.
    """
    year = 2000 + yy
    return year if year <= today.year else 1900 + yy


def _format_date(d: date) -> str:
    """DD-MM-YYYY, the way Indonesian documents print dates."""
    return f"{d.day:02d}-{d.month:02d}-{d.year:04d}"


def _describe_characters(value: str) -> str:
    """The non-digit characters of ``value``, each once, quoted: ``"a", "/"``."""
    seen: list[str] = []
    for c in value:
        if c not in _ASCII_DIGITS and c not in seen:
            seen.append(c)
    return ", ".join(f'"{c}"' if c.isprintable() else f"U+{ord(c):04X}" for c in seen)


def _as_date(value) -> date | None:
    """Accept a date or datetime (datetime -> its date); anything else -> None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


# --------------------------------------------------------------------------- the checks


def _check_number(raw, kind: str, today, sex=None, birth_date=None) -> NumberCheck:
    """Shared implementation of :func:`check_nik` and :func:`check_kk_number`."""
    msg = _NIK_MESSAGES if kind == "nik" else _KK_MESSAGES
    value = normalize_number(raw)
    today = _as_date(today) or date.today()
    errors: list = []
    warnings: list = []

    # Rule 1: exactly 16 ASCII digits; nothing else is cleaned away. The other rules read
    # fixed positions, so they are only checked on a well-formed number.
    if not value:
        return NumberCheck(value=value, errors=(msg["empty"](),), kind=kind)
    if len(value) != NUMBER_LENGTH or not _is_ascii_digits(value):
        if not _is_ascii_digits(value):
            errors.append(msg["chars"](_describe_characters(value)))
        if len(value) != NUMBER_LENGTH:
            errors.append(msg["length"](len(value)))
        return NumberCheck(value=value, errors=tuple(errors), kind=kind)

    codes = kecamatan_codes()

    # Temporary number: 0 + 10-digit kode desa + 5-digit sequence.
    if value[0] == "0":
        code6 = value[1:7]
        in_current = codes.get(code6)
        if in_current is None:
            errors.append(msg["temp_unknown"](code6))
        elif not in_current:
            warnings.append(msg["retired"](code6))
        if value[11:] == "00000":
            errors.append(msg["temp_sequence"]())
        return NumberCheck(
            value=value,
            errors=tuple(errors),
            warnings=tuple(warnings),
            temporary=True,
            kecamatan_code=code6 if in_current is not None else None,
            kind=kind,
        )

    # Rules 2 and 5: region prefix (hard errors for both NIK and KK number).
    code6 = value[:6]
    kab, kec = value[2:4], value[4:6]
    prefix_shape_ok = True
    if kab in ("00", "70"):
        errors.append(msg["kab"](kab))
        prefix_shape_ok = False
    if kec == "00":
        errors.append(msg["kec"]())
        prefix_shape_ok = False
    in_current = codes.get(code6)
    if prefix_shape_ok:  # otherwise "not a known code" would only repeat the error above
        if in_current is None:
            errors.append(msg["unknown"](code6))
        elif not in_current:
            warnings.append(msg["retired"](code6))

    # Rule 3: the date (errors for a NIK, warnings for a KK number).
    date_problems = errors if kind == "nik" else warnings
    dd, mm, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    nik_sex = None
    day = None
    if kind == "nik":
        if 1 <= dd <= 31:
            nik_sex, day = MALE, dd
        elif 41 <= dd <= 71:
            nik_sex, day = FEMALE, dd - 40
    elif 1 <= dd <= 31:
        day = dd
    if day is None:
        date_problems.append(msg["day"](value[6:8]))
    if not 1 <= mm <= 12:
        date_problems.append(msg["month"](value[8:10]))
    decoded = None
    if day is not None and 1 <= mm <= 12:
        year = _resolve_century(yy, today)
        try:
            candidate = date(year, mm, day)
        except ValueError:
            date_problems.append(msg["unreal"](f"{day:02d}-{mm:02d}-{year:04d}"))
        else:
            if candidate > today:
                date_problems.append(msg["future"](_format_date(candidate)))
            else:
                decoded = candidate

    # Rule 4: serial (hard error for a NIK; the rules give none for a KK number: warning).
    if value[12:] == "0000":
        (errors if kind == "nik" else warnings).append(msg["serial"]())

    # Warnings against the record (NIK only): Dukcapil never re-issues a NIK after a correction.
    if kind == "nik":
        if sex in (MALE, FEMALE) and nik_sex is not None and sex != nik_sex:
            warnings.append(_sex_mismatch_message(nik_sex))
        record_date = _as_date(birth_date)
        if record_date is not None and decoded is not None:
            # Compare DD, MM and YY only: the century is not in the NIK.
            if (decoded.day, decoded.month, decoded.year % 100) != (
                record_date.day,
                record_date.month,
                record_date.year % 100,
            ):
                warnings.append(_birth_date_mismatch_message(decoded, record_date))

    return NumberCheck(
        value=value,
        errors=tuple(errors),
        warnings=tuple(warnings),
        temporary=False,
        sex=nik_sex,
        date=decoded,
        kecamatan_code=code6 if in_current is not None else None,
        kind=kind,
    )


def check_nik(
    raw: str | None,
    *,
    today: date | None = None,
    sex: int | None = None,
    birth_date: date | None = None,
) -> NumberCheck:
    """Check a NIK against DOMAIN.md §2 (Dukcapil layout, Permendagri 58/2021 region codes).

    Hard errors (all collected, not just the first): not exactly 16 ASCII digits after removing
    spaces, dots and dashes (letters are never removed); kabupaten/kota 00 or 70; kecamatan 00;
    first 6 digits not a kecamatan code that exists or existed; day not 01-31 / 41-71; month
    not 01-12; not a real date; a date in the future; serial 0000. When the number is not 16
    digits only the format errors are given (the other rules read fixed positions), and an
    unknown prefix is not reported again when kabupaten/kota or kecamatan is already wrong.

    Century: 20YY if that year is not after ``today``'s year, else 19YY.

    Warnings: the prefix is only in a retired list; the sex or birth date in the NIK differs
    from ``sex`` / ``birth_date`` when those are given (compared on DD-MM-YY, as the NIK holds
    no century). The prefix need not match this village (it is where the person was first
    registered), so that is not checked.

    Temporary NIK (``0`` + 10-digit kode desa + 5-digit sequence): accepted with
    ``temporary=True`` when its digits 2-7 are a known kecamatan code and the sequence is not
    00000; it carries no sex or birth date.

    Args:
        raw: the NIK as typed or imported (spaces, dots, dashes allowed).
        today: the reference date for "in the future" and the century (default: today).
        sex: the record's sex, 1 male or 2 female (other values are ignored).
        birth_date: the record's birth date.

    Returns:
        A :class:`NumberCheck` with ``kind="nik"``; ``date`` is the birth date.
    """
    return _check_number(raw, "nik", today, sex=sex, birth_date=birth_date)


def check_kk_number(raw: str | None, *, today: date | None = None) -> NumberCheck:
    """Check a KK number (No. KK) against DOMAIN.md §2.

    Layout: issuing kecamatan (6) + issue date DDMMYY (no + 40) + serial (4). Hard errors: the
    format (16 ASCII digits after removing spaces, dots and dashes) and the same prefix checks
    as a NIK (kabupaten/kota not 00 or 70, kecamatan not 00, a kecamatan code that exists or
    existed). The date (day 01-31, month 01-12, a real date, not in the future; century as for
    a NIK) and a 0000 serial only give warnings, because legacy KK numbers break them.
    Temporary KK numbers as for :func:`check_nik`.

    Args:
        raw: the KK number as typed or imported.
        today: the reference date for "in the future" and the century (default: today).

    Returns:
        A :class:`NumberCheck` with ``kind="kk"``; ``date`` is the issue date; ``sex`` is None.
    """
    return _check_number(raw, "kk", today)


# --------------------------------------------------------------------------- WTForms


class _NumberValidator:
    """Base for the WTForms validators: run a check, raise all errors as one message.

    The :class:`NumberCheck` is stored on the field as ``field.number_check`` so the view can
    show the warnings and save ``field.number_check.value`` (the normalised number). Put
    ``Optional()`` or ``DataRequired()`` before it to decide about empty input; without them an
    empty value is an error.
    """

    def __init__(self, *, today: date | None = None):
        self.today = today

    def _run(self, form, field) -> NumberCheck:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, form, field) -> None:
        result = self._run(form, field)
        field.number_check = result
        if not result.ok:
            raise ValidationError(" ".join(str(m) for m in result.errors))

    @staticmethod
    def _field_text(field) -> str:
        data = field.data
        return "" if data is None else str(data)


class NikValidator(_NumberValidator):
    """WTForms validator for a NIK field: ``validators=[DataRequired(), NikValidator()]``.

    Raises ``ValidationError`` with all errors of :func:`check_nik` joined by a space.

    Args:
        today: reference date (default: today at validation time).
        sex_field: name of the form's sex field (1/2), to get the mismatch warning.
        birth_date_field: name of the form's birth-date field, to get the mismatch warning.
    """

    def __init__(
        self,
        *,
        today: date | None = None,
        sex_field: str | None = None,
        birth_date_field: str | None = None,
    ):
        super().__init__(today=today)
        self.sex_field = sex_field
        self.birth_date_field = birth_date_field

    def _run(self, form, field) -> NumberCheck:
        sex = None
        if self.sex_field and self.sex_field in form:
            try:
                sex = int(form[self.sex_field].data)
            except (TypeError, ValueError):
                sex = None
        birth_date = None
        if self.birth_date_field and self.birth_date_field in form:
            birth_date = _as_date(form[self.birth_date_field].data)
        return check_nik(self._field_text(field), today=self.today, sex=sex, birth_date=birth_date)


class KkNumberValidator(_NumberValidator):
    """WTForms validator for a KK number field: ``validators=[KkNumberValidator()]``.

    Raises ``ValidationError`` with all errors of :func:`check_kk_number` joined by a space.
    """

    def _run(self, form, field) -> NumberCheck:
        return check_kk_number(self._field_text(field), today=self.today)
