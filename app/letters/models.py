"""Letter models (DOMAIN.md §5, GLOSSARY.md).

A :class:`LetterType` is data (fields, requirements, numbering, template). A resident's
:class:`LetterRequest` moves through :class:`LetterStatus` only through
:func:`app.letters.workflow.transition`, which appends a :class:`LetterRequestHistory` row.
Printing archives an :class:`IssuedLetter` with its number and PDF, linked by foreign key.
"""
from enum import IntEnum

from app.core.i18n import lazy_gettext as _l
from sqlalchemy import (JSON, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer,
                        String, Table, Text, UniqueConstraint)
from sqlalchemy.orm import relationship

from app.core.models import TimestampMixin, utcnow
from app.extensions import db


class LetterStatus(IntEnum):
    """Request statuses, numbered as OpenSID and reference/letter_request_status.csv do."""

    INCOMPLETE = 0          #: Belum Lengkap: returned to the resident with a reason
    CHECKING = 1            #: Sedang Diperiksa: submitted, being checked
    AWAITING_SIGNATURE = 2  #: Menunggu Tandatangan: printed, waiting for the Kepala Desa
    READY = 3               #: Siap Diambil: signed, ready for pick-up
    COLLECTED = 4           #: Sudah Diambil
    CANCELLED = 5           #: Dibatalkan

    @property
    def label(self):
        """Translated short label, e.g. "Sedang Diperiksa"."""
        return STATUS_LABELS[self]


STATUS_LABELS = {
    LetterStatus.INCOMPLETE: _l("Incomplete"),
    LetterStatus.CHECKING: _l("Being checked"),
    LetterStatus.AWAITING_SIGNATURE: _l("Awaiting signature"),
    LetterStatus.READY: _l("Ready for pick-up"),
    LetterStatus.COLLECTED: _l("Collected"),
    LetterStatus.CANCELLED: _l("Cancelled"),
}


class Requirement(db.Model):
    """Syarat surat: a kind of document a letter type requires (reference/requirement_document.csv)."""

    __tablename__ = "requirement"
    id = Column(Integer, primary_key=True)
    name = Column(String(250), nullable=False, unique=True)

    def __str__(self):
        return self.name


letter_type_requirement = Table(
    "letter_type_requirement", db.Model.metadata,
    Column("letter_type_id", Integer, ForeignKey("letter_type.id", ondelete="CASCADE"), primary_key=True),
    Column("requirement_id", Integer, ForeignKey("requirement.id", ondelete="RESTRICT"), primary_key=True),
)


class LetterType(TimestampMixin, db.Model):
    """Jenis surat, described as data (STYLE.md habit 5).

    ``fields`` is a list of ``{"key", "label", "kind", "required", "options", "help"}`` dicts,
    ``kind`` one of text, textarea, number, date, select; validated by
    :func:`app.letters.fields.validate_schema` whenever it is saved.
    """

    __tablename__ = "letter_type"
    id = Column(Integer, primary_key=True)
    #: Stable slug, e.g. "domisili".
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(150), nullable=False)
    #: Kode klasifikasi (Permendagri 83/2022 or the older 470/471/...), editable.
    classification_code = Column(String(30), nullable=False)
    #: Empty = the default pattern (DOMAIN.md §5); placeholders in app.letters.numbering.
    number_pattern = Column(String(160))
    #: "type": one sequence per letter type (default); "all": one for all letters.
    sequence_scope = Column(String(5), nullable=False, default="type")
    validity_amount = Column(Integer, nullable=False, default=1)
    #: "day" or "month".
    validity_unit = Column(String(5), nullable=False, default="month")
    #: "F4" (215 x 330 mm, the village default) or "A4".
    paper = Column(String(2), nullable=False, default="F4")
    #: False for letters about someone other than the requester (birth, death).
    about_requester = Column(Boolean, nullable=False, default=True)
    #: Offered in Layanan Mandiri (only when about_requester).
    self_service = Column(Boolean, nullable=False, default=False)
    active = Column(Boolean, nullable=False, default=True)
    fields = Column(JSON, nullable=False, default=list)
    #: The type's own paragraph printed after the identity block (plain text, may use {field}).
    body = Column(Text, nullable=False, default="")
    sort_order = Column(Integer, nullable=False, default=0)
    requirements = relationship("Requirement", secondary=letter_type_requirement, order_by="Requirement.id",
                                lazy="selectin")

    def __str__(self):
        return self.name


class ResidentDocument(TimestampMixin, db.Model):
    """Dokumen warga: a file a resident uploaded, stored under a random name outside the web root."""

    __tablename__ = "resident_document"
    id = Column(Integer, primary_key=True)
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="CASCADE"), nullable=False, index=True)
    resident = relationship("Resident")
    #: What the document is, when the resident said so.
    requirement_id = Column(Integer, ForeignKey("requirement.id", ondelete="SET NULL"))
    requirement = relationship("Requirement")
    title = Column(String(120), nullable=False)
    #: Random file name inside UPLOAD_FOLDER/documents (never the uploaded name).
    stored_name = Column(String(80), nullable=False, unique=True)
    #: Decided from the content: image/jpeg, image/png or application/pdf.
    content_type = Column(String(40), nullable=False)
    #: Size of the stored file, in bytes.
    size_bytes = Column(Integer, nullable=False)

    def __str__(self):
        return self.title


class LetterRequest(TimestampMixin, db.Model):
    """Permohonan surat. ``status`` is written only by :func:`app.letters.workflow.transition`."""

    __tablename__ = "letter_request"
    __table_args__ = (Index("ix_letter_request_status_created", "status", "created_at"),)
    id = Column(Integer, primary_key=True)
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="RESTRICT"), nullable=False, index=True)
    resident = relationship("Resident")
    letter_type_id = Column(Integer, ForeignKey("letter_type.id", ondelete="RESTRICT"), nullable=False, index=True)
    letter_type = relationship("LetterType", lazy="joined")
    status = Column(Integer, nullable=False, default=LetterStatus.CHECKING)
    purpose = Column(Text, nullable=False, default="")
    #: Keterangan tambahan for the operator.
    note = Column(Text, nullable=False, default="")
    #: Normalised to +62... (app.core.validators.normalize_phone).
    phone = Column(String(20), nullable=False, default="")
    field_values = Column(JSON, nullable=False, default=dict)
    #: The last reason given when the request was returned or cancelled by the office.
    office_reason = Column(Text)
    #: "portal" (the resident asked) or "desk" (made by an operator at the office).
    origin = Column(String(6), nullable=False, default="portal")
    #: One-time token from the wizard form: a double submit creates one request.
    submit_token = Column(String(64), unique=True)
    issued_letter_id = Column(Integer, ForeignKey("issued_letter.id", ondelete="RESTRICT"), unique=True)
    issued_letter = relationship("IssuedLetter", foreign_keys=[issued_letter_id])
    documents = relationship("LetterRequestDocument", cascade="all, delete-orphan", lazy="selectin",
                             order_by="LetterRequestDocument.requirement_id")
    history = relationship("LetterRequestHistory", cascade="all, delete-orphan", lazy="select",
                           order_by="LetterRequestHistory.id")

    @property
    def status_enum(self):
        return LetterStatus(self.status)


class LetterRequestDocument(db.Model):
    """A document attached to a request for one requirement (several per requirement allowed)."""

    __tablename__ = "letter_request_document"
    __table_args__ = (UniqueConstraint("request_id", "requirement_id", "document_id", name="uq_request_doc"),)
    id = Column(Integer, primary_key=True)
    request_id = Column(Integer, ForeignKey("letter_request.id", ondelete="CASCADE"), nullable=False, index=True)
    requirement_id = Column(Integer, ForeignKey("requirement.id", ondelete="RESTRICT"), nullable=False)
    requirement = relationship("Requirement", lazy="joined")
    document_id = Column(Integer, ForeignKey("resident_document.id", ondelete="RESTRICT"), nullable=False, index=True)
    document = relationship("ResidentDocument", lazy="joined")


class LetterRequestHistory(db.Model):
    """One status change: who, when, from, to, and the note (STYLE.md habit 4)."""

    __tablename__ = "letter_request_history"
    id = Column(Integer, primary_key=True)
    request_id = Column(Integer, ForeignKey("letter_request.id", ondelete="CASCADE"), nullable=False, index=True)
    action = Column(String(20), nullable=False)
    from_status = Column(Integer)
    to_status = Column(Integer, nullable=False)
    actor_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    actor_user = relationship("User")
    actor_resident_id = Column(Integer, ForeignKey("resident.id", ondelete="SET NULL"))
    note = Column(Text, nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class LetterSequence(db.Model):
    """The last number used per scope and year; bumped under a row lock (app.letters.numbering)."""

    __tablename__ = "letter_sequence"
    #: "type:<letter type id>" or "all".
    scope = Column(String(40), primary_key=True)
    year = Column(Integer, primary_key=True)
    last_value = Column(Integer, nullable=False, default=0)


class IssuedLetter(TimestampMixin, db.Model):
    """Arsip surat / Buku Agenda: every issued letter, numbered once and never reused."""

    __tablename__ = "issued_letter"
    __table_args__ = (UniqueConstraint("scope", "year", "sequence", name="uq_issued_letter_sequence"),)
    id = Column(Integer, primary_key=True)
    letter_type_id = Column(Integer, ForeignKey("letter_type.id", ondelete="RESTRICT"), nullable=False, index=True)
    letter_type = relationship("LetterType", lazy="joined")
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="RESTRICT"), nullable=False, index=True)
    resident = relationship("Resident")
    letter_number = Column(String(120), nullable=False, unique=True)
    scope = Column(String(40), nullable=False)
    year = Column(Integer, nullable=False)
    sequence = Column(Integer, nullable=False)
    issued_on = Column(Date, nullable=False)
    valid_until = Column(Date)
    #: Who signs: the Kepala Desa, or an official signing a.n. / u.b.
    signatory_id = Column(Integer, ForeignKey("official.id", ondelete="RESTRICT"))
    signatory = relationship("Official", foreign_keys=[signatory_id])
    #: "head", "an" (atas nama) or "ub" (untuk beliau).
    signing_mode = Column(String(4), nullable=False, default="head")
    purpose = Column(Text, nullable=False, default="")
    field_values = Column(JSON, nullable=False, default=dict)
    #: The PDF made at printing, in UPLOAD_FOLDER/letters; served identically ever after.
    pdf_file = Column(String(80), nullable=False)
    #: Unguessable token in the QR code's verification URL.
    verify_token = Column(String(64), nullable=False, unique=True)
    revoked_at = Column(DateTime(timezone=True))
    revoked_reason = Column(Text)
    created_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))

    def __str__(self):
        return self.letter_number
