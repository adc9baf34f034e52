"""Dates and numbers in the user's language (Babel), e.g. ``17 Agustus 1945``."""
from flask_babel import format_date


def long_date(value):
    """Format a date as ``17 Agustus 1945`` in the current locale.

    Args:
        value: ``datetime.date``/``datetime`` or None.

    Returns:
        str: the formatted date, or "" for None.
    """
    if value is None:
        return ""
    return format_date(value, "d MMMM yyyy")


def register_formatting(app):
    """Add the ``long_date`` Jinja filter to ``app``."""
    app.jinja_env.filters["long_date"] = long_date
