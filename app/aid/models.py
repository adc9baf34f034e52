"""Aid programmes and recipients (DOMAIN.md §6, GLOSSARY: Program bantuan, Peserta bantuan)."""
from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import relationship

from app.core.models import TimestampMixin
from app.extensions import db

TARGETS = ("person", "family", "household")
FUNDING_SOURCES = ("apbn", "apbd_province", "apbd_regency", "dana_desa", "other")


class AidProgram(TimestampMixin, db.Model):
    """A programme such as PKH, BPNT, PIP or BLT Dana Desa."""

    __tablename__ = "aid_program"
    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    #: "person" (recipient is a resident), "family" or "household" (recipient is a KK).
    target = Column(String(9), nullable=False)
    #: One of FUNDING_SOURCES.
    funding_source = Column(String(13), nullable=False)
    start_date = Column(Date)
    end_date = Column(Date)
    description = Column(Text, nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)
    recipients = relationship("AidRecipient", back_populates="program", cascade="all, delete-orphan",
                              lazy="dynamic")

    def __str__(self):
        return self.name


class AidRecipient(TimestampMixin, db.Model):
    """Peserta: a resident (person target) or a KK (family/household target) in a programme.

    The aid belongs to the KK, not to its head: when the head dies or moves, the family keeps
    it until an operator ends it (DOMAIN.md §6).
    """

    __tablename__ = "aid_recipient"
    __table_args__ = (
        UniqueConstraint("program_id", "resident_id", name="uq_aid_recipient_resident"),
        UniqueConstraint("program_id", "family_id", name="uq_aid_recipient_family"),
        CheckConstraint("(resident_id IS NULL) <> (family_id IS NULL)", name="ck_aid_recipient_one_target"),
    )
    id = Column(Integer, primary_key=True)
    program_id = Column(Integer, ForeignKey("aid_program.id", ondelete="CASCADE"), nullable=False, index=True)
    program = relationship("AidProgram", back_populates="recipients")
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="CASCADE"), index=True)
    resident = relationship("Resident")
    family_id = Column(Integer, ForeignKey("family.id", ondelete="CASCADE"), index=True)
    family = relationship("Family")
    card_number = Column(String(40), nullable=False, default="")
    #: Identity as printed on the card (may differ from the register).
    card_name = Column(String(100), nullable=False, default="")
    card_nik = Column(String(16), nullable=False, default="")
    card_address = Column(String(250), nullable=False, default="")
    #: Set by an operator to end the aid for this recipient.
    ended_on = Column(Date)
