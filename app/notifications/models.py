"""Notification rows. The text is built at display time from ``kind`` and ``params`` so it
follows the reader's language."""
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String

from app.core.models import utcnow
from app.extensions import db


class Notification(db.Model):
    """One notification for one resident (GLOSSARY: Notifikasi)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_resident_read", "resident_id", "read_at"),)
    id = Column(Integer, primary_key=True)
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="CASCADE"), nullable=False)
    #: A key of app.notifications.services.KINDS, e.g. "letter_status".
    kind = Column(String(40), nullable=False)
    #: Plain values for the message, e.g. {"status": 3, "letter_type": "Surat Keterangan Domisili"}.
    params = Column(JSON, nullable=False, default=dict)
    #: Portal path to open, e.g. "/layanan-mandiri/surat/12".
    link = Column(String(200))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    read_at = Column(DateTime(timezone=True))
