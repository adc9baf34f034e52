"""Letter numbers (DOMAIN.md §5): pattern, sequence per scope per year, never reused.

Default pattern ``{classification}/{sequence}/{village_code}/{month_roman}/{year}``, e.g.
``400.12.2.1/007/3309012001/VIII/2025``. The sequence restarts every year. The per-type scope
is keyed by the classification code, so two types sharing a code share a sequence and their
numbers can never collide; "all" is one sequence for every letter. The increment is one
``UPDATE ... RETURNING`` that holds the row lock until the issuing transaction commits, so two
operators printing at once get consecutive, different numbers.
"""
import re

from app.core.i18n import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.letters.models import LetterSequence

DEFAULT_PATTERN = "{classification}/{sequence}/{village_code}/{month_roman}/{year}"
PLACEHOLDERS = ("classification", "sequence", "village_code", "month_roman", "month", "year", "type_code")
_TOKEN = re.compile(r"\{([^{}]*)\}")
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def pattern_errors(pattern):
    """Problems with a number pattern (empty list when fine).

    A pattern must contain ``{sequence}`` and only known placeholders.
    """
    errors = []
    if not pattern:
        return errors
    unknown = [t for t in _TOKEN.findall(pattern) if t not in PLACEHOLDERS]
    if unknown:
        errors.append(_l("Unknown placeholder(s) in the number pattern: %(names)s. Allowed: %(allowed)s.",
                         names=", ".join("{%s}" % t for t in unknown),
                         allowed=", ".join("{%s}" % t for t in PLACEHOLDERS)))
    if "{sequence}" not in pattern:
        errors.append(_l("The number pattern must contain {sequence}."))
    if _TOKEN.sub("", pattern).count("{") or _TOKEN.sub("", pattern).count("}"):
        errors.append(_l("The number pattern has an unmatched brace."))
    return errors


def scope_key(letter_type):
    """The sequence scope of a letter type: "all" or "code:<classification code>"."""
    if letter_type.sequence_scope == "all":
        return "all"
    return f"code:{letter_type.classification_code}"[:40]


def next_sequence(scope, year):
    """Take the next number of ``scope`` in ``year`` (1, 2, 3, ...), inside the caller's transaction.

    Returns:
        int: the sequence number, unique for (scope, year) once the transaction commits.
    """
    for _ in range(3):
        value = db.session.execute(
            update(LetterSequence)
            .where(LetterSequence.scope == scope, LetterSequence.year == year)
            .values(last_value=LetterSequence.last_value + 1)
            .returning(LetterSequence.last_value)
        ).scalar()
        if value is not None:
            return value
        try:
            with db.session.begin_nested():
                db.session.add(LetterSequence(scope=scope, year=year, last_value=1))
            return 1
        except IntegrityError:
            continue  # another transaction created the row first: increment it instead
    raise RuntimeError("could not take a letter sequence number")


def format_number(pattern, *, classification, sequence, village_code, issued_on, type_code=""):
    """Fill a number pattern.

    Args:
        pattern: the letter type's pattern, or empty for :data:`DEFAULT_PATTERN`.
        classification: kode klasifikasi, e.g. "400.12.2.1".
        sequence: int, printed with at least 3 digits ("007").
        village_code: 10-digit kode desa.
        issued_on: the issue date (month and year come from it).
        type_code: the letter type's slug.

    Returns:
        str: the letter number.
    """
    values = {"classification": classification, "sequence": f"{sequence:03d}", "village_code": village_code,
              "month_roman": ROMAN_MONTHS[issued_on.month - 1], "month": f"{issued_on.month:02d}",
              "year": str(issued_on.year), "type_code": type_code}
    return _TOKEN.sub(lambda m: values.get(m.group(1), m.group(0)), pattern or DEFAULT_PATTERN)
