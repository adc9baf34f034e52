"""Operator side of Program Bantuan: programmes, their recipients, import and export.

Registered by :func:`register_aid_views` (called from :mod:`app.admin`); the roles that use the
view are in :mod:`app.security` (``VIEWS`` and ``MENUS`` below).

The recipient operations are plain functions in :mod:`app.aid.recipients` (they flush and
leave the commit to the caller, STYLE.md habit 2; every problem is gathered, habit 3); the view
reads the request, calls one of them, commits and redirects. Lists are
paginated in SQL with a constant number of queries per page.

Rules (DOMAIN.md §6): for a person target the recipient is a resident; for a family or
household target it is the KK (``family_id``) of the resident the operator picks, so the aid
stays with the family when its head dies or moves. One recipient row per resident or KK and
programme; ending the aid sets ``ended_on`` (the row stays, the resident sees the history).

URLs and FAB permissions (``can_<name>`` on ``AidProgramView``):

=================================================  =========================================
URL                                                permission
=================================================  =========================================
/aidprogramview/list/, /show/<pk> (+ recipients)   can_list, can_show
/aidprogramview/add, /edit/<pk>, /delete/<pk>      can_add, can_edit, can_delete
/aidprogramview/recipients/<pk>/add                can_add_recipient (search, pick, card)
POST /aidprogramview/recipients/<pk>/end/<id>      can_end_recipient (set or clear ended_on)
POST /aidprogramview/recipients/<pk>/remove/<id>   can_remove_recipient (a row added by mistake)
/aidprogramview/recipients/<pk>/import             can_import_recipients (CSV or XLSX)
/aidprogramview/recipients/<pk>/export.<csv|xlsx>  can_export_recipients
=================================================  =========================================
"""
import logging
import math
import re
from datetime import date

from flask import abort, flash, g, make_response, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import false, func, select
from wtforms import SelectField, TextAreaField
from wtforms.validators import Optional, ValidationError

from app.aid import services
from app.aid.models import FUNDING_SOURCES, TARGETS, AidProgram, AidRecipient
from app.core.codes import STATUS_ALIVE
from app.core.formatting import local_today
from app.core.i18n import lazy_gettext as _l
from app.extensions import db
from app.residents.admin import (RecordConflict, RegisterInterface, RegisterModelView, checkbox_field,
                                 local_datetime, short_date, yes_no)
from app.residents.models import Resident

log = logging.getLogger(__name__)

#: View class names and menu names, for the roles in :mod:`app.security`.
VIEWS = ("AidProgramView",)
MENUS = ("Aid", "Aid programmes")

from app.aid.recipients import (ImportIssue, MAX_CARD_ADDRESS, MAX_CARD_NAME, MAX_CARD_NUMBER,
                                 RECIPIENTS_PER_PAGE, RecipientError, SEARCH_PER_PAGE, add_recipient,
                                 card_defaults, end_recipient, export_csv, export_xlsx, import_recipients,
                                 is_family_target, recipient_counts, recipient_page, search_residents)

def end_not_before_start(form, field):
    """The end of the period may not come before its start."""
    start = form["start_date"].data if "start_date" in form else None
    if field.data and start and field.data < start:
        raise ValidationError(str(_l("The end date cannot be before the start date.")))


def target_kept_with_recipients(form, field):
    """A programme with recipients cannot switch between a person target and a KK target."""
    pk = getattr(form, "_id", None)
    if pk is None:
        return
    program = db.session.get(AidProgram, int(pk))
    if program is None or is_family_target(program.target) == is_family_target(field.data):
        return
    if db.session.scalar(select(func.count(AidRecipient.id)).where(AidRecipient.program_id == program.id)):
        raise ValidationError(str(_l(
            "This programme already has recipients, so its target cannot change between a person and a KK. "
            "Make a new programme instead.")))


class ChoiceIs(BaseFilter):
    """Filter a code column by a value chosen from translated labels (unknown values match nothing)."""

    name = _l("Is")
    arg_name = "cho"

    def __init__(self, column_name, datamodel, codes):
        super().__init__(column_name, datamodel)
        self.codes = codes

    def apply(self, query, value):
        if value not in self.codes:
            return query.filter(false())
        return query.filter(getattr(AidProgram, self.column_name) == value)


class AidProgramInterface(RegisterInterface):
    """Reads the recipient counts of a list page with one grouped query, after the page's query."""

    def query(self, *args, **kwargs):
        count, items = super().query(*args, **kwargs)
        g.aid_recipient_counts = recipient_counts([item.id for item in items])
        return count, items


def _count_cell(program):
    counts = g.get("aid_recipient_counts", {}).get(program.id, {"active": 0, "ended": 0})
    if counts["ended"]:
        return _l("%(active)d (%(ended)d ended)", active=counts["active"], ended=counts["ended"])
    return str(counts["active"])


def _parse_date(text):
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


class AidProgramView(RegisterModelView):
    """Program bantuan: the programmes, and on each programme's page its recipients."""

    datamodel = AidProgramInterface(AidProgram, computed={"recipient_count": _count_cell})
    list_title = _l("Aid programmes")
    show_title = _l("Aid programme")
    add_title = _l("New aid programme")
    edit_title = _l("Edit aid programme")
    label_columns = {
        "name": _l("Name"), "target": _l("Target"), "funding_source": _l("Funding source"),
        "start_date": _l("Start"), "end_date": _l("End"), "description": _l("Description"),
        "active": _l("Active"), "recipient_count": _l("Recipients"), "created_at": _l("Created"),
        "updated_at": _l("Last changed"),
    }
    list_columns = ["name", "target", "funding_source", "start_date", "end_date", "active", "recipient_count"]
    show_columns = ["name", "target", "funding_source", "start_date", "end_date", "active", "description",
                    "updated_at"]
    add_columns = edit_columns = ["name", "target", "funding_source", "start_date", "end_date", "description",
                                  "active"]
    search_columns = ["name", "target", "funding_source", "active"]
    order_columns = ["name", "target", "start_date", "end_date", "active"]
    base_order = ("name", "asc")
    show_template = "aid_admin/program_show.html"
    formatters_columns = {
        "target": services.target_label, "funding_source": services.funding_source_label,
        "start_date": short_date, "end_date": short_date, "active": yes_no, "updated_at": local_datetime,
        "description": lambda value: value or "-",
    }
    description_columns = {
        "name": _l("E.g. PKH, BPNT / Sembako, PIP, PBI-JKN, BLT Dana Desa."),
        "target": _l("Person: each recipient is a resident (PIP, PBI-JKN). Family or household: each recipient is a "
                     "family card (KK), and every member sees the aid (PKH, BPNT, BLT Dana Desa)."),
        "end_date": _l("Leave empty when the programme has no end date."),
        "active": _l("Untick when the programme stops: residents then see it as no longer active."),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "target": SelectField(_l("Target"), choices=services.target_choices(), widget=Select2Widget(),
                              description=description_columns["target"], validators=[target_kept_with_recipients]),
        "funding_source": SelectField(_l("Funding source"), choices=services.funding_source_choices(),
                                      widget=Select2Widget()),
        "active": checkbox_field(_l("Active"), description_columns["active"], default=True),
        # The column is NOT NULL with "" as default: FAB would make it required.
        "description": TextAreaField(_l("Description"), widget=BS3TextAreaFieldWidget(), validators=[Optional()],
                                     filters=[lambda value: (value or "").strip()]),
    }
    search_form_extra_fields = {
        "target": SelectField(_l("Target"), choices=services.target_choices(), widget=Select2Widget()),
        "funding_source": SelectField(_l("Funding source"), choices=services.funding_source_choices(),
                                      widget=Select2Widget()),
    }
    validators_columns = {"end_date": [end_not_before_start]}

    def _init_properties(self):
        super()._init_properties()
        for column, codes in (("target", TARGETS), ("funding_source", FUNDING_SOURCES)):
            filters = [ChoiceIs(column, self.datamodel, codes)]
            self._filters._search_filters[column] = filters
            self._filters._all_filters[column] = filters

    def pre_delete(self, item):
        if db.session.scalar(select(func.count(AidRecipient.id)).where(AidRecipient.program_id == item.id)):
            raise RecordConflict(str(_l(
                "This programme has recipients, so it stays as a record. Untick \"Active\" when it stops, or end "
                "the recipients.")))

    # --- helpers ---

    def _may(self, permission):
        return self.appbuilder.sm.has_access(permission, self.class_permission_name)

    def _program_or_404(self, pk):
        program = db.session.get(AidProgram, pk) if isinstance(pk, int) or str(pk).isdigit() else None
        if program is None:
            abort(404)
        return program

    def _recipient_or_404(self, program, recipient_id):
        recipient = db.session.get(AidRecipient, recipient_id)
        if recipient is None or recipient.program_id != program.id:
            abort(404)
        return recipient

    def _back(self, program, **kwargs):
        return redirect(url_for(".show", pk=program.id, _anchor="recipients", **kwargs))

    # --- the programme's page with its recipients ---

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """FAB's show page, with the programme's recipients (paginated) below it."""
        program = self._program_or_404(pk)
        widgets = self._show(program.id)
        page = request.args.get("rpage", 1, type=int) or 1
        rows, total = recipient_page(program, page=max(1, page))
        counts = recipient_counts([program.id]).get(program.id, {"active": 0, "ended": 0})
        return self.render_template(
            self.show_template, pk=program.id, title=self.show_title, widgets=widgets, program=program,
            rows=rows, total=total, page=max(1, page), pages=max(1, math.ceil(total / RECIPIENTS_PER_PAGE)),
            counts=counts, family_target=is_family_target(program.target), short_date=short_date,
            today=local_today(), may={name: self._may("can_" + name) for name in (
                "add_recipient", "end_recipient", "remove_recipient", "import_recipients", "export_recipients",
                "edit")})

    # --- adding one recipient ---

    @expose("/recipients/<int:pk>/add", methods=["GET", "POST"])
    @has_access
    def add_recipient(self, pk):
        """Search a living resident (NIK, name or KK number), pick one, fill in the card, add."""
        program = self._program_or_404(pk)
        family_target = is_family_target(program.target)
        if request.method == "POST":
            resident = db.session.get(Resident, request.form.get("resident_id", type=int) or 0)
            if resident is None:
                abort(404)
            form = {key: (request.form.get(key) or "") for key in ("card_number", "card_name", "card_nik",
                                                                   "card_address")}
            try:
                add_recipient(program, resident, **form)
            except RecipientError as exc:
                db.session.rollback()
                return self._card_form(program, db.session.get(Resident, resident.id), form, exc.errors), 400
            db.session.commit()
            flash(_l("%(who)s was added to %(program)s.",
                     who=(_l("KK %(kk)s", kk=resident.family.kk_number) if family_target else resident.name),
                     program=program.name), "success")
            return self._back(program)
        resident_id = request.args.get("resident", type=int)
        if resident_id:
            resident = db.session.get(Resident, resident_id)
            if resident is None:
                abort(404)
            return self._card_form(program, resident, card_defaults(program, resident))
        query = (request.args.get("q") or "").strip()[:100]
        page = max(1, request.args.get("page", 1, type=int) or 1)
        rows, total, error = search_residents(program, query, page) if query else ([], 0, None)
        return self.render_template(
            "aid_admin/recipient_search.html", title=_l("Add recipient"), program=program, query=query,
            rows=rows, total=total, page=page, pages=max(1, math.ceil(total / SEARCH_PER_PAGE)), error=error,
            family_target=family_target, target_label=services.target_label(program.target), short_date=short_date)

    def _card_form(self, program, resident, values, errors=()):
        family = resident.family
        members = []
        if is_family_target(program.target) and family is not None:
            members = db.session.execute(select(Resident.name, Resident.nik).where(
                Resident.family_id == family.id, Resident.basic_status_id == STATUS_ALIVE)
                .order_by(Resident.family_relationship_id, Resident.birth_date)).all()
        return self.render_template(
            "aid_admin/recipient_form.html", title=_l("Add recipient"), program=program, resident=resident,
            family=family, members=members, values=values, errors=list(errors),
            family_target=is_family_target(program.target), target_label=services.target_label(program.target),
            short_date=short_date, limits={"card_number": MAX_CARD_NUMBER, "card_name": MAX_CARD_NAME,
                                           "card_address": MAX_CARD_ADDRESS})

    # --- ending and removing ---

    @expose("/recipients/<int:pk>/end/<int:recipient_id>", methods=["POST"])
    @has_access
    def end_recipient(self, pk, recipient_id):
        """End a recipient's aid on a date (default today), or resume it ("undo")."""
        program = self._program_or_404(pk)
        recipient = self._recipient_or_404(program, recipient_id)
        if request.form.get("undo"):
            end_recipient(recipient, None)
            db.session.commit()
            flash(_l("The aid runs again for this recipient."), "success")
            return self._back(program)
        raw = request.form.get("ended_on", "")
        ended_on = _parse_date(raw) if raw else local_today()
        if ended_on is None:
            flash(_l("The end date %(value)s is not a date.", value=raw[:20]), "danger")
            return self._back(program)
        end_recipient(recipient, ended_on)
        db.session.commit()
        flash(_l("The aid ends on %(date)s for this recipient.", date=short_date(ended_on)), "success")
        return self._back(program)

    @expose("/recipients/<int:pk>/remove/<int:recipient_id>", methods=["POST"])
    @has_access
    def remove_recipient(self, pk, recipient_id):
        """Delete a recipient row added by mistake (to stop the aid, end it instead)."""
        program = self._program_or_404(pk)
        recipient = self._recipient_or_404(program, recipient_id)
        db.session.delete(recipient)
        db.session.commit()
        flash(_l("The recipient was removed from %(program)s.", program=program.name), "success")
        return self._back(program)

    # --- import and export ---

    @expose("/recipients/<int:pk>/import", methods=["GET", "POST"])
    @has_access
    def import_recipients(self, pk):
        """Upload a CSV or XLSX of recipients; every row error is listed and nothing is written then."""
        program = self._program_or_404(pk)
        issues, ignored, status = [], [], 200
        filename = ""
        if request.method == "POST":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                issues = [ImportIssue(0, "", "", str(_l("Choose a CSV or XLSX file.")))]
            else:
                filename = upload.filename
                added, issues, ignored = import_recipients(program, upload.read())
                if not issues:
                    db.session.commit()
                    flash(_l("%(n)d recipient(s) imported into %(program)s.", n=added, program=program.name),
                          "success")
                    if ignored:
                        flash(_l("Columns not used: %(names)s.", names=", ".join(ignored)), "info")
                    return self._back(program)
                db.session.rollback()
            status = 400
        return self.render_template(
            "aid_admin/recipient_import.html", title=_l("Import recipients"), program=program, issues=issues[:500],
            more=max(0, len(issues) - 500), total_issues=len(issues), ignored=ignored, filename=filename,
            family_target=is_family_target(program.target),
            target_label=services.target_label(program.target)), status

    @expose("/recipients/<int:pk>/export.<fmt>")
    @has_access
    def export_recipients(self, pk, fmt):
        """The programme's recipients as CSV (UTF-8 with BOM) or XLSX (numbers as text)."""
        program = self._program_or_404(pk)
        if fmt not in ("csv", "xlsx"):
            abort(404)
        slug = re.sub(r"[^a-z0-9]+", "-", program.name.lower()).strip("-")[:40] or "program"
        name = f"bantuan-{program.id}-{slug}-{local_today().isoformat()}.{fmt}"
        if fmt == "csv":
            response = make_response(export_csv(program))
            response.headers["Content-Type"] = "text/csv; charset=utf-8"
        else:
            response = make_response(export_xlsx(program))
            response.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "private, no-store"
        return response


def register_aid_views(appbuilder):
    """Add the Program Bantuan view to the operator panel (inside an app context).

    Menu names are ``MENUS``; the permissions are FAB's ``can_list``, ``can_show``, ``can_add``,
    ``can_edit``, ``can_delete`` plus ``can_add_recipient``, ``can_end_recipient``,
    ``can_remove_recipient``, ``can_import_recipients`` and ``can_export_recipients`` on
    ``AidProgramView``.
    """
    appbuilder.add_view(AidProgramView, "Aid programmes", label=_l("Programmes"), icon="fa-gift",
                        category="Aid", category_label=_l("Aid programmes"), category_icon="fa-gift")
