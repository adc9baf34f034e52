"""A letter type's own fields ("isian"): the schema and the values a resident fills in.

Schema: a list of dicts ``{"key", "label", "kind", "required", "options", "help"}``;
``kind`` is text, textarea, number, date or select. Values are stored as strings (dates ISO
``YYYY-MM-DD``, numbers as plain digits, rupiah for amounts).
"""
import re
from datetime import date

from flask_babel import format_decimal
from app.core.i18n import lazy_gettext as _l

from app.core.formatting import long_date

KINDS = ("text", "textarea", "number", "date", "select")
MAX_LENGTH = {"text": 200, "textarea": 2000, "number": 15, "date": 10, "select": 200}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def schema_errors(fields):
    """Check a field schema; returns a list of messages (empty when valid).

    Used when a letter type is saved in the admin panel and at start-up for the shipped types.
    """
    if not isinstance(fields, list):
        return [_l("The fields must be a list.")]
    errors, seen = [], set()
    for index, item in enumerate(fields, start=1):
        if not isinstance(item, dict):
            errors.append(_l("Field %(n)d is not an object.", n=index))
            continue
        key = item.get("key", "")
        if not isinstance(key, str) or not _KEY.match(key):
            errors.append(_l("Field %(n)d: the key must be lowercase letters, digits and _ (e.g. business_name).", n=index))
        elif key in seen:
            errors.append(_l("Field %(n)d: the key %(key)s is used twice.", n=index, key=key))
        seen.add(key)
        if not str(item.get("label", "")).strip():
            errors.append(_l("Field %(n)d needs a label.", n=index))
        if item.get("kind") not in KINDS:
            errors.append(_l("Field %(n)d: the kind must be one of %(kinds)s.", n=index, kinds=", ".join(KINDS)))
        if item.get("kind") == "select":
            options = item.get("options")
            if not isinstance(options, list) or not options or not all(isinstance(o, str) and o.strip() for o in options):
                errors.append(_l("Field %(n)d: a select needs a list of options.", n=index))
    return errors


def clean_values(fields, data):
    """Validate the submitted values of a type's fields.

    Args:
        fields: the type's schema.
        data: a mapping of submitted strings (e.g. ``request.form``), keys ``field_<key>``.

    Returns:
        tuple ``(values, errors)``: ``values`` maps key -> cleaned string (missing optional
        fields are ""), ``errors`` is a list of ``(key, message)``.
    """
    values, errors = {}, []
    for item in fields:
        key, kind, label = item["key"], item["kind"], item["label"]
        raw = str(data.get(f"field_{key}", "") or "").strip()
        if not raw:
            if item.get("required"):
                errors.append((key, _l("%(label)s is required.", label=label)))
            values[key] = ""
            continue
        if len(raw) > MAX_LENGTH[kind]:
            errors.append((key, _l("%(label)s is too long (at most %(n)d characters).", label=label, n=MAX_LENGTH[kind])))
            continue
        if kind == "number":
            digits = raw.replace(".", "").replace(" ", "")
            if not digits.isascii() or not digits.isdigit():
                errors.append((key, _l("%(label)s must be a whole number (digits only).", label=label)))
                continue
            raw = str(int(digits))
        elif kind == "date":
            try:
                raw = date.fromisoformat(raw).isoformat()
            except ValueError:
                errors.append((key, _l("%(label)s must be a date.", label=label)))
                continue
        elif kind == "select" and raw not in item.get("options", []):
            errors.append((key, _l("Choose one of the options for %(label)s.", label=label)))
            continue
        values[key] = raw
    return values, errors


def display_values(fields, values):
    """Label/value pairs for pages and PDFs, formatted for reading (dates and numbers in the locale).

    Returns:
        list of ``{"key": str, "label": str, "value": str}`` for the filled fields, in schema order.
    """
    rows = []
    for item in fields:
        value = (values or {}).get(item["key"], "")
        if value in ("", None):
            continue
        if item["kind"] == "date":
            try:
                value = long_date(date.fromisoformat(value))
            except ValueError:
                pass
        elif item["kind"] == "number":
            try:
                value = format_decimal(int(value))
            except ValueError:
                pass
        rows.append({"key": item["key"], "label": item["label"], "value": str(value)})
    return rows
