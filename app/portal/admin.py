"""Operator-panel views of Layanan Mandiri accounts (DOMAIN.md §4).

Accounts are created from a resident (``ResidentView``'s "Create portal account" action), so
this list has no add form; the operator can disable an account and reset its PIN. The PIN is
shown once on a page (``admin/portal_pin.html``) and can be printed on a slip through
:class:`PortalPinSlipView`, which checks the PIN against the stored hash again: it is never
stored or logged in clear.
"""
import re

from flask import abort, g, make_response, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from app.core.i18n import lazy_gettext as _l
from flask_appbuilder.actions import action
from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only

from app.core.pdf import render_pdf
from app.extensions import db
from app.portal import services
from app.portal.models import PortalAccount
from app.residents.admin import (RegisterInterface, RegisterModelView, checkbox_field, local_datetime,
                                 render_pin_page, single_item, yes_no)
from app.residents.models import Resident
from app.residents.services import pin_slip_context

_PIN_RE = re.compile(r"^[0-9]{6}$")


def _user_name(user):
    return user.get_full_name() if user is not None else "-"


class PortalAccountView(RegisterModelView):
    """Portal accounts: list, show, enable/disable, reset PIN. No add (see module docstring)."""

    datamodel = RegisterInterface(PortalAccount, list_options=[
        joinedload(PortalAccount.created_by), joinedload(PortalAccount.pin_reset_by)])
    base_permissions = ["can_list", "can_show", "can_edit", "can_action"]
    exclude_route_methods = {"download", "action_post", "add", "delete"}
    list_title = show_title = edit_title = _l("Portal accounts")
    label_columns = {
        "resident": _l("Resident"), "resident.nik": _l("NIK"), "active": _l("Active"),
        "must_change_pin": _l("Must change PIN"), "last_login_at": _l("Last login"),
        "pin_changed_at": _l("PIN changed"), "created_at": _l("Created"),
        "created_by": _l("Created by"), "pin_reset_at": _l("PIN reset"),
        "pin_reset_by": _l("PIN reset by"), "updated_at": _l("Last changed"),
    }
    list_columns = ["resident", "resident.nik", "active", "must_change_pin", "last_login_at",
                    "created_at", "pin_reset_at"]
    show_columns = ["resident", "resident.nik", "active", "must_change_pin", "last_login_at",
                    "pin_changed_at", "created_at", "created_by", "pin_reset_at", "pin_reset_by"]
    edit_columns = ["active"]
    search_columns = ["active", "must_change_pin"]
    order_columns = ["active", "must_change_pin", "last_login_at", "created_at", "pin_reset_at"]
    base_order = ("created_at", "desc")
    formatters_columns = {"created_by": _user_name, "pin_reset_by": _user_name,
                          "active": yes_no, "must_change_pin": yes_no,
                          **{column: local_datetime for column in
                             ("last_login_at", "pin_changed_at", "created_at", "pin_reset_at")}}
    edit_form_extra_fields = {"active": checkbox_field(
        _l("Active"), _l("A disabled account cannot log in; open sessions end at once."))}

    @action("reset_pin", _l("Reset PIN"), icon="fa-refresh", multiple=False,
            confirmation=_l("Give this resident a new PIN? The old PIN stops working and open "
                            "portal sessions end."))
    def reset_pin(self, item):
        """Replace the PIN with a new random one and show it once."""
        account = single_item(item)
        pin = services.reset_pin(account, actor=g.user)
        db.session.commit()
        return render_pin_page(self, account.resident, pin, reset=True)


class PortalPinSlipView(BaseView):
    """``POST /portal-pin-slip/print``: the PIN slip PDF for a PIN just shown to the operator.

    The form on the PIN page posts the resident id and the PIN. The PIN must still match the
    stored hash and the account must still wait for its first PIN change; anything else is a
    404 (a slip can never be printed for a PIN the resident already replaced).
    """

    route_base = "/portal-pin-slip"
    default_view = "print_slip"

    @expose("/print", methods=["POST"])
    @has_access
    def print_slip(self):
        pin = request.form.get("pin", "")
        resident_id = request.form.get("resident_id", "")
        if not (_PIN_RE.match(pin) and resident_id.isdigit()):
            abort(404)
        account = db.session.scalar(
            select(PortalAccount).join(PortalAccount.resident).where(Resident.id == int(resident_id))
            .options(load_only(PortalAccount.id, PortalAccount.pin_hash, PortalAccount.must_change_pin)))
        if account is None or not account.must_change_pin or not services.verify_pin(account.pin_hash, pin):
            abort(404)
        portal_url = url_for("portal.login", _external=True)
        pdf = render_pdf("pdf/pin_slip.html", pin_slip_context(account.resident, pin, portal_url=portal_url))
        response = make_response(pdf)
        response.headers["Content-Type"] = "application/pdf"
        response.headers["Content-Disposition"] = 'inline; filename="pin-slip.pdf"'
        response.headers["Cache-Control"] = "no-store"
        return response
