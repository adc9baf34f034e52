"""Operator-panel views of the register: village, areas, families, residents, officials.

Registered (menu, permissions) in :func:`app.admin.register_admin_views` only. Views stay thin:
form validators check the input (every problem shown on the form, never a 500), the portal
actions call :mod:`app.portal.services` and commit. Business rules live in the services.
"""
import logging
from types import SimpleNamespace

from flask import abort, current_app, flash, g, redirect, url_for
# FAB's User model must be mapped before SQLAInterface configures the mappers at import time
# (PortalAccount.created_by refers to it by name).
import flask_appbuilder.security.sqla.models  # noqa: F401
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterStartsWith
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import format_date, format_datetime, get_locale
from app.core.i18n import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import joinedload, lazyload, load_only
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import Email, InputRequired, Optional, Regexp, StopValidation, ValidationError

from app.core.codes import (SHDK_HEAD, STATUS_ALIVE, BasicStatus, Education, FamilyRelationship,
                            MaritalStatus, Occupation, Religion, Sex, code_choices)
from app.core.nik import KkNumberValidator, NikValidator
from app.core.search import digits_prefix, name_prefix
from app.extensions import db
from app.portal import services as portal_services
from app.residents.models import Area, Family, Official, Resident, Village

log = logging.getLogger(__name__)

#: Area levels as stored, with their labels (DOMAIN.md §1: dusun > RW > RT, levels optional).
AREA_LEVEL_LABELS = {"dusun": _l("Dusun"), "rw": _l("RW"), "rt": _l("RT")}


class RecordConflict(Exception):
    """A save was refused by a database constraint; the message is safe to show."""


class RegisterInterface(SQLAInterface):
    """FAB's SQLAlchemy interface with three additions for the register.

    - ``list_options``: loader options (``joinedload`` ...) added to list queries, so a list
      page issues a constant number of queries whatever the number of rows.
    - ``computed``: ``{column name: function(item) -> value}`` for list/show columns that are
      not model attributes (e.g. an area's full path).
    - A constraint error at commit (a race the form validators could not see) becomes a
      :class:`RecordConflict` with a plain message: FAB would otherwise flash the SQL text,
      and log it with the parameters (NIKs) in it.
    """

    def __init__(self, obj, session=None, *, list_options=(), computed=None):
        super().__init__(obj, session)
        self.list_options = tuple(list_options)
        self.computed = dict(computed or {})

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        return query.options(*self.list_options) if self.list_options else query

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None,
              select_columns=None, outer_default_load=False):
        """One page of rows: ``(count, [model instances])``, like FAB's, as a "deferred join".

        FAB selects the page with every eager-loaded relation joined (a resident joins ten
        code tables and the family), so the database builds the joined row for each of the
        12,500 rows an OFFSET in the middle of 25,000 residents skips. Here the page's primary
        keys come first (filters, order and OFFSET on the table and its indexes only), then
        the page's rows with their relations: the cost no longer grows with the offset
        (issue 6, bench/README.md). Queries with ``select_columns`` (FAB's API) go the old way.
        """
        if not page_size or select_columns:
            return super().query(filters, order_column, order_direction, page, page_size,
                                 select_columns, outer_default_load)
        base = self.session.query(self.obj)
        count = self.query_count(base, filters)
        pk = getattr(self.obj, self.get_pk_name())
        page_keys = self._apply_inner_all(base, filters, order_column, order_direction, page, page_size,
                                          aliases_mapping={}).with_entities(pk)
        keys = [row[0] for row in page_keys]
        if not keys:
            return count, []
        rows = self.session.query(self.obj).filter(pk.in_(keys))
        rows = rows.options(*self.list_options) if self.list_options else rows
        by_key = {getattr(row, self.get_pk_name()): row for row in rows}
        return count, [by_key[key] for key in keys if key in by_key]

    def _get_attr_value(self, item, col):
        if col in self.computed:
            return self.computed[col](item)
        return super()._get_attr_value(item, col)

    def _write(self, operation, item, commit):
        try:
            operation(item)
            if commit:
                self.session.commit()
        except IntegrityError:
            self.session.rollback()
            log.warning("%s: change refused by a database constraint", self.obj.__name__)
            raise RecordConflict(str(_l(
                "The change conflicts with another record (for example a duplicate number or a "
                "second head of family), or the record is still in use. Nothing was saved."))) from None
        except SQLAlchemyError as exc:
            self.session.rollback()
            log.error("%s: database error %s", self.obj.__name__, type(exc).__name__)
            raise RecordConflict(str(_l("Database error: nothing was saved."))) from None

    def add(self, item, commit=True):
        self._write(self.session.add, item, commit)

    def edit(self, item, commit=True):
        self._write(self.session.merge, item, commit)

    def delete(self, item, commit=True):
        self._write(self.session.delete, item, commit)


class RegisterModelView(ModelView):
    """Common settings: SQL pagination, and warnings from validators flashed after a save.

    A validator that accepts a value with warnings (a NIK whose sex differs from the record)
    calls :func:`defer_warnings`; the warnings are flashed once the record is saved.
    """

    page_size = 25
    #: Routes not registered at all: no file columns (download), no multi-row actions
    #: (action_post), and no single-row actions unless a view re-adds "action".
    exclude_route_methods = {"download", "action", "action_post"}

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    @has_access
    def action(self, name, pk):
        """A single-row action from the show page.

        FAB's own ``action`` route carries no permission check of its own (it only checks the
        action's permission inside, and answers 500 for an unknown name): here the route needs
        ``can_action`` as well, unknown names are a 404, and GET is not routed.
        """
        if name not in self.actions:
            abort(404)
        return super().action(name, pk)

    def _init_forms(self):
        super()._init_forms()
        # An empty choice in FAB's drop-downs reads "__None" (WTForms 3 prints the value when
        # the label is empty): give it a visible dash instead.
        for form in (self.add_form, self.edit_form, self.search_form):
            for unbound in vars(form).values():
                if isinstance(unbound, UnboundField) and issubclass(unbound.field_class, QuerySelectField):
                    unbound.kwargs["blank_text"] = "-"

    def get_redirect(self):
        """Back to the previous page, or to this view's list (FAB falls back to the public page)."""
        url = super().get_redirect()
        return url_for(".list") if url == self.appbuilder.get_url_for_index else url

    def post_add(self, item):
        _flash_deferred_warnings()

    def post_update(self, item):
        _flash_deferred_warnings()


def defer_warnings(messages):
    """Remember ``messages`` (lazy strings) to flash after the current save succeeds."""
    g.setdefault("register_warnings", []).extend(messages)


def _flash_deferred_warnings():
    for message in g.pop("register_warnings", []):
        flash(message, "warning")


def yes_no(value):
    """A flag for list and show pages: "Yes" / "No" instead of True / False."""
    return _l("Yes") if value else _l("No")


def short_date(value):
    """A date as ``17-05-1990`` (the order used on Indonesian documents), or "-"."""
    return format_date(value, "dd-MM-yyyy") if value is not None else "-"


def local_datetime(value):
    """A stored UTC time in the village's time zone (``BABEL_DEFAULT_TIMEZONE``), or "-"."""
    return format_datetime(value, "dd-MM-yyyy HH:mm") if value is not None else "-"


def _selected_id(field):
    """The id chosen in a code-table or relation field (its data is a row), or None."""
    return getattr(field.data, "id", field.data)


# --- validators -----------------------------------------------------------------------------

class _CodeIdsForm:
    """Shows a FAB form to :class:`NikValidator` with relation fields as ids.

    FAB's relation fields hold the chosen row (a ``Sex``), while NikValidator's ``sex_field``
    expects the code (1 or 2).
    """

    def __init__(self, form):
        self._form = form

    def __contains__(self, name):
        return name in self._form

    def __getitem__(self, name):
        return SimpleNamespace(data=_selected_id(self._form[name]))


class UniqueNumber:
    """Normalise a NIK / KK number, validate it, and refuse one already registered.

    Runs ``validator`` (:class:`NikValidator` or :class:`KkNumberValidator`); stores the
    normalised number back in the field (so ``3171 0117 ...`` is saved as 16 digits), defers
    the warnings, and stops with ``message`` when another row of ``model`` has the number.
    Raises ``StopValidation`` so FAB's own "Already exists." does not repeat the error.
    """

    def __init__(self, model, column, validator, message):
        self.model, self.column, self.validator, self.message = model, column, validator, message

    def __call__(self, form, field):
        try:
            self.validator(_CodeIdsForm(form), field)
        except ValidationError as exc:
            raise StopValidation(str(exc)) from None
        check = field.number_check
        field.data = check.value
        column = getattr(self.model, self.column)
        other = db.session.scalar(select(self.model.id).where(column == check.value))
        if other is not None and other != getattr(form, "_id", None):
            raise StopValidation(str(self.message))
        defer_warnings(check.warnings)


def one_head_per_family(form, field):
    """SHDK 1 (head of family) only when the chosen KK has no other head (DOMAIN.md §1)."""
    if _selected_id(field) != SHDK_HEAD or "family" not in form:
        return
    family = form["family"].data
    if family is None:
        return
    query = select(Resident).where(Resident.family_id == family.id,
                                   Resident.family_relationship_id == SHDK_HEAD)
    if getattr(form, "_id", None) is not None:  # editing: the person may already be the head
        query = query.where(Resident.id != form._id)
    head = db.session.scalar(query.limit(1))
    if head is not None:
        raise ValidationError(str(_l(
            "Family card %(kk)s already has a head of family (%(name)s). Change that person's "
            "relationship first, or choose another relationship.", kk=family.kk_number, name=head.name)))


def area_parent_above(form, field):
    """An area's parent must be a higher level: RT under RW or dusun, RW under dusun."""
    parent, level = field.data, form["level"].data if "level" in form else None
    if parent is None or level not in Area.LEVELS:
        return
    if getattr(form, "_id", None) is not None and parent.id == form._id:
        raise ValidationError(str(_l("An area cannot be its own parent.")))
    if Area.LEVELS.index(parent.level) >= Area.LEVELS.index(level):
        raise ValidationError(str(_l("A %(level)s must be inside a higher level (dusun above RW above RT).",
                                     level=AREA_LEVEL_LABELS[level])))


def area_not_duplicated(form, field):
    """No second area with the same level and name in the same place (RT 001 twice in RW 002)."""
    if "level" not in form or "parent" not in form or not field.data:
        return
    parent = form["parent"].data
    same_parent = Area.parent_id == parent.id if parent is not None else Area.parent_id.is_(None)
    query = select(Area.id).where(Area.level == form["level"].data, Area.name == field.data.strip(),
                                  same_parent)
    if getattr(form, "_id", None) is not None:
        query = query.where(Area.id != form._id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ValidationError(str(_l("This area already exists here.")))


def one_village_head(form, field):
    """Only one active official may be marked as the Kepala Desa."""
    if not field.data or ("active" in form and not form["active"].data):
        return
    query = select(Official.name).where(Official.is_village_head.is_(True), Official.active.is_(True))
    if getattr(form, "_id", None) is not None:
        query = query.where(Official.id != form._id)
    other = db.session.scalar(query)
    if other is not None:
        raise ValidationError(str(_l("%(name)s is already the active village head.", name=other)))


def checkbox_field(label, description="", validators=(), default=False):
    """A check box that may be left unticked.

    FAB adds ``InputRequired`` to every NOT NULL column, which for a check box means "must be
    ticked": a flag could never be switched off. Declared as an extra field it has no such rule.
    """
    return BooleanField(label, description=description, validators=list(validators), default=default)


def number_field(label, model, column, validator, duplicate_message, description=""):
    """A NIK / KK number text field checked by :class:`UniqueNumber`.

    Declared as an extra field so FAB adds no ``Length(max=16)``: its ``maxlength`` would cut
    off a number pasted with spaces or dashes ("3309 0102 0315 0001") instead of letting the
    validator normalise it.
    """
    unique = UniqueNumber(model, column, validator, duplicate_message)
    return StringField(label, description=description, widget=BS3TextFieldWidget(),
                       validators=[InputRequired(), unique])


class CachedSelect2Widget(Select2Widget):
    """FAB's Select2 drop-down, rendered once per process and language while nothing is chosen.

    The search form of the resident list holds seven code tables (about 200 options) and is
    rendered, empty, on every list page; FAB's JavaScript fills in the active filters. Only
    for fields whose choices never change (the national code tables).
    """

    def __call__(self, field, **kwargs):
        if field.data not in (None, "", "None"):
            return super().__call__(field, **kwargs)
        key = (field.id, field.name, str(get_locale()), tuple(sorted(kwargs.items())))
        cache = current_app.extensions.setdefault("balai_rendered_selects", {})
        if key not in cache:
            cache[key] = super().__call__(field, **kwargs)
        return cache[key]


def code_search_field(label, model):
    """A search-form drop-down of a national code table (values: the codes), without a query."""
    return SelectField(label, choices=lambda: code_choices(model), widget=CachedSelect2Widget())


def _digits(count):
    return Regexp(rf"^\d{{{count}}}$", message=_l("Enter exactly %(count)d digits.", count=count))


# --- village, areas, families ---------------------------------------------------------------

class VillageView(RegisterModelView):
    """Identitas desa: one row. Adding a second village is refused."""

    datamodel = RegisterInterface(Village)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    exclude_route_methods = RegisterModelView.exclude_route_methods | {"delete"}
    list_title = show_title = edit_title = add_title = _l("Village profile")
    label_columns = {
        "name": _l("Village name"), "code": _l("Village code (Kemendagri)"),
        "kecamatan_name": _l("Kecamatan"), "kecamatan_code": _l("Kecamatan code"),
        "regency_name": _l("Kabupaten / kota"), "regency_code": _l("Kabupaten / kota code"),
        "province_name": _l("Province"), "province_code": _l("Province code"),
        "address": _l("Office address"), "postal_code": _l("Postal code"), "phone": _l("Phone"),
        "email": _l("E-mail"), "logo": _l("Logo"), "service_hours": _l("Service hours"),
        "account_requirements": _l("Requirements for a portal account"),
        "letter_signing_step": _l("The village head marks letters as signed"),
        "created_at": _l("Created"), "updated_at": _l("Last changed"),
    }
    list_columns = ["name", "code", "kecamatan_name", "regency_name", "province_name"]
    search_columns = ["name"]
    _form = ["name", "code", "kecamatan_name", "kecamatan_code", "regency_name", "regency_code",
             "province_name", "province_code", "address", "postal_code", "phone", "email",
             "service_hours", "account_requirements", "letter_signing_step"]
    add_columns = edit_columns = _form
    show_columns = _form + ["updated_at"]
    formatters_columns = {"updated_at": local_datetime, "letter_signing_step": yes_no}
    add_form_extra_fields = edit_form_extra_fields = {"letter_signing_step": checkbox_field(
        _l("The village head marks letters as signed"),
        _l("Untick when the operator records the signature instead."), default=True)}
    description_columns = {
        "code": _l("10 digits without dots, e.g. 3309012001 (printed in letter numbers)."),
        "service_hours": _l("Shown on the public page, e.g. Senin-Jumat 08.00-15.00 WIB."),
        "account_requirements": _l("One item per line; shown on the portal login page."),
    }
    validators_columns = {
        "code": [_digits(10)], "kecamatan_code": [_digits(6)], "regency_code": [_digits(4)],
        "province_code": [_digits(2)], "postal_code": [Optional(), _digits(5)],
        "email": [Optional(), Email()],
    }

    def _add(self):
        if db.session.scalar(select(func.count(Village.id))):
            flash(_l("The village profile already exists: edit it instead. Balai serves one village."),
                  "warning")
            return None
        return super()._add()


class AreaView(RegisterModelView):
    """Wilayah: dusun, RW and RT as a tree."""

    datamodel = RegisterInterface(Area, computed={"full_path": str})
    list_title = show_title = add_title = edit_title = _l("Areas")
    label_columns = {"level": _l("Level"), "name": _l("Name"), "parent": _l("Inside"),
                     "full_path": _l("Full path")}
    list_columns = ["full_path", "level", "name", "parent"]
    show_columns = ["full_path", "level", "name", "parent"]
    add_columns = edit_columns = ["level", "name", "parent"]
    search_columns = ["level", "name", "parent"]
    order_columns = ["level", "name"]
    base_order = ("id", "asc")
    formatters_columns = {"level": lambda value: AREA_LEVEL_LABELS.get(value, value),
                          "parent": lambda value: str(value) if value is not None else "-"}
    description_columns = {
        "name": _l('A dusun name ("Krajan"), or the RW/RT number as written ("001").'),
        "parent": _l("Empty for a dusun (or for an RW/RT in a village without that level above)."),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "level": SelectField(_l("Level"), choices=list(AREA_LEVEL_LABELS.items()), widget=Select2Widget()),
    }
    validators_columns = {"parent": [area_parent_above], "name": [area_not_duplicated]}

    def pre_delete(self, item):
        in_use = db.session.scalar(select(func.count(Area.id)).where(Area.parent_id == item.id)) or \
            db.session.scalar(select(func.count(Family.id)).where(Family.area_id == item.id))
        if in_use:
            raise RecordConflict(str(_l(
                "This area still contains other areas or families; move them first.")))


_RESIDENT_LABELS = {
    "nik": _l("NIK"), "name": _l("Name"), "sex": _l("Sex"), "birth_place": _l("Place of birth"),
    "birth_date": _l("Date of birth"), "religion": _l("Religion"), "education": _l("Education"),
    "occupation": _l("Occupation"), "marital_status": _l("Marital status"),
    "family_relationship": _l("Relationship in family"), "blood_type": _l("Blood type"),
    "citizenship": _l("Citizenship"), "basic_status": _l("Basic status"),
    "father_name": _l("Father's name"), "mother_name": _l("Mother's name"), "phone": _l("Phone"),
    "email": _l("E-mail"), "family": _l("Family card (KK)"), "photo": _l("Photo"),
    "portal_account": _l("Portal account"), "created_at": _l("Created"),
    "updated_at": _l("Last changed"),
}


class FamilyMembersView(RegisterModelView):
    """The members of one KK, shown on the family's page (read only)."""

    datamodel = RegisterInterface(Resident, list_options=[
        joinedload(Resident.family_relationship), joinedload(Resident.sex), joinedload(Resident.basic_status)])
    base_permissions = ["can_list", "can_show"]
    exclude_route_methods = RegisterModelView.exclude_route_methods | {"add", "edit", "delete"}
    list_title = show_title = _l("Family members")
    label_columns = _RESIDENT_LABELS
    list_columns = ["family_relationship", "nik", "name", "sex", "birth_date", "basic_status"]
    show_columns = ["nik", "name", "sex", "birth_place", "birth_date", "family_relationship",
                    "basic_status", "family"]
    base_order = ("family_relationship_id", "asc")
    formatters_columns = {"birth_date": short_date}
    page_size = 50


class FamilyView(RegisterModelView):
    """Kartu Keluarga: number, address, area; the members listed under it."""

    datamodel = RegisterInterface(Family, list_options=[joinedload(Family.head).options(
        load_only(Resident.id, Resident.name, Resident.family_id, Resident.family_relationship_id))])
    list_title = show_title = add_title = edit_title = _l("Families")
    related_views = [FamilyMembersView]
    show_template = "admin/show_with_members.html"
    edit_template = "appbuilder/general/model/edit_cascade.html"
    label_columns = {"kk_number": _l("KK number"), "address": _l("Address"), "area": _l("Area"),
                     "head": _l("Head of family"), "members": _l("Members"),
                     "created_at": _l("Created"), "updated_at": _l("Last changed")}
    list_columns = ["kk_number", "head", "address", "area"]
    show_columns = ["kk_number", "head", "address", "area", "updated_at"]
    add_columns = edit_columns = ["kk_number", "address", "area"]
    search_columns = ["kk_number", "address", "area"]
    base_order = ("kk_number", "asc")
    formatters_columns = {"updated_at": local_datetime}
    description_columns = {"area": _l("The family's RT (or the lowest level the village has).")}
    add_form_extra_fields = edit_form_extra_fields = {"kk_number": number_field(
        _l("KK number"), Family, "kk_number", KkNumberValidator(),
        _l("A family card with this KK number is already registered."),
        _l("16 digits, as printed on the family card."))}

    def pre_delete(self, item):
        if db.session.scalar(select(func.count(Resident.id)).where(Resident.family_id == item.id)):
            raise RecordConflict(str(_l(
                "This family card still has members; move them to another card first.")))


# --- residents ------------------------------------------------------------------------------

class KkNumberStartsWith(BaseFilter):
    """Search residents by the start of their KK number (typed, not picked from a list).

    Uses the unique index on ``family.kk_number`` (:func:`app.core.search.digits_prefix`).
    """

    name = _l("Starts with")
    arg_name = "kk_sw"

    def apply(self, query, value):
        families = select(Family.id).where(digits_prefix(Family.kk_number, value))
        return query.filter(Resident.family_id.in_(families))


class NumberStartsWith(BaseFilter):
    """FAB's "starts with" for a digits-only column (NIK), walking the column's index."""

    name = _l("Starts with")
    arg_name = "sw"

    def apply(self, query, value):
        return query.filter(digits_prefix(getattr(self.model, self.column_name), value))


class NameStartsWith(BaseFilter):
    """FAB's "starts with" for a name, ignoring case, walking ``ix_resident_name_lower``."""

    name = _l("Starts with")
    arg_name = "sw"

    def apply(self, query, value):
        return query.filter(name_prefix(getattr(self.model, self.column_name), value))


def use_indexed_starts_with(view, column, filter_class):
    """Replace FAB's "starts with" filter of ``column`` in ``view`` by ``filter_class``.

    The filter keeps its place in the list (``_flt_0_<column>`` stays "starts with").
    """
    for filters in (view._filters._search_filters, view._filters._all_filters):
        filters[column] = [filter_class(column, view.datamodel) if isinstance(flt, FilterStartsWith) else flt
                           for flt in filters.get(column, [])]


class ResidentView(RegisterModelView):
    """Penduduk, with the portal-account actions (each its own permission)."""

    datamodel = RegisterInterface(Resident, list_options=[
        joinedload(Resident.sex), joinedload(Resident.basic_status),
        joinedload(Resident.family).options(load_only(Family.id, Family.kk_number), lazyload(Family.area),
                                            lazyload(Family.head))])
    exclude_route_methods = RegisterModelView.exclude_route_methods - {"action"}
    list_title = show_title = add_title = edit_title = _l("Residents")
    label_columns = _RESIDENT_LABELS
    list_columns = ["nik", "name", "sex", "birth_date", "family", "basic_status"]
    search_columns = ["nik", "name", "family", "sex", "religion", "basic_status", "marital_status",
                      "family_relationship", "education", "occupation", "birth_date"]
    order_columns = ["nik", "name", "birth_date"]
    base_order = ("name", "asc")
    _fieldsets = [
        (_l("Identity"), {"fields": ["nik", "name", "sex", "birth_place", "birth_date", "religion",
                                     "citizenship", "blood_type"]}),
        (_l("Family"), {"fields": ["family", "family_relationship", "father_name", "mother_name"]}),
        (_l("Status"), {"fields": ["basic_status", "marital_status", "education", "occupation"]}),
        (_l("Contact"), {"fields": ["phone", "email"]}),
    ]
    add_fieldsets = edit_fieldsets = _fieldsets
    show_fieldsets = _fieldsets[:3] + [
        (_l("Contact"), {"fields": ["phone", "email", "portal_account"]}),
        (_l("Record"), {"fields": ["created_at", "updated_at"], "expanded": False}),
    ]
    formatters_columns = {
        "birth_date": short_date, "created_at": local_datetime, "updated_at": local_datetime,
        "phone": lambda value: value or "-", "email": lambda value: value or "-",
        "portal_account": lambda accounts: (
            (_l("Yes (must change PIN)") if accounts[0].must_change_pin else _l("Yes"))
            if accounts else _l("No")),
    }
    description_columns = {"family_relationship": _l("Each family card has exactly one head of family.")}
    add_form_extra_fields = edit_form_extra_fields = {"nik": number_field(
        _l("NIK"), Resident, "nik", NikValidator(sex_field="sex", birth_date_field="birth_date"),
        _l("A resident with this NIK is already registered."),
        _l("16 digits. A NIK that breaks the Dukcapil rules is refused; a difference from the sex "
           "or birth date below is only a warning."))}
    validators_columns = {
        "family_relationship": [one_head_per_family],
        "email": [Optional(), Email()],
    }

    search_form_extra_fields = {
        "family": StringField(_l("Family card (KK)"), widget=BS3TextFieldWidget()),
        # Drop-downs of the code tables from a per-process cache: FAB would query each table
        # (twice) on every list page. The filters still get the code from the URL.
        **{column: code_search_field(_RESIDENT_LABELS[column], model) for column, model in (
            ("sex", Sex), ("religion", Religion), ("basic_status", BasicStatus),
            ("marital_status", MaritalStatus), ("family_relationship", FamilyRelationship),
            ("education", Education), ("occupation", Occupation))},
    }

    def _init_properties(self):
        super()._init_properties()
        # FAB would search "family" with a drop-down of every family card (thousands of
        # options in every list page); a typed KK number prefix replaces it.
        kk_filters = [KkNumberStartsWith("family", self.datamodel)]
        self._filters._search_filters["family"] = kk_filters
        self._filters._all_filters["family"] = kk_filters
        use_indexed_starts_with(self, "nik", NumberStartsWith)
        use_indexed_starts_with(self, "name", NameStartsWith)

    def post_add(self, item):
        super().post_add(item)
        g.register_added_pk = item.id

    def post_add_redirect(self):
        """After adding a resident, open the new record (where the portal actions are)."""
        pk = g.pop("register_added_pk", None)
        if pk is not None:
            return redirect(url_for(".show", pk=pk))
        return super().post_add_redirect()

    def pre_delete(self, item):
        if portal_services.find_account(item) is not None:
            raise RecordConflict(str(_l(
                "This resident has a portal account. Disable the account, or change the basic "
                "status instead of deleting the resident.")))

    # --- actions ---

    @action("create_portal_account", _l("Create portal account"), icon="fa-key", multiple=False)
    def create_portal_account(self, item):
        """Give the resident a portal account and show the new PIN once."""
        resident = single_item(item)
        try:
            _account, pin = portal_services.create_account(resident, actor=g.user)
        except ValueError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".show", pk=resident.id))
        db.session.commit()
        return render_pin_page(self, resident, pin, reset=False)

    @action("reset_pin", _l("Reset portal PIN"), icon="fa-refresh", multiple=False,
            confirmation=_l("Give this resident a new PIN? The old PIN stops working and open "
                            "portal sessions end."))
    def reset_pin(self, item):
        """Replace the resident's PIN with a new random one and show it once."""
        resident = single_item(item)
        account = portal_services.find_account(resident)
        if account is None:
            flash(_l("This resident has no portal account yet."), "danger")
            return redirect(url_for(".show", pk=resident.id))
        pin = portal_services.reset_pin(account, actor=g.user)
        db.session.commit()
        return render_pin_page(self, resident, pin, reset=True)


class OfficialView(RegisterModelView):
    """Pamong: village officials and who may sign letters."""

    datamodel = RegisterInterface(Official, list_options=[joinedload(Official.resident).options(
        load_only(Resident.id, Resident.name))])
    list_title = show_title = add_title = edit_title = _l("Village officials")
    label_columns = {
        "name": _l("Name"), "position": _l("Position"), "nip": _l("NIP"), "nipd": _l("NIPD"),
        "resident": _l("Resident"), "active": _l("Active"), "is_village_head": _l("Village head"),
        "may_sign_on_behalf": _l("May sign a.n. (on behalf of) the village head"),
        "may_sign_under_authority": _l("May sign u.b. (under authority)"),
        "sort_order": _l("Order"), "created_at": _l("Created"), "updated_at": _l("Last changed"),
    }
    list_columns = ["name", "position", "nip", "nipd", "active", "is_village_head", "may_sign_on_behalf"]
    formatters_columns = {"active": yes_no, "is_village_head": yes_no, "may_sign_on_behalf": yes_no,
                          "may_sign_under_authority": yes_no, "updated_at": local_datetime}
    _form = ["name", "position", "nip", "nipd", "resident", "active", "is_village_head",
             "may_sign_on_behalf", "may_sign_under_authority", "sort_order"]
    add_columns = edit_columns = _form
    show_columns = _form + ["updated_at"]
    search_columns = ["name", "position", "active"]
    base_order = ("sort_order", "asc")
    description_columns = {
        "position": _l("Jabatan, e.g. Kepala Desa, Sekretaris Desa, Kaur Keuangan."),
        "nip": _l("For civil servants (18 digits)."),
        "nipd": _l("Nomor induk perangkat desa, for the others."),
        "resident": _l("Optional: the official's own record in the register."),
    }
    validators_columns = {"nip": [Optional(), _digits(18)]}
    add_form_extra_fields = edit_form_extra_fields = {
        "active": checkbox_field(_l("Active"), default=True),
        "is_village_head": checkbox_field(_l("Village head"), _l("Signs letters in his or her own name."),
                                     validators=[one_village_head]),
        "may_sign_on_behalf": checkbox_field(_l("May sign a.n. (on behalf of) the village head"),
                                        _l("Usually the Sekretaris Desa.")),
        "may_sign_under_authority": checkbox_field(_l("May sign u.b. (under authority)")),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "resident": [["basic_status_id", FilterEqual, STATUS_ALIVE]]}


# --- the PIN page shared with app.portal.admin --------------------------------------------

def single_item(item):
    """The single row an action was called on (404 when missing or when several were sent)."""
    if isinstance(item, list):
        item = item[0] if len(item) == 1 else None
    if item is None:
        abort(404)
    return item


def render_pin_page(view, resident, pin, *, reset):
    """The page that shows a new PIN once, with the "Print PIN slip" form.

    The response is never cached; the PIN is only in this response and in the slip the
    operator prints from it (posted back to ``PortalPinSlipView``, which checks it again).
    """
    page = view.render_template("admin/portal_pin.html", resident=resident, pin=pin, reset=reset,
                                back_url=url_for("ResidentView.show", pk=resident.id))
    return page, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}
