"""Register services: plain values for pages and PDFs, and register look-ups.

Templates and PDFs get plain dicts of strings from here, never ORM objects (STYLE.md habit 8).
"""
import functools
import logging
import os
from datetime import date

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from app.core.codes import (BasicStatus, BloodType, Citizenship, Education, FamilyRelationship,
                            MaritalStatus, Occupation, Religion, Sex, code_name)
from app.core.formatting import long_date, path_for
from app.core.nik import mask_nik
from app.core.pdf import image_data_uri
from app.extensions import db
from app.residents.models import Village

log = logging.getLogger(__name__)

DEFAULT_LOGO = "img/balai-logo.png"


def get_village():
    """Return the :class:`Village` row, or None before the village is set up."""
    return db.session.scalar(select(Village).order_by(Village.id).limit(1))


def village_values(village=None, *, with_logo=False):
    """The village profile as plain strings.

    Args:
        village: a :class:`Village` (default: the installed one); may be None.
        with_logo: also return the logo as a ``data:`` URI (for PDFs), else ``logo_url``.

    Returns:
        dict with name, code, kecamatan, kabupaten, province, address, phone, email,
        service_hours, account_requirements (list of str), logo_url, logo (data URI or None).
    """
    village = village or get_village()
    if village is None:
        return {"name": "Balai", "code": "", "kecamatan": "", "kabupaten": "", "province": "",
                "address": "", "phone": "", "phone_tel": "", "email": "", "service_hours": "",
                "account_requirements": [], "logo_url": path_for("static", filename=DEFAULT_LOGO),
                "logo": None}
    values = {
        "name": village.name, "code": village.code, "kecamatan": village.kecamatan_name,
        "kabupaten": village.regency_name, "province": village.province_name,
        "address": village.address or "", "phone": village.phone or "", "email": village.email or "",
        "phone_tel": _tel(village.phone),
        "service_hours": village.service_hours or "",
        "account_requirements": [line.strip() for line in (village.account_requirements or "").splitlines()
                                 if line.strip()],
        "logo_url": path_for("static", filename=DEFAULT_LOGO),
        "logo": None,
    }
    if with_logo:
        values["logo"] = logo_data_uri(_logo_path(village))
    return values


def logo_data_uri(path, max_px=300):
    """The village logo at ``path`` as a ``data:`` URI for PDFs (None when unusable).

    Re-encoding the logo took about 13 ms of every biodata PDF (bench/README.md): the result
    is kept per process, keyed by the file's path, size and modification time, so a new
    logo is picked up at once.
    """
    try:
        stat = os.stat(path)
    except (OSError, TypeError, ValueError):
        return image_data_uri(path, max_px=max_px)  # None, with image_data_uri's warning
    return _cached_image_data_uri(os.fspath(path), stat.st_size, stat.st_mtime_ns, max_px)


@functools.lru_cache(maxsize=8)
def _cached_image_data_uri(path, _size, _mtime_ns, max_px):
    return image_data_uri(path, max_px=max_px)


def _tel(phone):
    """A ``tel:`` target (+62...) for a phone number as written, or the digits as a fallback."""
    from app.core.validators import normalize_phone
    value, _error = normalize_phone(phone)
    return value or "".join(c for c in (phone or "") if c.isdigit() or c == "+")


def _logo_path(village):
    """Absolute path of the village logo (uploaded, else the bundled emblem)."""
    if village is not None and village.logo:
        path = os.path.join(current_app.config["UPLOAD_FOLDER"], os.path.basename(village.logo))
        if os.path.isfile(path):
            return path
    return os.path.join(current_app.static_folder, DEFAULT_LOGO)


def area_values(area):
    """``{"rt": str, "rw": str, "dusun": str}`` for an area (empty strings where missing)."""
    path = area.path() if area is not None else {}
    return {key: path.get(key) or "" for key in ("rt", "rw", "dusun")}


def resident_values(resident):
    """A resident's biodata as plain strings (dates in the current locale).

    Returns:
        dict with nik, name, birth_place, birth_date, sex, religion, education, occupation,
        marital_status, family_relationship, blood_type, citizenship, father_name,
        mother_name, kk_number, address, rt, rw, dusun, phone, email, basic_status.
    """
    family = resident.family
    area = area_values(family.area if family else None)
    return {
        "nik": resident.nik, "name": resident.name, "birth_place": resident.birth_place or "",
        "birth_date": long_date(resident.birth_date), "sex": code_name(Sex, resident.sex_id),
        "religion": code_name(Religion, resident.religion_id),
        "education": code_name(Education, resident.education_id),
        "occupation": code_name(Occupation, resident.occupation_id),
        "marital_status": code_name(MaritalStatus, resident.marital_status_id),
        "family_relationship": code_name(FamilyRelationship, resident.family_relationship_id),
        "blood_type": code_name(BloodType, resident.blood_type_id),
        "citizenship": code_name(Citizenship, resident.citizenship_id),
        "father_name": resident.father_name or "", "mother_name": resident.mother_name or "",
        "kk_number": family.kk_number if family else "", "address": family.address if family else "",
        **area, "phone": resident.phone or "", "email": resident.email or "",
        "basic_status": code_name(BasicStatus, resident.basic_status_id),
    }


def family_values(family):
    """A family card as plain values: header fields and the active members in KK order.

    Returns:
        dict with kk_number, head_name, address, rt, rw, dusun and ``members`` (list of
        :func:`resident_values` dicts, head first: DOMAIN.md §1).
    """
    members = [resident_values(m) for m in family.active_members()]
    head = family.head
    return {"kk_number": family.kk_number, "head_name": head.name if head else "",
            "address": family.address or "", **area_values(family.area), "members": members}


def _pdf_common(village=None):
    village = village or get_village()
    return {"village": village_values(village, with_logo=True), "paper": "F4",
            "printed_on": long_date(date.today())}


def biodata_context(resident):
    """Context for ``pdf/biodata.html`` (see its header comment for the shape)."""
    values = resident_values(resident)
    values["photo"] = image_data_uri(photo_path(resident), max_px=400) if resident.photo else None
    return {**_pdf_common(), "resident": values}


def family_card_context(family):
    """Context for ``pdf/family_card.html``."""
    return {**_pdf_common(), "family": family_values(family)}


def pin_slip_context(resident, pin, portal_url):
    """Context for ``pdf/pin_slip.html``: the PIN appears only in this printout."""
    return {**_pdf_common(), "paper": "A4",
            "slip": {"name": resident.name, "masked_nik": mask_nik(resident.nik), "pin": pin,
                     "portal_url": portal_url}}


def photo_path(resident):
    """Absolute path of the resident's photo file, or None when there is none."""
    if not resident.photo:
        return None
    path = os.path.join(current_app.config["UPLOAD_FOLDER"], "photos", os.path.basename(resident.photo))
    return path if os.path.isfile(path) else None


#: The register tables a bulk load fills (demo village, import).
BULK_TABLES = ("area", "family", "resident", "portal_account")


def refresh_statistics():
    """Let the database planner see the new rows after a bulk load (demo village, import).

    PostgreSQL plans from statistics that autovacuum refreshes only after a while, and reads
    an index alone ("index-only scan", how a deep page of the resident list is found) only
    for table pages marked all-visible by VACUUM. Right after 25,000 residents are loaded
    neither is true, and the middle page of the resident list took 3x longer (bench/README.md).
    ``VACUUM ANALYZE`` of the register tables takes about 0.2 s at 25,000 residents. It
    cannot run inside a transaction: call this after the commit. Never raises (a failure is
    logged: the rows are saved, pages are only slower until autovacuum runs). SQLite: nothing to do.
    """
    engine = db.session.get_bind()
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE " + ", ".join(BULK_TABLES)))
    except SQLAlchemyError as exc:  # only slower pages until autovacuum runs: the data is saved
        log.warning("VACUUM ANALYZE after a bulk load failed: %s", type(exc).__name__)
