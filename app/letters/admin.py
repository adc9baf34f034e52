"""Operator-panel views of letters: the request queue, the archive, desk letters, letter types.

Registered (menu, permissions) in :func:`app.admin.register_admin_views` only; the roles that
use them are in :mod:`app.security`. A request's status is never a form field: each workflow
action is its own POST endpoint with its own permission, which calls
:func:`app.letters.workflow.transition` and commits (STYLE.md habits 2 and 4). Refusals
(:class:`~app.letters.workflow.TransitionError`, :class:`~app.letters.issuing.IssueError`) are
flashed on the request page, never a 500.

URLs and FAB permissions (``can_<name>`` on the view):

=====================  ===================================================  =====================
View                   URL                                                  permission
=====================  ===================================================  =====================
LetterRequestView      /letterrequestview/list/, /show/<pk>                 can_list, can_show
                       /document/<request_id>/<document_id>                 can_document
                       POST /return/<pk>, /print/<pk>, /sign/<pk>,          can_return_request,
                       /collect/<pk>, /cancel/<pk>                          can_print_letter,
                                                                            can_sign_letter,
                                                                            can_collect_letter,
                                                                            can_cancel_request
IssuedLetterView       /issuedletterview/list/, /show/<pk>, /pdf/<pk>       can_list, can_show,
                                                                            can_pdf
DeskLetterView         /desk-letter/, /desk-letter/new/<resident_id>        can_desk
LetterTypeView         /lettertypeview/list|show|add|edit|delete            can_list ... can_delete
RequirementView        /requirementview/list|show|add|edit                  can_list ... can_edit
=====================  ===================================================  =====================
"""
import json
import logging
import math
import secrets

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.exceptions import FABException
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import permission_name
from app.core.i18n import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload, load_only
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (InputRequired, Length, NumberRange, Optional, Regexp, StopValidation,
                                ValidationError)
from wtforms.widgets import TextArea

from app.core import storage
from app.core.codes import STATUS_ALIVE
from app.core.nik import normalize_number
from app.core.pdf import PdfRenderError
from app.core.validators import display_phone, normalize_phone
from app.extensions import db
from app.letters import services
from app.letters.fields import KINDS, clean_values, display_values, schema_errors
from app.letters.issuing import SIGNING_MODES, IssueError, signatories
from app.letters.models import (IssuedLetter, LetterRequest, LetterRequestDocument, LetterRequestHistory,
                                LetterStatus, LetterType, Requirement)
from app.letters.numbering import DEFAULT_PATTERN, PLACEHOLDERS, pattern_errors
from app.letters.workflow import ACTION_LABELS, Actor, TransitionError, allowed_actions, transition
from app.residents.admin import (RecordConflict, RegisterInterface, RegisterModelView, checkbox_field,
                                 local_datetime, short_date, yes_no)
from app.residents.models import Family, Resident
from app.residents.services import get_village

log = logging.getLogger(__name__)

#: Status labels as Bootstrap 3 label colours in the queue.
STATUS_STYLES = {
    LetterStatus.INCOMPLETE: "warning", LetterStatus.CHECKING: "primary",
    LetterStatus.AWAITING_SIGNATURE: "info", LetterStatus.READY: "success",
    LetterStatus.COLLECTED: "default", LetterStatus.CANCELLED: "danger",
}
ORIGIN_LABELS = {"portal": _l("Self-service portal"), "desk": _l("Office desk")}
SIGNING_MODE_LABELS = {"head": _l("Village head"), "an": _l("a.n. (on behalf of the village head)"),
                       "ub": _l("u.b. (under authority)")}
#: Workflow action -> the endpoint (method) that performs it; the method name is its permission.
ACTION_ENDPOINTS = {"return": "return_request", "print": "print_letter", "sign": "sign_letter",
                    "collect": "collect_letter", "cancel": "cancel_request"}
#: The longest reason an operator may give (the portal's note limit).
MAX_REASON = services.MAX_NOTE


def status_label(value):
    """A request status as a coloured, translated label (never the bare number)."""
    try:
        status = LetterStatus(int(value))
    except (TypeError, ValueError):
        return "-"
    return Markup('<span class="label label-{}">{}</span>').format(STATUS_STYLES[status], status.label)


def workflow_actor(user):
    """The workflow actor for a panel user, with the village's signing-step setting."""
    village = get_village()
    return Actor.for_user(user, signing_step=village.letter_signing_step if village else True)


def may(view, permission):
    """True when the current user holds ``permission`` on ``view`` (and the view routes it)."""
    return permission in view.base_permissions and view.appbuilder.sm.has_access(
        permission, view.class_permission_name)


# --- filters --------------------------------------------------------------------------------

class StatusIs(BaseFilter):
    """Filter requests by status, chosen from the translated labels."""

    name = _l("Is")
    arg_name = "st"

    def apply(self, query, value):
        try:
            status = LetterStatus(int(value))
        except (TypeError, ValueError):
            return query.filter(false())
        return query.filter(LetterRequest.status == int(status))


class ResidentMatches(BaseFilter):
    """Filter by the resident's name (contains) or NIK (starts with), typed, not picked from a list."""

    name = _l("Name or NIK")
    arg_name = "res"

    def apply(self, query, value):
        text = (value or "").strip()
        if not text:
            return query
        digits = normalize_number(text)
        match = Resident.name.icontains(text, autoescape=True)
        if digits and digits.isdigit():
            match = or_(match, Resident.nik.startswith(digits, autoescape=True))
        return query.filter(getattr(self.model, "resident").has(match))


def _replace_filters(view, column, filters):
    """Use ``filters`` instead of FAB's defaults for ``column`` in the view's search."""
    view._filters._search_filters[column] = filters
    view._filters._all_filters[column] = filters


# --- the request queue ----------------------------------------------------------------------

class LetterRequestView(RegisterModelView):
    """Permohonan surat: the queue (newest first) and one request's page with its actions."""

    datamodel = RegisterInterface(LetterRequest, list_options=[
        joinedload(LetterRequest.resident).options(load_only(Resident.id, Resident.name, Resident.nik),
                                                   lazyload("*")),
        lazyload(LetterRequest.documents)])
    exclude_route_methods = RegisterModelView.exclude_route_methods | {"add", "edit", "delete"}
    list_template = "letters_admin/request_list.html"
    list_title = show_title = _l("Letter requests")
    label_columns = {
        "created_at": _l("Date"), "resident": _l("Resident"), "resident.name": _l("Resident"),
        "resident.nik": _l("NIK"), "letter_type": _l("Letter type"), "status": _l("Status"),
        "origin": _l("Origin"), "purpose": _l("Purpose"),
    }
    list_columns = ["created_at", "resident.name", "resident.nik", "letter_type", "status", "origin"]
    search_columns = ["status", "letter_type", "resident", "origin", "created_at"]
    order_columns = ["created_at", "status"]
    base_order = ("id", "desc")
    formatters_columns = {"created_at": local_datetime, "status": status_label,
                          "origin": lambda value: ORIGIN_LABELS.get(value, value)}
    search_form_extra_fields = {
        "status": SelectField(_l("Status"), choices=[(str(int(s)), s.label) for s in LetterStatus],
                              widget=Select2Widget()),
        "resident": StringField(_l("Resident"), widget=BS3TextFieldWidget()),
        "origin": SelectField(_l("Origin"), choices=list(ORIGIN_LABELS.items()), widget=Select2Widget()),
    }

    def _init_properties(self):
        super()._init_properties()
        _replace_filters(self, "status", [StatusIs("status", self.datamodel)])
        _replace_filters(self, "resident", [ResidentMatches("resident", self.datamodel)])

    @expose("/list/")
    @has_access
    def list(self):
        """The queue, with one tab per status and its count (one GROUP BY query)."""
        try:
            widgets = self._list()
        except FABException as exc:
            flash(_l("The list could not be shown: %(problem)s", problem=str(exc)), "warning")
            return redirect(url_for(".list"))
        counts = dict(db.session.execute(
            select(LetterRequest.status, func.count(LetterRequest.id)).group_by(LetterRequest.status)).all())
        tabs = [{"status": int(s), "label": s.label, "count": counts.get(int(s), 0)} for s in LetterStatus]
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets, tabs=tabs,
                                    active_status=request.args.get("_flt_0_status", ""))

    def _request_or_404(self, pk):
        item = db.session.get(LetterRequest, int(pk)) if str(pk).isdigit() else None
        if item is None:
            abort(404)
        return item

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """One request: resident, fields, documents per requirement, history, allowed actions."""
        item = self._request_or_404(pk)
        self.update_redirect()
        actions = [a for a in allowed_actions(item, workflow_actor(g.user))
                   if may(self, "can_" + ACTION_ENDPOINTS.get(a, "-"))]
        documents = {}
        for link in item.documents:
            documents.setdefault(link.requirement_id, []).append(link.document)
        # The type's requirements, and any a document was attached for before the type changed.
        requirements = _unique([*item.letter_type.requirements, *(link.requirement for link in item.documents)])
        history = db.session.scalars(select(LetterRequestHistory).where(LetterRequestHistory.request_id == item.id)
                                     .options(joinedload(LetterRequestHistory.actor_user))
                                     .order_by(LetterRequestHistory.id)).all()
        return self.render_template(
            "letters_admin/request_show.html", title=self.show_title, item=item,
            status=LetterStatus(item.status), status_label=status_label(item.status),
            fields=display_values(item.letter_type.fields, item.field_values),
            phone=display_phone(item.phone), origin=ORIGIN_LABELS.get(item.origin, item.origin),
            requirements=requirements, documents=documents,
            history=[_history_row(h, item) for h in history], actions=actions, labels=ACTION_LABELS,
            endpoints=ACTION_ENDPOINTS, signing=_signing_choices() if "print" in actions else None,
            letter=item.issued_letter, may_pdf=may_view("IssuedLetterView", "can_pdf"),
            may_document=may(self, "can_document"), local_datetime=local_datetime, short_date=short_date,
            max_reason=MAX_REASON)

    @expose("/document/<int:request_id>/<int:document_id>")
    @has_access
    def document(self, request_id, document_id):
        """A document attached to this request, inline (404 when it is not attached to it)."""
        link = db.session.scalar(select(LetterRequestDocument).where(
            LetterRequestDocument.request_id == request_id, LetterRequestDocument.document_id == document_id)
            .limit(1))
        if link is None:
            abort(404)
        doc = link.document
        response = _stored_file("documents", doc.stored_name, doc.content_type)
        extension = doc.stored_name.rsplit(".", 1)[-1]
        response.headers["Content-Disposition"] = f'inline; filename="dokumen-{doc.id}.{extension}"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    # --- workflow actions: one POST endpoint and one permission each ---

    def _act(self, pk, action, *, done, note="", issue_options=None):
        """Run ``transition`` for ``action`` and commit; flash a refusal instead of failing."""
        item = self._request_or_404(pk)
        back = redirect(url_for(".show", pk=item.id))
        seen = request.form.get("status", "")
        if seen.isdigit() and int(seen) != item.status:
            flash(_l("This request was changed by someone else. Please reload the page."), "danger")
            return back
        if len(note or "") > MAX_REASON:
            flash(_l("The reason is too long (at most %(n)d characters).", n=MAX_REASON), "danger")
            return back
        try:
            transition(item, action, workflow_actor(g.user), note, issue_options=issue_options)
        except (TransitionError, IssueError) as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return back
        except PdfRenderError:
            db.session.rollback()
            log.exception("letter request %s: the letter PDF could not be made", item.id)
            flash(_l("The letter could not be printed (PDF error). Nothing was changed."), "danger")
            return back
        db.session.commit()
        flash(done(item), "success")
        return redirect(url_for(".show", pk=item.id, _anchor="letter" if action == "print" else None))

    @expose("/return/<pk>", methods=["POST"])
    @has_access
    def return_request(self, pk):
        """Return the request to the resident as incomplete, with a required reason."""
        return self._act(pk, "return", note=request.form.get("reason", ""),
                         done=lambda item: _l("The request was returned to the resident with your reason."))

    @expose("/print/<pk>", methods=["POST"])
    @has_access
    def print_letter(self, pk):
        """Number, archive and print the letter (signing mode and signatory from the form)."""
        options, error = _read_signing(request.form)
        if error:
            flash(error, "danger")
            return redirect(url_for(".show", pk=self._request_or_404(pk).id))
        return self._act(pk, "print", issue_options=options,
                         done=lambda item: _l("Letter printed with number %(number)s.",
                                              number=item.issued_letter.letter_number))

    @expose("/sign/<pk>", methods=["POST"])
    @has_access
    def sign_letter(self, pk):
        """Record the village head's signature: the letter is ready for pick-up."""
        return self._act(pk, "sign", done=lambda item: _l("Marked as signed: the letter is ready for pick-up."))

    @expose("/collect/<pk>", methods=["POST"])
    @has_access
    def collect_letter(self, pk):
        """Record that the resident collected the letter."""
        return self._act(pk, "collect", done=lambda item: _l("Marked as collected."))

    @expose("/cancel/<pk>", methods=["POST"])
    @has_access
    def cancel_request(self, pk):
        """Cancel the request with a required reason (a printed letter is revoked)."""
        return self._act(pk, "cancel", note=request.form.get("reason", ""),
                         done=lambda item: _l("The request was cancelled."))


def may_view(view_name, permission):
    """:func:`may` for a view given by class name (e.g. a link to another view's endpoint)."""
    view = next((v for v in current_app.appbuilder.baseviews if type(v).__name__ == view_name), None)
    return view is not None and may(view, permission)


def _unique(items):
    """``items`` (rows with an ``id``) without repeats, in their first order."""
    seen, out = set(), []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            out.append(item)
    return out


def _history_row(row, item):
    """One history line as plain values: when, who, from, to, note."""
    if row.actor_user is not None:
        who = row.actor_user.get_full_name() or row.actor_user.username
    elif row.actor_resident_id is not None and row.actor_resident_id == item.resident_id:
        who = _l("%(name)s (resident)", name=item.resident.name)
    else:
        who = "-"
    return {"when": local_datetime(row.created_at), "who": who,
            "from": status_label(row.from_status) if row.from_status is not None else "",
            "to": status_label(row.to_status), "action": ACTION_LABELS.get(row.action, row.action),
            "note": row.note}


def _signing_choices():
    """For the print form: each signing mode with its label and the officials who may sign so."""
    return [{"mode": mode, "label": SIGNING_MODE_LABELS[mode],
             "officials": [{"id": o.id, "name": f"{o.name} ({o.position})"} for o in signatories(mode)]}
            for mode in SIGNING_MODES]


def _read_signing(form):
    """The print form's signing mode and signatory: ``(issue_options, error)``."""
    mode = form.get("signing_mode") or "head"
    if mode not in SIGNING_MODES:
        return None, _l("Unknown signing mode.")
    raw = form.get(f"signatory_{mode}") or form.get("signatory_id") or ""
    if raw and not raw.isdigit():
        return None, _l("Choose who signs the letter.")
    return {"signing_mode": mode, "signatory_id": int(raw) if raw else None}, None


# --- the archive (Buku Agenda) ----------------------------------------------------------------

class IssuedLetterView(RegisterModelView):
    """Arsip surat / Buku Agenda: every issued letter with its stored PDF (read only)."""

    datamodel = RegisterInterface(IssuedLetter, list_options=[
        joinedload(IssuedLetter.resident).options(load_only(Resident.id, Resident.name, Resident.nik),
                                                  lazyload("*")),
        joinedload(IssuedLetter.signatory)],
        computed={"pdf_link": lambda letter: _pdf_link(letter)})
    exclude_route_methods = RegisterModelView.exclude_route_methods | {"add", "edit", "delete"}
    list_title = show_title = _l("Issued letters")
    label_columns = {
        "letter_number": _l("Letter number"), "issued_on": _l("Date"), "letter_type": _l("Letter type"),
        "resident": _l("Resident"), "resident.name": _l("Resident"), "resident.nik": _l("NIK"),
        "signatory": _l("Signatory"), "signing_mode": _l("Signed as"), "valid_until": _l("Valid until"),
        "revoked_at": _l("Revoked"), "revoked_reason": _l("Reason for revoking"), "year": _l("Year"),
        "purpose": _l("Purpose"), "pdf_link": _l("PDF"),
    }
    list_columns = ["letter_number", "issued_on", "letter_type", "resident.name", "signatory", "valid_until",
                    "revoked_at", "pdf_link"]
    show_columns = ["letter_number", "issued_on", "letter_type", "resident", "resident.nik", "purpose",
                    "signatory", "signing_mode", "valid_until", "revoked_at", "revoked_reason", "pdf_link"]
    search_columns = ["letter_type", "year", "letter_number", "resident", "issued_on"]
    order_columns = ["letter_number", "issued_on", "valid_until"]
    base_order = ("id", "desc")
    formatters_columns = {
        "issued_on": short_date, "valid_until": short_date,
        "revoked_at": lambda value: Markup('<span class="label label-danger">{}</span>').format(
            local_datetime(value)) if value else _l("No"),
        "signatory": lambda value: f"{value.name} ({value.position})" if value else "-",
        "signing_mode": lambda value: SIGNING_MODE_LABELS.get(value, value),
    }
    search_form_extra_fields = {"resident": StringField(_l("Resident"), widget=BS3TextFieldWidget())}

    def _init_properties(self):
        super()._init_properties()
        _replace_filters(self, "resident", [ResidentMatches("resident", self.datamodel)])

    @expose("/pdf/<int:pk>")
    @has_access
    def pdf(self, pk):
        """The letter's PDF as stored at printing: the same bytes on every download."""
        letter = db.session.get(IssuedLetter, pk)
        if letter is None:
            abort(404)
        response = _stored_file("letters", letter.pdf_file, "application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="surat-{letter.id}.pdf"'
        response.headers["Cache-Control"] = "private, no-store"
        return response


def _pdf_link(letter):
    """The archive's "Open" link to a letter's PDF, for users who may download it."""
    if not may_view("IssuedLetterView", "can_pdf"):
        return ""
    return Markup('<a href="{}" target="_blank" rel="noopener" style="white-space: nowrap">'
                  '<i class="fa fa-file-pdf-o"></i> {}</a>').format(url_for("IssuedLetterView.pdf", pk=letter.id),
                                                                    _l("Open"))


def _stored_file(area, name, mimetype):
    """A stored file as an inline response, never cached; 404 (logged) when the file is gone."""
    try:
        return send_file(storage.path_of(area, name), mimetype=mimetype, max_age=0)
    except (ValueError, FileNotFoundError):
        log.error("stored file missing in %s", area)
        abort(404)


# --- letters made at the desk -----------------------------------------------------------------

def read_desk_form(letter_type, resident, form):
    """Check the desk form for ``letter_type``; every problem is collected (STYLE.md habit 3).

    Args:
        form: ``field_<key>`` values, ``purpose``, ``phone`` (optional), ``signing_mode`` and
            ``signatory_<mode>``.

    Returns:
        tuple ``(checked, errors)``: ``checked`` holds the keyword arguments ``field_values``,
        ``purpose``, ``phone`` and ``issue_options`` of :func:`app.letters.services.create_desk_letter`; ``errors``
        is a list of ``(form field name or "", message)``.
    """
    values, field_errors = clean_values(letter_type.fields, form)
    errors = [(f"field_{key}", message) for key, message in field_errors]
    errors += [("", message) for message in services.eligibility_errors(letter_type, resident)]
    purpose = (form.get("purpose") or "").strip()
    if not purpose:
        errors.append(("purpose", _l("Please write what the letter is for.")))
    elif len(purpose) > services.MAX_PURPOSE:
        errors.append(("purpose", _l("The purpose is too long (at most %(n)d characters).", n=services.MAX_PURPOSE)))
    phone = ""
    if (form.get("phone") or "").strip():
        phone, phone_error = normalize_phone(form.get("phone"))
        if phone_error:
            errors.append(("phone", phone_error))
    options, signing_error = _read_signing(form)
    if signing_error:
        errors.append(("signing_mode", signing_error))
    return {"field_values": values, "purpose": purpose, "phone": phone or "", "issue_options": options}, errors


class DeskLetterView(BaseView):
    """Surat at the desk: pick a resident and any active letter type, fill it in, print it."""

    route_base = "/desk-letter"
    default_view = "search"
    per_page = 20

    @expose("/")
    @has_access
    @permission_name("desk")
    def search(self):
        """Step 1: find the resident by NIK (16 digits, exact) or by name (paginated)."""
        query = (request.args.get("q") or "").strip()[:100]
        page = max(1, request.args.get("page", 1, type=int))
        rows, total, error = [], 0, None
        if query:
            digits = normalize_number(query)
            base = select(Resident).where(Resident.basic_status_id == STATUS_ALIVE)
            if digits.isdigit():
                if len(digits) != 16:
                    error = _l("A NIK has exactly 16 digits; to search by name, type letters.")
                else:
                    base = base.where(Resident.nik == digits)
            else:
                base = base.where(Resident.name.icontains(query, autoescape=True))
            if error is None:
                total = db.session.scalar(select(func.count()).select_from(base.subquery()))
                rows = db.session.scalars(
                    base.options(joinedload(Resident.family).options(load_only(Family.id, Family.address),
                                                                     lazyload("*")))
                    .order_by(Resident.name, Resident.id).offset((page - 1) * self.per_page).limit(self.per_page)).all()
        return self.render_template("letters_admin/desk_search.html", query=query, rows=rows, total=total,
                                    page=page, pages=max(1, math.ceil(total / self.per_page)), error=error,
                                    short_date=short_date)

    @expose("/new/<int:resident_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("desk")
    def new(self, resident_id):
        """Step 2: choose the letter type; step 3: fill the fields and print (one transaction)."""
        resident = db.session.get(Resident, resident_id)
        if resident is None:
            abort(404)
        types = db.session.scalars(select(LetterType).where(LetterType.active.is_(True))
                                   .order_by(LetterType.sort_order, LetterType.name)).all()
        raw_type = request.form.get("type_id") if request.method == "POST" else request.args.get("type")
        letter_type = next((t for t in types if str(t.id) == str(raw_type)), None)
        if letter_type is None:
            if request.method == "POST":
                abort(400)
            return self.render_template("letters_admin/desk_types.html", resident=resident, types=types,
                                        short_date=short_date)
        if request.method == "GET":
            data = {"phone": display_phone(normalize_phone(resident.phone)[0]) if resident.phone else ""}
            return self._form(resident, letter_type, data=data, token=secrets.token_urlsafe(24))

        token = request.form.get("submit_token", "")
        if not (20 <= len(token) <= 64):
            abort(400)
        checked, errors = read_desk_form(letter_type, resident, request.form)
        if not errors:
            try:
                item, _created = services.create_desk_letter(resident, letter_type, actor=workflow_actor(g.user),
                                                    submit_token=token, **checked)
                db.session.commit()
            except (TransitionError, IssueError) as exc:
                db.session.rollback()
                errors.append(("", exc.message))
            except IntegrityError:  # the same form sent twice at once: show the first one
                db.session.rollback()
                item = db.session.scalar(select(LetterRequest).where(LetterRequest.submit_token == token))
                if item is None:
                    raise
            except PdfRenderError:
                db.session.rollback()
                log.exception("desk letter: the letter PDF could not be made")
                errors.append(("", _l("The letter could not be printed (PDF error). Nothing was changed.")))
            if not errors:
                flash(_l("Letter printed with number %(number)s.", number=item.issued_letter.letter_number),
                      "success")
                return redirect(url_for("LetterRequestView.show", pk=item.id, _anchor="letter"))
        return self._form(resident, letter_type, data=request.form, token=token, errors=errors), 400

    def _form(self, resident, letter_type, *, data, token, errors=()):
        return self.render_template("letters_admin/desk_form.html", resident=resident, letter_type=letter_type,
                                    data=data, token=token, errors=list(errors), signing=_signing_choices(),
                                    short_date=short_date)


# --- letter types and requirements ------------------------------------------------------------

class FieldSchemaWidget(TextArea):
    """A monospace text area tall enough for a JSON list (FAB's own is fixed at 3 rows)."""

    def __call__(self, field, **kwargs):
        kwargs.update({"class": "form-control", "rows": 14, "spellcheck": "false",
                       "style": "font-family: Menlo, Consolas, monospace; font-size: 12px;"})
        return super().__call__(field, **kwargs)


class ParagraphWidget(TextArea):
    """A text area for the letter's paragraph (FAB's own is fixed at 3 rows)."""

    def __call__(self, field, **kwargs):
        kwargs.update({"class": "form-control", "rows": 5})
        return super().__call__(field, **kwargs)


class FieldSchemaField(TextAreaField):
    """A letter type's field schema edited as JSON text; ``data`` is the parsed list.

    Invalid JSON becomes a form error (with line and column), never an exception.
    """

    widget = FieldSchemaWidget()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        data = self.data if self.data is not None else []
        if isinstance(data, list) and data:
            # One field per line: readable, and a diff of two versions shows what changed.
            return "[\n" + ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in data) + "\n]"
        return json.dumps(data, indent=2, ensure_ascii=False)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        if not text:
            self.data = []
            return
        try:
            self.data = json.loads(text)
        except ValueError as exc:
            self.data = None
            raise ValueError(str(_l("This is not valid JSON (line %(line)d, column %(column)d): %(problem)s.",
                                    line=getattr(exc, "lineno", 0), column=getattr(exc, "colno", 0),
                                    problem=getattr(exc, "msg", str(exc))))) from None


def valid_field_schema(form, field):
    """The schema must pass :func:`app.letters.fields.schema_errors`; every problem is listed."""
    if field.process_errors:
        raise StopValidation()
    errors = schema_errors(field.data)
    if errors:
        raise StopValidation(" ".join(str(e) for e in errors))


def unique_type_code(form, field):
    """No second letter type with the same code (a clear message instead of a database error)."""
    query = select(LetterType.id).where(LetterType.code == (field.data or "").strip())
    if getattr(form, "_id", None) is not None:
        query = query.where(LetterType.id != form._id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ValidationError(str(_l("A letter type with this code already exists.")))


def valid_number_pattern(form, field):
    """An empty pattern means the default; otherwise :func:`pattern_errors` must find nothing."""
    field.data = (field.data or "").strip() or None
    errors = pattern_errors(field.data)
    if errors:
        raise ValidationError(" ".join(str(e) for e in errors))


def self_service_only_about_requester(form, field):
    """Only letters about a single resident (the requester) may be offered in the portal (DOMAIN.md §5)."""
    if field.data and "about_requester" in form and not form["about_requester"].data:
        raise ValidationError(str(_l(
            "Only letters about a single resident may be offered in the portal: this letter is about "
            "someone else (for example a birth or a death), so the operator makes it at the desk. Untick "
            "\"Offered in the self-service portal\", or tick \"About the requester\" if the letter is "
            "about the person who asks for it.")))


FIELDS_EXAMPLE = json.dumps([
    {"key": "business_name", "label": "Nama usaha", "kind": "text", "required": True},
    {"key": "need", "label": "Dipergunakan untuk", "kind": "select", "required": True,
     "options": ["Sekolah", "Rumah sakit"], "help": "Pilih salah satu."},
], ensure_ascii=False)


#: How a letter type counts its numbers (LetterType.sequence_scope).
SCOPE_LABELS = {"type": _l("Per letter type"), "all": _l("One sequence for all letters")}

#: Help texts of the letter-type form (FAB ignores description_columns for extra fields).
TYPE_HELP = {
    "code": _l("A short, stable name in lowercase letters, digits and _ (e.g. domisili). It cannot be "
               "changed later."),
    "classification_code": _l("Kode klasifikasi printed in the number, e.g. 400.12.2.1 (Permendagri "
                              "83/2022) or an older code such as 470."),
    "number_pattern": _l("Leave empty for the default %(pattern)s. Placeholders: %(names)s. "
                         "{sequence} is required; it is printed with at least 3 digits (007).",
                         pattern=DEFAULT_PATTERN, names=", ".join("{%s}" % p for p in PLACEHOLDERS)),
    "sequence_scope": _l("The sequence restarts every 1 January. Per letter type, types that share a "
                         "classification code share one sequence."),
    "about_requester": _l("Untick for letters about someone else, such as a birth or a death."),
    "self_service": _l("Only letters about a single resident (the requester) may be offered in the portal."),
    "requirements": _l("Documents the resident must attach in the portal. None is fine."),
    "fields": _l("The letter's own fields as JSON: a list of objects with key (lowercase letters, digits "
                 "and _), label, kind (%(kinds)s), required (true or false), options (a list, for select) "
                 "and help. Use [] for none. Example: %(example)s",
                 kinds=", ".join(KINDS), example=FIELDS_EXAMPLE),
    "body": _l("Printed after the identity block. {village} is replaced by the village name and "
               "{key} by the value of the field with that key, e.g. {business_name}."),
    "sort_order": _l("Lower numbers come first in the portal's list."),
}


class LetterTypeView(RegisterModelView):
    """Jenis surat: numbering, validity, paper, portal offer, requirements, fields and text."""

    datamodel = RegisterInterface(LetterType, computed={
        "validity": lambda t: _l("%(n)d day(s)", n=t.validity_amount) if t.validity_unit == "day"
        else _l("%(n)d month(s)", n=t.validity_amount)})
    list_title = show_title = add_title = edit_title = _l("Letter types")
    label_columns = {
        "code": _l("Code"), "name": _l("Name"), "classification_code": _l("Classification code"),
        "number_pattern": _l("Number pattern"), "sequence_scope": _l("Number sequence"),
        "validity_amount": _l("Valid for"), "validity_unit": _l("Unit"), "validity": _l("Valid for"),
        "paper": _l("Paper"), "about_requester": _l("About the requester"),
        "self_service": _l("Offered in the self-service portal"), "active": _l("Active"),
        "requirements": _l("Required documents"), "fields": _l("Letter fields"),
        "body": _l("Letter paragraph"), "sort_order": _l("Order"), "created_at": _l("Created"),
        "updated_at": _l("Last changed"),
    }
    list_columns = ["name", "code", "classification_code", "validity", "self_service", "active"]
    search_columns = ["name", "code", "classification_code", "self_service", "active"]
    order_columns = ["name", "code", "classification_code"]
    base_order = ("sort_order", "asc")
    _numbering = ["number_pattern", "sequence_scope", "validity_amount", "validity_unit", "paper"]
    _portal = ["about_requester", "self_service", "requirements"]
    _content = ["fields", "body"]
    add_fieldsets = [
        (_l("Letter"), {"fields": ["code", "name", "classification_code", "active", "sort_order"]}),
        (_l("Numbering and validity"), {"fields": _numbering}),
        (_l("Self-service portal"), {"fields": _portal}),
        (_l("Content"), {"fields": _content}),
    ]
    # The code is what the catalogue and a few rules (e.g. belum_menikah) recognise a type by:
    # it is set once.
    edit_fieldsets = [(_l("Letter"), {"fields": ["name", "classification_code", "active", "sort_order"]}),
                      *add_fieldsets[1:]]
    show_fieldsets = [
        (_l("Letter"), {"fields": ["code", "name", "classification_code", "active", "sort_order"]}),
        (_l("Numbering and validity"), {"fields": ["number_pattern", "sequence_scope", "validity", "paper"]}),
        (_l("Self-service portal"), {"fields": _portal}),
        (_l("Content"), {"fields": _content}),
        (_l("Record"), {"fields": ["created_at", "updated_at"], "expanded": False}),
    ]
    formatters_columns = {
        "about_requester": yes_no, "self_service": yes_no, "active": yes_no,
        "number_pattern": lambda value: value or _l("Default: %(pattern)s", pattern=DEFAULT_PATTERN),
        "sequence_scope": lambda value: SCOPE_LABELS.get(value, value),
        "requirements": lambda value: ", ".join(r.name for r in value) or _l("None"),
        "fields": lambda value: _fields_html(value),
        "body": lambda value: Markup('<div style="white-space: pre-wrap">{}</div>').format(value or ""),
        "created_at": local_datetime, "updated_at": local_datetime,
    }
    description_columns = TYPE_HELP
    add_form_extra_fields = edit_form_extra_fields = {
        "code": StringField(_l("Code"), widget=BS3TextFieldWidget(), description=TYPE_HELP["code"], validators=[
            InputRequired(), Regexp(r"^[a-z][a-z0-9_]{1,39}$", message=_l(
                "Use 2 to 40 lowercase letters, digits and _, starting with a letter.")), unique_type_code]),
        "classification_code": StringField(_l("Classification code"), widget=BS3TextFieldWidget(),
                                           description=TYPE_HELP["classification_code"], validators=[
            InputRequired(), Length(max=30), Regexp(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$", message=_l(
                "Use digits, letters, dots and dashes only (no slash: it separates the parts of the number)."))]),
        "number_pattern": StringField(_l("Number pattern"), widget=BS3TextFieldWidget(),
                                      description=TYPE_HELP["number_pattern"],
                                      validators=[Length(max=160), valid_number_pattern]),
        "sequence_scope": SelectField(_l("Number sequence"), widget=Select2Widget(), default="type",
                                      description=TYPE_HELP["sequence_scope"],
                                      choices=list(SCOPE_LABELS.items())),
        "validity_amount": IntegerField(_l("Valid for"), widget=BS3TextFieldWidget(), default=1,
                                        validators=[InputRequired(), NumberRange(min=1, max=366)]),
        "validity_unit": SelectField(_l("Unit"), widget=Select2Widget(), default="month",
                                     choices=[("month", _l("months")), ("day", _l("days"))]),
        "paper": SelectField(_l("Paper"), widget=Select2Widget(), default="F4",
                             choices=[("F4", _l("F4 (215 x 330 mm)")), ("A4", _l("A4 (210 x 297 mm)"))]),
        "about_requester": checkbox_field(_l("About the requester"), TYPE_HELP["about_requester"], default=True),
        "self_service": checkbox_field(_l("Offered in the self-service portal"), TYPE_HELP["self_service"],
                                       validators=[self_service_only_about_requester]),
        "active": checkbox_field(_l("Active"), default=True),
        "fields": FieldSchemaField(_l("Letter fields"), default=list, description=TYPE_HELP["fields"],
                                   validators=[valid_field_schema]),
        "body": TextAreaField(_l("Letter paragraph"), widget=ParagraphWidget(), description=TYPE_HELP["body"],
                              filters=[lambda value: (value or "").strip()], validators=[Optional()]),
        "sort_order": IntegerField(_l("Order"), widget=BS3TextFieldWidget(), default=0,
                                   description=TYPE_HELP["sort_order"],
                                   validators=[InputRequired(), NumberRange(min=0, max=9999)]),
    }

    def pre_delete(self, item):
        """A type with requests or issued letters stays: the archive refers to it."""
        if any(db.session.scalar(select(func.count(model.id)).where(model.letter_type_id == item.id))
               for model in (LetterRequest, IssuedLetter)):
            raise RecordConflict(str(_l(
                "This letter type has requests or issued letters, so it stays in the archive. Untick "
                "\"Active\" to stop using it.")))


def _fields_html(fields):
    """A field schema as a readable list for the show page (escaped)."""
    if not fields:
        return _l("None")
    items = []
    for f in fields:
        extra = ", ".join(str(x) for x in (f.get("kind", ""), _l("required") if f.get("required") else "") if x)
        options = ": " + " / ".join(f.get("options") or []) if f.get("options") else ""
        items.append(Markup("<li><strong>{}</strong> <code>{}</code> ({}{}){}</li>").format(
            f.get("label", ""), f.get("key", ""), extra, options,
            Markup("<br><small>{}</small>").format(f["help"]) if f.get("help") else ""))
    return Markup("<ul style=\"padding-left: 1.2em; margin: 0\">{}</ul>").format(Markup("").join(items))


class RequirementView(RegisterModelView):
    """Syarat surat: the kinds of documents a letter type may require."""

    datamodel = RegisterInterface(Requirement)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    exclude_route_methods = RegisterModelView.exclude_route_methods | {"delete"}
    list_title = show_title = add_title = edit_title = _l("Required documents")
    label_columns = {"name": _l("Name")}
    list_columns = show_columns = add_columns = edit_columns = ["name"]
    search_columns = ["name"]
    order_columns = ["name"]
    base_order = ("id", "asc")
    description_columns = {"name": _l("E.g. Fotokopi KTP. The resident sees this name in the portal.")}
