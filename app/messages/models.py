"""Conversations between a resident and the office (GLOSSARY: Kotak pesan, Laporan).

A :class:`Message` is the conversation (kind, subject, status); its :class:`MessagePost` rows
are what each side wrote, oldest first. Text is stored exactly as written and escaped wherever
it is shown.
"""
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from app.core.models import TimestampMixin, utcnow
from app.extensions import db

KINDS = ("message", "report")
STATUSES = ("open", "answered", "closed")


class Message(TimestampMixin, db.Model):
    """One conversation started by a resident."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_status_activity", "status", "last_activity_at"),
                      Index("ix_message_resident_activity", "resident_id", "last_activity_at"))
    id = Column(Integer, primary_key=True)
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="CASCADE"), nullable=False)
    resident = relationship("Resident")
    #: "message" (pesan) or "report" (laporan / pengaduan).
    kind = Column(String(7), nullable=False, default="message")
    subject = Column(String(150), nullable=False)
    #: "open" (waiting for the office), "answered", "closed".
    status = Column(String(8), nullable=False, default="open")
    last_activity_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    #: First time an operator opened it (read for the whole office), and who.
    office_read_at = Column(DateTime(timezone=True))
    office_read_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    office_read_by = relationship("User", foreign_keys=[office_read_by_id])
    closed_at = Column(DateTime(timezone=True))
    closed_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    #: One-time token of the form that created it: a double submit creates one message.
    submit_token = Column(String(64), unique=True)
    posts = relationship("MessagePost", cascade="all, delete-orphan", order_by="MessagePost.id",
                         back_populates="message")

    def __str__(self):
        return self.subject


class MessagePost(db.Model):
    """What one side wrote in a conversation."""

    __tablename__ = "message_post"
    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("message.id", ondelete="CASCADE"), nullable=False, index=True)
    message = relationship("Message", back_populates="posts")
    #: "resident" or "office".
    author = Column(String(8), nullable=False)
    author_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    author_user = relationship("User")
    body = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    #: For office posts: when the resident saw it (unread count on the portal).
    read_by_resident_at = Column(DateTime(timezone=True))
    photos = relationship("MessagePhoto", cascade="all, delete-orphan", order_by="MessagePhoto.id")


class MessagePhoto(db.Model):
    """A photo attached to a post (same checks as resident documents), stored privately."""

    __tablename__ = "message_photo"
    id = Column(Integer, primary_key=True)
    post_id = Column(Integer, ForeignKey("message_post.id", ondelete="CASCADE"), nullable=False, index=True)
    stored_name = Column(String(80), nullable=False, unique=True)
    content_type = Column(String(40), nullable=False)
    size_bytes = Column(Integer, nullable=False)
