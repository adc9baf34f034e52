"""National code tables (agama, pendidikan, pekerjaan, ...) as small reference tables.

The ids are the national numeric codes from the Dukcapil tables shipped in ``app/core/data``
(copied from ``shared/reference``); keeping them lets villages import existing data. The rows
are written by the first migration and never edited in the UI.
"""
import csv
from pathlib import Path

from sqlalchemy import Column, Integer, String

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
