"""Request guards applied to every request, before any view runs.

- Flask-AppBuilder's JSON API (``/api/v1/security/login``, ``/refresh``, ``/api/v1/menu/``) is
  registered by FAB 5 even with ``FAB_ADD_SECURITY_API = False``; Balai uses none of it, and
  its login endpoint has no rate limit or CSRF check, so every ``/api/`` endpoint answers 404.
- Logging out of the operator panel is a CSRF-checked POST; FAB's ``GET /logout/`` is refused.
- NUL bytes in the path, query or form fields are refused (400): PostgreSQL cannot store
  them and nobody types them.
- Ids and page numbers beyond a signed 64-bit integer (or an absurd page) answer 404 instead
  of reaching the database (SQLite raises OverflowError, PostgreSQL "out of range").
"""
from flask import abort, request

#: Largest id a database integer column holds (signed 64 bits).
MAX_ID = 2 ** 63 - 1
#: Pages beyond this are not real pages of any list.
MAX_PAGE = 1_000_000
_BLOCKED_ENDPOINT_PREFIXES = ("SecurityApi.", "MenuApi.")
#: FAB's GET logout: logging out is a CSRF-checked POST (app.public.operator_logout).
_GET_LOGOUT = "AuthDBView.logout"


def _too_big(value, limit):
    text = str(value)
    return text.isascii() and text.isdigit() and int(text) > limit


def guard_request():
    """Refuse the request early when it is unusable (see the module docstring)."""
    endpoint = request.endpoint or ""
    if endpoint.startswith(_BLOCKED_ENDPOINT_PREFIXES):
        abort(404)
    if endpoint == _GET_LOGOUT:
        abort(405)
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
        abort(400)
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if any("\x00" in v for v in request.form.values()):
            abort(400)
    for value in (request.view_args or {}).values():
        if _too_big(value, MAX_ID):
            abort(404)
    for name, value in request.args.items():
        if (name == "halaman" or name.startswith("page")) and _too_big(value, MAX_PAGE):
            abort(404)
    return None


def init_guards(app):
    """Run :func:`guard_request` before every other before-request function of ``app``."""
    app.before_request_funcs.setdefault(None, []).insert(0, guard_request)
