"""The village's public page (``/``), the language switch and security headers."""
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import get_locale

from app.residents.services import village_values


class PublicIndexView(IndexView):
    """``/``: village name, logo, contact and service hours, with links to both logins."""

    @expose("/")
    def index(self):
        return render_template("public/index.html", village=village_values())


def _safe_back(target):
    """A same-site path to go back to, else ``/``."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def set_language(code):
    """Remember the chosen language (``id`` or ``en``) and go back where the user was."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["locale"] = code
    return redirect(_safe_back(request.args.get("next")))


def security_headers(response):
    """Headers every page gets: no MIME sniffing, no framing by other sites, no referrer leak."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def bad_request(exc):
    """A styled 400 page: a value in the address or form that Balai cannot use."""
    from app.core.i18n import lazy_gettext as _l
    return render_template("portal/error.html", code=400, message=_l(
        "The page address contains a value Balai cannot use. Go back and try again.")), 400


def forbidden(exc):
    """A styled 403 page (a logged-in operator without the permission)."""
    from app.core.i18n import lazy_gettext as _l
    return render_template("portal/error.html", code=403,
                           message=_l("You do not have permission to open this page.")), 403


def not_found(exc):
    """A styled 404 page."""
    from app.core.i18n import lazy_gettext as _l
    return render_template("portal/error.html", code=404, message=_l("This page does not exist.")), 404


def too_large(exc):
    """Request body over MAX_CONTENT_LENGTH: say so instead of a bare error."""
    from app.core.i18n import lazy_gettext as _l
    return render_template("portal/error.html", code=413,
                           message=_l("The upload is too large. Send fewer or smaller files.")), 413


def operator_home():
    """``/operator/``: send a logged-in user to their work, anyone else to the login form."""
    from flask_login import current_user

    from app.security import landing_endpoint
    if not current_user.is_authenticated:
        return redirect(url_for("AuthDBView.login", next=url_for("operator_home")))
    return redirect(url_for(landing_endpoint(current_user)))


def login_lands_on_work():
    """A plain ``/login/`` (no ``next``) returns to ``/operator/`` after login, not the public page."""
    if request.endpoint == "AuthDBView.login" and request.method == "GET" and not request.args.get("next"):
        return redirect(url_for("AuthDBView.login", next=url_for("operator_home")))
    return None


def operator_logout():
    """``POST /logout/`` (CSRF-checked): log the operator out. FAB's GET route is refused, so
    another site cannot log operators out with an image tag."""
    from flask_login import logout_user
    logout_user()
    return redirect(url_for("PublicIndexView.index"))


def init_public(app):
    """Register the language route, error pages, template helpers and security headers on ``app``."""
    app.add_url_rule("/bahasa/<code>", "set_language", set_language)
    app.add_url_rule("/operator/", "operator_home", operator_home)
    app.add_url_rule("/logout/", "operator_logout", operator_logout, methods=["POST"])
    app.before_request(login_lands_on_work)
    app.register_error_handler(400, bad_request)
    app.register_error_handler(403, forbidden)
    app.register_error_handler(404, not_found)
    app.register_error_handler(413, too_large)
    app.after_request(security_headers)
    app.context_processor(lambda: {"get_locale": get_locale})
