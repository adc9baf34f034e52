"""Request guards applied to every request, before any view runs.

- Flask-AppBuilder's JSON API (``/api/v1/security/login``, ``/refresh``, ``/api/v1/menu/``) is
  registered by FAB 5 even with ``FAB_ADD_SECURITY_API = False``; Balai uses none of it, and
  its login endpoint has no rate limit or CSRF check, so every ``/api/`` endpoint answers 404.
- Logging out of the operator panel is a CSRF-checked POST; FAB's ``GET /logout/`` is refused.
- NUL bytes in the path, query or form fields are refused (400): PostgreSQL cannot store
  them and nobody types them.
- Ids and page numbers beyond a signed 64-bit integer (or an absurd page) answer 404 instead
  of reaching the database (SQLite raises OverflowError, PostgreSQL "out of range").
- Flask-AppBuilder's list arguments are checked before FAB reads them, since FAB answers 500
  for most bad values: ``page_<View>`` and ``psize_<View>`` must be numbers (a page size up
  to :data:`MAX_PAGE_SIZE`), ``_od_<View>`` asc or desc, ``_oc_<View>`` one of the view's
  sortable columns, ``_flt_<n>_<column>`` one of the column's filters, and a filter on a
  related table (a code such as sex) needs a number. Otherwise: 400.
"""
import re

from flask import abort, current_app, request

#: Largest id a database integer column holds (signed 64 bits).
MAX_ID = 2 ** 63 - 1
#: Pages beyond this are not real pages of any list.
MAX_PAGE = 1_000_000
#: Largest page size asked for in a list's address (FAB offers up to 100).
MAX_PAGE_SIZE = 100
_BLOCKED_ENDPOINT_PREFIXES = ("SecurityApi.", "MenuApi.")
#: FAB's own pattern (flask_appbuilder.urltools.get_filter_args): one digit, then the column.
_FILTER_ARG = re.compile(r"_flt_(\d)_(.*)")
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
    _check_list_arguments(endpoint)
    return None


def _is_number(text):
    return text.isascii() and text.isdigit()


def _view_named(name):
    """The registered FAB view whose class is called ``name`` ("ResidentView"), or None."""
    views = current_app.extensions.get("balai_views_by_name")
    if views is None:
        appbuilder = getattr(current_app, "appbuilder", None)
        views = {type(view).__name__: view for view in getattr(appbuilder, "baseviews", [])}
        current_app.extensions["balai_views_by_name"] = views
    return views.get(name)


def _check_list_arguments(endpoint):
    """Refuse FAB list arguments that FAB would answer with a 500 (see the module docstring)."""
    view = None
    for name, values in request.args.lists():
        if name.startswith(("page_", "psize_")):
            limit = MAX_PAGE if name.startswith("page_") else MAX_PAGE_SIZE
            if any(not _is_number(value) or (name.startswith("psize_") and int(value) < 1)
                   or int(value) > limit for value in values):
                abort(400)
        elif name.startswith("_od_"):
            if any(value not in ("asc", "desc") for value in values):
                abort(400)
        elif name.startswith("_oc_"):
            # _oc_<View>: a related view's list on a show page has its own arguments.
            named = _view_named(name[len("_oc_"):])
            if named is not None and any(value not in (getattr(named, "order_columns", None) or ())
                                         for value in values):
                abort(400)
        elif name.startswith("_flt_"):
            view = view or _view_named(endpoint.split(".", 1)[0])
            if view is None:
                continue
            match = _FILTER_ARG.fullmatch(name)
            filters = getattr(getattr(view, "_filters", None), "_all_filters", {})
            if match is None or match.group(2) not in filters:
                continue  # FAB ignores filters on unknown columns
            index = int(match.group(1))
            if index >= len(filters[match.group(2)]):
                abort(400)
            if "Relation" in type(filters[match.group(2)][index]).__name__ and \
                    not all(_is_number(value) and len(value) < 19 for value in values):
                abort(400)


def init_guards(app):
    """Run :func:`guard_request` before every other before-request function of ``app``."""
    app.before_request_funcs.setdefault(None, []).insert(0, guard_request)
