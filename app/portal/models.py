"""Portal accounts and the login-failure counter (DOMAIN.md §4)."""
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from app.core.models import TimestampMixin
from app.extensions import db


class PortalAccount(TimestampMixin, db.Model):
    """A resident's Layanan Mandiri account. Only a slow salted hash of the PIN is stored."""

    __tablename__ = "portal_account"
    id = Column(Integer, primary_key=True)
    resident_id = Column(Integer, ForeignKey("resident.id", ondelete="CASCADE"), nullable=False, unique=True)
    resident = relationship("Resident", backref="portal_account", lazy="joined")
    #: Argon2id hash (argon2-cffi), never the PIN itself.
    pin_hash = Column(String(200), nullable=False)
    #: Set at creation and after every reset: only "change PIN" and "log out" are reachable.
    must_change_pin = Column(Boolean, nullable=False, default=True)
    #: Disabled accounts cannot log in (same generic message as a wrong PIN).
    active = Column(Boolean, nullable=False, default=True)
    #: Bumped at logout and PIN reset; a portal session remembers the epoch it started in and
    #: is refused once it differs, so logging out or a reset ends every open session.
    session_epoch = Column(Integer, nullable=False, default=0)
    last_login_at = Column(DateTime(timezone=True))
    pin_changed_at = Column(DateTime(timezone=True))
    created_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_by = relationship("User", foreign_keys=[created_by_id])
    pin_reset_at = Column(DateTime(timezone=True))
    pin_reset_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    pin_reset_by = relationship("User", foreign_keys=[pin_reset_by_id])

    def __str__(self):
        return str(self.resident)


class LoginThrottle(db.Model):
    """Consecutive failed logins per NIK, for known and unknown NIKs alike.

    The key is an HMAC of the NIK (never the NIK itself), so the table does not become a list of
    probed NIKs, and an attacker cannot tell a locked existing NIK from a locked unknown one.
    Server-side, so deleting the cookie does not reset it (STYLE.md traps).
    """

    __tablename__ = "login_throttle"
    id = Column(Integer, primary_key=True)
    #: hex HMAC-SHA256 of the NIK with the app's SECRET_KEY.
    key = Column(String(64), nullable=False, unique=True)
    #: Failures since the last success or the end of the last lock.
    failures = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime(timezone=True))
    updated_at = Column(DateTime(timezone=True))
