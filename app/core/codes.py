"""National code tables (agama, pendidikan, pekerjaan, ...) as small reference tables.

The ids are the national numeric codes from the Dukcapil tables shipped in ``app/core/data``
(copied from ``shared/reference``); keeping them lets villages import existing data. The rows
are written by the first migration and never edited in the UI.
"""
import csv
from pathlib import Path

from flask import current_app
from sqlalchemy import Column, Integer, String, select

from app.extensions import db

DATA_DIR = Path(__file__).resolve().parent / "data"


class CodeMixin:
    """A national code: ``id`` is the national number, ``name`` its official Indonesian name."""

    #: National code, not an autoincrement.
    id = Column(Integer, primary_key=True, autoincrement=False)
    name = Column(String(120), nullable=False)

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<{type(self).__name__} {self.id} {self.name}>"


class Sex(CodeMixin, db.Model):
    """Jenis kelamin: 1 LAKI-LAKI, 2 PEREMPUAN."""

    __tablename__ = "ref_sex"
    csv_file = "sex.csv"


class Religion(CodeMixin, db.Model):
    """Agama."""

    __tablename__ = "ref_religion"
    csv_file = "religion.csv"


class Education(CodeMixin, db.Model):
    """Pendidikan dalam KK (last education as printed on the family card)."""

    __tablename__ = "ref_education"
    csv_file = "education_kk.csv"


class Occupation(CodeMixin, db.Model):
    """Pekerjaan."""

    __tablename__ = "ref_occupation"
    csv_file = "occupation.csv"


class MaritalStatus(CodeMixin, db.Model):
    """Status perkawinan: 1 BELUM KAWIN, 2 KAWIN, 3 CERAI HIDUP, 4 CERAI MATI."""

    __tablename__ = "ref_marital_status"
    csv_file = "marital_status.csv"


class FamilyRelationship(CodeMixin, db.Model):
    """Hubungan dalam keluarga (SHDK). 1 is the head; the id is also the KK print order."""

    __tablename__ = "ref_family_relationship"
    csv_file = "family_relationship.csv"


class BloodType(CodeMixin, db.Model):
    """Golongan darah."""

    __tablename__ = "ref_blood_type"
    csv_file = "blood_type.csv"


class Citizenship(CodeMixin, db.Model):
    """Kewarganegaraan: 1 WNI, 2 WNA, 3 DUA KEWARGANEGARAAN."""

    __tablename__ = "ref_citizenship"
    csv_file = "citizenship.csv"


class BasicStatus(CodeMixin, db.Model):
    """Status dasar: 1 HIDUP, 2 MATI, 3 PINDAH, 4 HILANG, 6 PERGI, 9 TIDAK VALID (no 5)."""

    __tablename__ = "ref_basic_status"
    csv_file = "basic_status.csv"


#: Every code table, in the order the first migration fills them.
CODE_TABLES = (Sex, Religion, Education, Occupation, MaritalStatus, FamilyRelationship,
               BloodType, Citizenship, BasicStatus)

# Codes the domain logic relies on (DOMAIN.md §1).
SEX_MALE, SEX_FEMALE = 1, 2
STATUS_ALIVE, STATUS_DEAD, STATUS_MOVED = 1, 2, 3
SHDK_HEAD = 1
MARITAL_SINGLE = 1


def read_code_rows(csv_file):
    """Read one code table's CSV.

    Args:
        csv_file: file name inside ``app/core/data`` (columns ``code,name_id``).

    Returns:
        list of ``{"id": int, "name": str}`` in file order.
    """
    with open(DATA_DIR / csv_file, encoding="utf-8", newline="") as fh:
        return [{"id": int(row["code"]), "name": row["name_id"].strip()} for row in csv.DictReader(fh)]


def code_choices(model):
    """The rows of a national code table as ``[(id as str, name), ...]``, in code order.

    Read from the database once per process and application (the tables are written by the
    migrations and never edited, see the module docstring), so a form listing them costs no
    query: the register's search form shows seven of them on every list page (issue 6).

    Args:
        model: one of :data:`CODE_TABLES`.
    """
    cache = current_app.extensions.setdefault("balai_code_choices", {})
    if model.__tablename__ not in cache:
        rows = db.session.execute(select(model.id, model.name).order_by(model.id))
        cache[model.__tablename__] = [(str(code), name) for code, name in rows]
    return cache[model.__tablename__]


def code_name(model, code):
    """The name of national ``code`` in table ``model``, without a query ("" for None or unknown).

    Pages and PDFs show a resident's codes by name; reading them here instead of joining the
    nine code tables to every resident keeps the portal's queries small (issue 6).

    Args:
        model: one of :data:`CODE_TABLES`; code: int or None.
    """
    if code is None:
        return ""
    names = current_app.extensions.setdefault("balai_code_names", {})
    if model.__tablename__ not in names:
        names[model.__tablename__] = {int(key): name for key, name in code_choices(model)}
    return names[model.__tablename__].get(code, "")
