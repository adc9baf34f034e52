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


def translated_text(message):
    """Translate a message and return plain text, which Jinja then escapes (unlike ``_()``)."""
    from flask_babel import gettext
    return str(gettext(str(message)))


def register_formatting(app):
    """Add the ``long_date`` and ``translated_text`` Jinja filters to ``app``."""
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["translated_text"] = translated_text


def local_today():
    """Today's date in the village's time zone (``BABEL_DEFAULT_TIMEZONE``, default Asia/Jakarta)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from flask import current_app
    return datetime.now(ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Jakarta"))).date()


def path_for(endpoint, **values):
    """The URL path of ``endpoint``, also outside a request (CLI, services): ``/verifikasi/abc``."""
    from flask import current_app
    return current_app.url_map.bind("localhost").build(endpoint, values)


def public_url(path):
    """An absolute URL for ``path``: ``PUBLIC_URL`` when configured, else the current request's host.

    Used for links printed on paper (the QR code), which must work from outside the office.
    """
    from flask import current_app, has_request_context, request
    base = current_app.config.get("PUBLIC_URL") or (request.host_url if has_request_context() else "http://localhost/")
    return base.rstrip("/") + path
