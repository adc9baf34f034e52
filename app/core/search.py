"""Prefix searches that use a b-tree index on SQLite and PostgreSQL alike.

FAB's "starts with" filter writes ``lower(col) LIKE 'x%'``: neither database can use an index
for it, so a search by name or NIK reads the whole register and slows down as the village
grows (issue 6, bench/README.md). Here a prefix becomes a range, ``lo <= col < hi``, which
walks an index:

- numbers (NIK, KK number: digits only, DOMAIN.md §2) compare the same way under every
  collation, so the range uses the column's own index;
- names are compared lower-cased, against the expression index ``ix_resident_name_lower``
  (migration 0004). PostgreSQL compares them with ``COLLATE "C"`` (code-point order, like
  SQLite's default), because a language collation may sort a name outside a prefix range.
"""
from sqlalchemy import String, false, func, literal, true

from app.core.nik import NUMBER_LENGTH, normalize_number
from app.extensions import db

__all__ = ["digits_prefix", "name_key", "name_prefix"]

#: Appended to a prefix to get the range's upper bound: sorts after every character a name
#: may contain (the largest Unicode code point).
_LAST_CHARACTER = "\U0010ffff"


def _dialect():
    return db.session.get_bind().dialect.name


def name_key(column):
    """The SQL expression indexed by ``ix_resident_name_lower``: ``lower(column)``, in code-point
    order (``COLLATE "C"`` on PostgreSQL; SQLite's default order already is)."""
    expression = func.lower(column)
    return expression.collate("C") if _dialect() == "postgresql" else expression


def name_prefix(column, value):
    """SQL condition: ``column`` starts with ``value``, ignoring case.

    The database lower-cases both sides with the same ``lower()``, so a name typed exactly is
    always found, whatever the database's idea of case is (SQLite changes ASCII letters only,
    PostgreSQL follows its LC_CTYPE: "İ", a final "Σ").

    Args:
        column: a string column with an index on :func:`name_key` of it.
        value: what the operator typed (str); surrounding spaces are ignored.
    Returns:
        a SQLAlchemy condition; ``true()`` for an empty value (like FAB's ``LIKE '%'``).
    """
    typed = (value or "").strip()
    if not typed:
        return true()
    key = name_key(column)
    prefix = func.lower(literal(typed, String))
    return (key >= prefix) & (key < prefix.concat(_LAST_CHARACTER))


def digits_prefix(column, value):
    """SQL condition: a digits-only ``column`` (NIK, KK number) starts with the digits of ``value``.

    ``value`` may be typed with spaces, dots or dashes (``3309 0102``); they are removed as for
    a full number (:func:`app.core.nik.normalize_number`). An empty value matches every row
    (like FAB's ``LIKE '%'``); a value with other characters, or longer than 16 digits, none.

    Returns:
        a SQLAlchemy condition on ``column`` usable with its index.
    """
    digits = normalize_number(value or "")
    if not digits:
        return true()
    if not digits.isdigit() or not digits.isascii() or len(digits) > NUMBER_LENGTH:
        return false()
    condition = column >= digits
    if digits.strip("9"):  # "3319" -> below "3320"; a prefix of nines has no upper bound
        upper = str(int(digits) + 1).zfill(len(digits))
        condition = condition & (column < upper)
    return condition
