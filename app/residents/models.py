"""Register models: Village, Area, Family, Resident, Official (DOMAIN.md §1, GLOSSARY.md)."""
from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint, select, true as sa_true)
from sqlalchemy.orm import relationship

from app.core.codes import SHDK_HEAD, STATUS_ALIVE
from app.core.models import TimestampMixin
from app.extensions import db


class Village(TimestampMixin, db.Model):
    """Identitas desa: one row, the village this installation serves.

    Region codes are Kemendagri codes (DOMAIN.md §3): ``code`` is the 10-digit kode desa without
    dots (``3309012001``) printed in letter numbers.
    """

    __tablename__ = "village"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    #: 10-digit kode desa, e.g. "3309012001".
    code = Column(String(10), nullable=False, unique=True)
    kecamatan_name = Column(String(100), nullable=False)
    kecamatan_code = Column(String(6), nullable=False)
    regency_name = Column(String(100), nullable=False)
    regency_code = Column(String(4), nullable=False)
    province_name = Column(String(100), nullable=False)
    province_code = Column(String(2), nullable=False)
    address = Column(String(250), nullable=False, default="")
    postal_code = Column(String(5))
    phone = Column(String(20))
    email = Column(String(120))
    #: Logo file name inside UPLOAD_FOLDER; empty means the bundled default emblem.
    logo = Column(String(200))
    #: Free text shown on the portal, e.g. "Senin-Jumat 08.00-15.00 WIB".
    service_hours = Column(Text, nullable=False, default="")
    #: What a resident brings to get a portal account, one item per line (DOMAIN.md §4).
    account_requirements = Column(Text, nullable=False, default="")
    #: True: the Kepala Desa marks printed letters as signed in Balai. False: the operator does.
    letter_signing_step = Column(Boolean, nullable=False, default=True, server_default=sa_true())

    def __str__(self):
        return self.name


class Area(db.Model):
    """Wilayah: a dusun, RW or RT, as a tree (levels optional: DOMAIN.md §1)."""

    __tablename__ = "area"
    __table_args__ = (
        UniqueConstraint("parent_id", "level", "name", name="uq_area_parent_level_name"),
        CheckConstraint("level IN ('dusun', 'rw', 'rt')", name="ck_area_level"),
    )
    LEVELS = ("dusun", "rw", "rt")

    id = Column(Integer, primary_key=True)
    #: "dusun", "rw" or "rt".
    level = Column(String(5), nullable=False)
    #: Dusun name ("Krajan") or the RW/RT number as written ("001").
    name = Column(String(60), nullable=False)
    parent_id = Column(Integer, ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    parent = relationship("Area", remote_side=[id], backref="children", lazy="joined", join_depth=2)

    def path(self):
        """Return ``{"dusun": str|None, "rw": str|None, "rt": str|None}`` for this area."""
        parts = {"dusun": None, "rw": None, "rt": None}
        node = self
        while node is not None:
            parts[node.level] = node.name
            node = node.parent
        return parts

    def __str__(self):
        p = self.path()
        labels = []
        if p["rt"]:
            labels.append(f"RT {p['rt']}")
        if p["rw"]:
            labels.append(f"RW {p['rw']}")
        if p["dusun"]:
            labels.append(f"Dusun {p['dusun']}")
        return " / ".join(labels)


class Family(TimestampMixin, db.Model):
    """Kartu Keluarga (KK). The head is the member with SHDK 1 (at most one, by index)."""

    __tablename__ = "family"
    id = Column(Integer, primary_key=True)
    #: No. KK, 16 digits, kept as a string (temporary numbers start with 0: DOMAIN.md §2).
    kk_number = Column(String(16), nullable=False, unique=True)
    address = Column(String(250), nullable=False, default="")
    #: The family's RT (or the lowest level the village has).
    area_id = Column(Integer, ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    area = relationship("Area", lazy="joined")
    members = relationship("Resident", back_populates="family", lazy="select")
    head = relationship(
        "Resident",
        primaryjoin=f"and_(Family.id == Resident.family_id, Resident.family_relationship_id == {SHDK_HEAD})",
        viewonly=True, uselist=False, lazy="select",
    )

    def active_members(self):
        """Members to print on the KK: alive and still resident, ordered as DOMAIN.md §1.

        Returns:
            list of :class:`Resident` (head, spouse, children by birth date, others).
        """
        return db.session.scalars(
            select(Resident)
            .where(Resident.family_id == self.id, Resident.basic_status_id == STATUS_ALIVE)
            .order_by(Resident.family_relationship_id, Resident.birth_date, Resident.id)
        ).all()

    def __str__(self):
        return self.kk_number


class Resident(TimestampMixin, db.Model):
    """Penduduk: one person registered in the village (DOMAIN.md §1)."""

    __tablename__ = "resident"
    __table_args__ = (
        # Exactly one head per KK (the other half, "at least one", is checked by the services).
        Index("uq_resident_family_head", "family_id", unique=True,
              sqlite_where=Column("family_relationship_id") == SHDK_HEAD,
              postgresql_where=Column("family_relationship_id") == SHDK_HEAD),
        # (name, id): the list's order, so PostgreSQL finds a deep page from the index alone.
        Index("ix_resident_name", "name", "id"),
        # Also ix_resident_name_lower on lower(name), for name searches (app/core/search.py):
        # created by migration 0004, since its collation differs between SQLite and PostgreSQL.
        Index("ix_resident_status_family", "basic_status_id", "family_id"),
    )
    id = Column(Integer, primary_key=True)
    #: 16 digits as a string (leading zeros: temporary NIKs start with 0).
    nik = Column(String(16), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    sex_id = Column(Integer, ForeignKey("ref_sex.id"), nullable=False)
    sex = relationship("Sex")
    birth_place = Column(String(100), nullable=False, default="")
    birth_date = Column(Date, nullable=False)
    religion_id = Column(Integer, ForeignKey("ref_religion.id"), nullable=False)
    religion = relationship("Religion")
    education_id = Column(Integer, ForeignKey("ref_education.id"))
    education = relationship("Education")
    occupation_id = Column(Integer, ForeignKey("ref_occupation.id"))
    occupation = relationship("Occupation")
    marital_status_id = Column(Integer, ForeignKey("ref_marital_status.id"), nullable=False)
    marital_status = relationship("MaritalStatus")
    family_relationship_id = Column(Integer, ForeignKey("ref_family_relationship.id"))
    family_relationship = relationship("FamilyRelationship")
    blood_type_id = Column(Integer, ForeignKey("ref_blood_type.id"))
    blood_type = relationship("BloodType")
    citizenship_id = Column(Integer, ForeignKey("ref_citizenship.id"), nullable=False, default=1)
    citizenship = relationship("Citizenship")
    basic_status_id = Column(Integer, ForeignKey("ref_basic_status.id"), nullable=False, default=STATUS_ALIVE)
    basic_status = relationship("BasicStatus")
    father_name = Column(String(100), nullable=False, default="")
    mother_name = Column(String(100), nullable=False, default="")
    phone = Column(String(20))
    email = Column(String(120))
    #: Photo file name inside UPLOAD_FOLDER/photos; served only through an ownership check.
    photo = Column(String(80))
    family_id = Column(Integer, ForeignKey("family.id", ondelete="SET NULL"), index=True)
    family = relationship("Family", back_populates="members", lazy="select")

    @property
    def is_alive(self):
        """True when the basic status is HIDUP (only they may use the portal: DOMAIN.md §1)."""
        return self.basic_status_id == STATUS_ALIVE

    def __str__(self):
        return self.name


class Official(TimestampMixin, db.Model):
    """Pamong / perangkat desa, with who may sign letters (DOMAIN.md §1 and §5)."""

    __tablename__ = "official"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    #: Jabatan, e.g. "Kepala Desa", "Sekretaris Desa", "Kaur Keuangan".
    position = Column(String(100), nullable=False)
    #: NIP for civil servants.
    nip = Column(String(18))
    #: NIPD (nomor induk perangkat desa) for the others.
    nipd = Column(String(30))
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="SET NULL"))
    resident = relationship("Resident")
    active = Column(Boolean, nullable=False, default=True)
    #: The Kepala Desa: signs letters in his or her own name.
    is_village_head = Column(Boolean, nullable=False, default=False)
    #: May sign "a.n. Kepala Desa" (usually the Sekretaris Desa).
    may_sign_on_behalf = Column(Boolean, nullable=False, default=False)
    #: May sign "u.b." under the one who signs a.n.
    may_sign_under_authority = Column(Boolean, nullable=False, default=False)
    sort_order = Column(Integer, nullable=False, default=0)

    @property
    def staff_number(self):
        """The number printed under the signature: NIP if set, else NIPD, else ""."""
        return self.nip or self.nipd or ""

    def __str__(self):
        return f"{self.name} ({self.position})"
