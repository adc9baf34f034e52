"""Model mixins shared by every feature package."""
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime


def utcnow():
    """Current time as an aware UTC ``datetime`` (stored as UTC everywhere)."""
    return datetime.now(timezone.utc)


class TimestampMixin:
    """``created_at`` / ``updated_at`` columns, in UTC, set by SQLAlchemy."""

    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
