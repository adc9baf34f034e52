"""Layanan Mandiri routes. One guard for every route; the resident's data only.

Every page here shows only the logged-in resident's own data; objects are reached through
``g.resident`` (never an id from the URL), and anything that is not theirs answers 404.
"""
import time
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   send_file, session, url_for)
from app.core.i18n import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError

from app.core.pdf import render_pdf
from app.extensions import db
from app.portal import services
from app.portal.forms import ChangePinForm, LoginForm
from app.portal.models import PortalAccount
from app.residents import services as register

bp = Blueprint("portal", __name__, url_prefix="/layanan-mandiri", template_folder="templates")

#: Reachable without a portal session.
PUBLIC_ENDPOINTS = {"portal.login", "portal.help"}
#: The only routes reachable while the PIN must be changed (DOMAIN.md §4).
PIN_CHANGE_ENDPOINTS = {"portal.change_pin", "portal.logout"}
SESSION_KEY = "portal"


def _end_session():
    """Forget the portal login but keep the language choice."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def _current_account():
    """Return the logged-in :class:`PortalAccount`, or None (and forget a stale session).

    A session is stale when idle longer than ``PORTAL_IDLE_TIMEOUT`` seconds, when the account
    was disabled, reset or logged out elsewhere (``session_epoch``), or when the resident is no
    longer alive.
    """
    data = session.get(SESSION_KEY)
    if not data:
        return None
    now = time.time()
    if now - data.get("seen", 0) > current_app.config["PORTAL_IDLE_TIMEOUT"]:
        _end_session()
        flash(_l("You were logged out after a period of inactivity. Please log in again."), "info")
        return None
    account = db.session.get(PortalAccount, data.get("id"))
    if (account is None or not account.active or account.session_epoch != data.get("epoch")
            or not account.resident.is_alive):
        _end_session()
        return None
    if now - data["seen"] > 30:  # refresh the cookie at most every 30 s
        session[SESSION_KEY] = {**data, "seen": now}
    return account


def _start_session(account):
    """Start a new portal session for ``account`` (old session content is dropped)."""
    _end_session()
    session[SESSION_KEY] = {"id": account.id, "epoch": account.session_epoch, "seen": time.time()}


@bp.before_request
def guard():
    """The one access check: logged in, and the PIN changed when it must be."""
    g.account = g.resident = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    account = _current_account()
    if account is None:
        return redirect(url_for("portal.login", next=request.full_path if request.method == "GET" else None))
    g.account, g.resident = account, account.resident
    if account.must_change_pin and request.endpoint not in PIN_CHANGE_ENDPOINTS:
        return redirect(url_for("portal.change_pin"))
    return None


@bp.after_request
def no_store(response):
    """Personal pages must not be kept by shared phones' caches or proxies."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target):
    """Return ``target`` if it is a path inside the portal, else the portal home."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith(bp.url_prefix + "/"):
            return target
    return url_for("portal.home")


def _wait_message(seconds):
    minutes = max(1, (seconds + 59) // 60)
    return ngettext("Too many failed attempts. Try again in %(num)d minute.",
                    "Too many failed attempts. Try again in %(num)d minutes.", minutes)


def _render_login(form, status=200, error=None):
    return render_template("portal/login.html", form=form, error=error,
                           village=register.village_values()), status


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    """NIK + PIN login (rate-limited per address in :func:`install_portal`)."""
    if request.method == "GET" and _current_account() is not None:
        return redirect(url_for("portal.home"))
    form = LoginForm()
    if not form.validate_on_submit():
        return _render_login(form, 400 if request.method == "POST" else 200)
    result = services.authenticate(form.nik.data.strip(), form.pin.data.strip())
    if result.account is None:
        if result.locked_seconds:
            return _render_login(form, 429, _wait_message(result.locked_seconds))
        return _render_login(form, 401, _l("The NIK or PIN is wrong, or the account is not active. "
                                           "Ask the village office if you cannot log in."))
    _start_session(result.account)
    if result.account.must_change_pin:
        flash(_l("Welcome! Please replace the PIN from the village office with your own PIN."), "info")
        return redirect(url_for("portal.change_pin"))
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/keluar", methods=["POST"])
def logout():
    """Log out here and on every other device (the session epoch changes)."""
    g.account.session_epoch += 1
    db.session.commit()
    _end_session()
    flash(_l("You have logged out."), "info")
    return redirect(url_for("portal.login"))


@bp.route("/")
def home():
    """The portal's menu with a greeting and what needs attention (a few COUNT queries)."""
    from app.aid.services import active_aid_count
    from app.letters.models import LetterStatus
    from app.letters.services import status_counts
    from app.messages.services import unread_count
    counts = status_counts(g.resident.id)
    glance = {"unread_messages": unread_count(g.resident.id),
              "to_fix": counts.get(LetterStatus.INCOMPLETE, 0),
              "ready": counts.get(LetterStatus.READY, 0),
              "active_aid": active_aid_count(g.resident)}
    return render_template("portal/home.html", resident=g.resident, has_family=g.resident.family_id is not None,
                           glance=glance)


@bp.route("/panduan")
def help():
    """Panduan: how each menu works, step by step, with the office's contact (public)."""
    account = _current_account()  # logged-in residents keep their menu here
    if account is not None:
        g.account, g.resident = account, account.resident
    return render_template("portal/help.html", village=register.village_values())


@bp.route("/ganti-pin", methods=["GET", "POST"])
def change_pin():
    """Change the PIN (forced after creation and every reset)."""
    form = ChangePinForm()
    errors = []
    status = 200
    if form.validate_on_submit():
        try:
            services.change_pin(g.account, form.current_pin.data, form.new_pin.data, form.confirm_pin.data)
        except services.PinRuleError as exc:
            db.session.rollback()
            errors, status = exc.errors, 400
        else:
            db.session.commit()
            _start_session(g.account)
            flash(_l("Your PIN has been changed. Use the new PIN from now on."), "success")
            return redirect(url_for("portal.home"))
    elif request.method == "POST":
        status = 400
    return render_template("portal/change_pin.html", form=form, errors=errors,
                           forced=g.account.must_change_pin), status


@bp.route("/profil")
def profile():
    """Biodata and, when the resident is on a KK, the family's active members."""
    family = g.resident.family
    return render_template(
        "portal/profile.html",
        resident=register.resident_values(g.resident),
        family=register.family_values(family) if family else None,
        has_photo=bool(g.resident.photo),
    )


@bp.route("/foto")
def photo():
    """The resident's own photo, or 404."""
    path = register.photo_path(g.resident)
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=0)


def _pdf_response(data, filename):
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.route("/cetak/biodata.pdf")
def biodata_pdf():
    """Print the resident's biodata (PDF)."""
    return _pdf_response(render_pdf("pdf/biodata.html", register.biodata_context(g.resident)), "biodata.pdf")


@bp.route("/cetak/kartu-keluarga.pdf")
def family_card_pdf():
    """Print the resident's family card (PDF); 404 for a resident without a KK."""
    if g.resident.family is None:
        abort(404)
    return _pdf_response(render_pdf("pdf/family_card.html", register.family_card_context(g.resident.family)),
                         "kartu-keluarga.pdf")


def _is_failed_login(response):
    """Count only failed logins (wrong NIK/PIN or locked) against the client address."""
    return response.status_code in (401, 429)


def install_portal(app):
    """Wire what needs the app: the per-address limit on login, CSRF and 429 pages.

    The limit is applied to the registered view function (decorating before registration is
    ignored by Flask-Limiter for blueprints: STACK_NOTES.md).
    """
    limiter = app.appbuilder.sm.limiter
    app.view_functions["portal.login"] = limiter.limit(
        lambda: current_app.config["PORTAL_ADDRESS_LIMIT"], methods=["POST"],
        deduct_when=_is_failed_login, scope="portal-login",
    )(app.view_functions["portal.login"])

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        """A stale form (two tabs, an old page): show the form again, count nothing."""
        message = _l("This page was open too long or in another tab. Please try again.")
        if request.endpoint == "portal.login":
            return _render_login(LoginForm(formdata=None), 400, message)
        if request.blueprint == "portal":
            flash(message, "warning")
            return redirect(request.path if request.method == "GET" else url_for("portal.home"))
        return render_template("portal/error.html", message=message, code=400), 400

    @app.errorhandler(429)
    def too_many(exc):
        message = _l("Too many attempts from your network. Please wait a few minutes and try again.")
        if request.endpoint == "portal.login":
            return _render_login(LoginForm(formdata=None), 429, message)
        return render_template("portal/error.html", message=message, code=429), 429
