"""Portal account services: PINs, login with lockout, PIN change (DOMAIN.md §4).

Plain functions reused by the admin panel, the CLI and the demo builder. They flush but
leave the commit to the caller, except :func:`authenticate`, whose failure counter must be
stored even when the login fails.
"""
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from app.core.i18n import lazy_gettext as _l
from sqlalchemy import select

from app.core.codes import STATUS_ALIVE
from app.core.models import utcnow
from app.core.nik import mask_nik
from app.extensions import db
from app.portal.models import LoginThrottle, PortalAccount
from app.residents.models import Resident

log = logging.getLogger(__name__)

PIN_LENGTH = 6


class PinRuleError(ValueError):
    """A new PIN breaks the rules; ``errors`` lists every broken rule (translatable strings)."""

    def __init__(self, errors):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = list(errors)


def _hasher():
    """The Argon2id hasher with the configured cost (``PIN_HASH_PARAMS``)."""
    return PasswordHasher(**current_app.config["PIN_HASH_PARAMS"])


def hash_pin(pin):
    """Hash a PIN with Argon2id (slow, salted).

    Args:
        pin: the 6-digit PIN as a string.

    Returns:
        str: the encoded hash (algorithm, parameters, salt and digest).
    """
    return _hasher().hash(pin)


def verify_pin(pin_hash, pin):
    """Return True when ``pin`` matches ``pin_hash``; False for a mismatch or a broken hash."""
    try:
        return _hasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def is_weak_pin(pin):
    """True for a repeated digit (000000) or a run up or down (123456, 654321, 890123)."""
    digits = [int(c) for c in pin]
    steps = {(b - a) % 10 for a, b in zip(digits, digits[1:])}
    return len(steps) == 1 and steps <= {0, 1, 9}


def generate_pin():
    """Return a random 6-digit PIN (``secrets``), never a weak one (NIST SP 800-63B)."""
    while True:
        pin = f"{secrets.randbelow(10 ** PIN_LENGTH):0{PIN_LENGTH}d}"
        if not is_weak_pin(pin):
            return pin


def pin_rule_errors(new_pin, confirm_pin, *, current_pin, nik):
    """Check a resident-chosen PIN against every rule of DOMAIN.md §4.

    Args:
        new_pin: the new PIN as typed.
        confirm_pin: the confirmation as typed.
        current_pin: the PIN in force (already verified), which the new one must differ from.
        nik: the resident's NIK (its DDMMYY part is refused).

    Returns:
        list of translatable messages, empty when the PIN is acceptable.
    """
    errors = []
    if not (len(new_pin) == PIN_LENGTH and new_pin.isascii() and new_pin.isdigit()):
        errors.append(_l("The new PIN must be exactly 6 digits."))
        return errors
    if new_pin != confirm_pin:
        errors.append(_l("The confirmation does not match the new PIN."))
    if new_pin == current_pin:
        errors.append(_l("The new PIN must differ from the current PIN."))
    if is_weak_pin(new_pin):
        errors.append(_l("The new PIN is too easy to guess (repeated or consecutive digits)."))
    if nik and len(nik) == 16 and new_pin == nik[6:12]:
        errors.append(_l("The new PIN must not be the birth date in your NIK."))
    return errors


# --- accounts -------------------------------------------------------------------------------

def create_account(resident, actor=None):
    """Give ``resident`` a portal account with a fresh random PIN.

    Args:
        resident: a living :class:`Resident` without an account.
        actor: the FAB user doing it (or None from the CLI).

    Returns:
        tuple ``(PortalAccount, pin)``: the PIN is returned once and never stored.

    Raises:
        ValueError: the resident is not alive or already has an account.
    """
    if resident.basic_status_id != STATUS_ALIVE:
        raise ValueError(str(_l("Only living residents can have a portal account.")))
    if find_account(resident) is not None:
        raise ValueError(str(_l("This resident already has a portal account.")))
    pin = generate_pin()
    account = PortalAccount(resident=resident, pin_hash=hash_pin(pin), must_change_pin=True,
                            created_by_id=getattr(actor, "id", None))
    db.session.add(account)
    db.session.flush()
    log.info("portal account created for %s by user %s", mask_nik(resident.nik), getattr(actor, "id", None))
    return account, pin


def reset_pin(account, actor=None):
    """Replace the PIN with a fresh random one, force a change, end open sessions, unlock.

    Returns:
        str: the new PIN (shown once).
    """
    pin = generate_pin()
    account.pin_hash = hash_pin(pin)
    account.must_change_pin = True
    account.session_epoch += 1
    account.pin_reset_at = utcnow()
    account.pin_reset_by_id = getattr(actor, "id", None)
    throttle = _throttle_row(account.resident.nik)
    if throttle is not None:
        db.session.delete(throttle)
    db.session.flush()
    log.info("portal PIN reset for %s by user %s", mask_nik(account.resident.nik), getattr(actor, "id", None))
    return pin


def set_pin(account, pin, *, must_change=False):
    """Set a known PIN (demo accounts, tests). Returns the account."""
    account.pin_hash = hash_pin(pin)
    account.must_change_pin = must_change
    db.session.flush()
    return account


def change_pin(account, current_pin, new_pin, confirm_pin):
    """Change a resident's own PIN after checking the current one and the rules.

    Returns:
        None. The account gets the new hash, loses ``must_change_pin`` and gets a new session
        epoch (other open sessions end); the caller commits and refreshes its own session.

    Raises:
        PinRuleError: with every problem found (wrong current PIN included); nothing changes.
    """
    errors = []
    if not verify_pin(account.pin_hash, current_pin or ""):
        errors.append(_l("The current PIN is wrong."))
    errors += pin_rule_errors(new_pin or "", confirm_pin or "", current_pin=current_pin,
                              nik=account.resident.nik)
    if errors:
        raise PinRuleError(errors)
    account.pin_hash = hash_pin(new_pin)
    account.must_change_pin = False
    account.pin_changed_at = utcnow()
    account.session_epoch += 1
    db.session.flush()


def find_account(resident):
    """Return the resident's :class:`PortalAccount` or None."""
    return db.session.scalar(select(PortalAccount).where(PortalAccount.resident_id == resident.id))


# --- login and lockout ----------------------------------------------------------------------

@dataclass
class LoginResult:
    """Outcome of :func:`authenticate`.

    ``account`` is set on success; ``locked_seconds`` > 0 when the NIK is locked (whatever the
    PIN); otherwise the login failed with the generic message.
    """

    account: PortalAccount | None = None
    locked_seconds: int = 0


def _nik_key(nik):
    """HMAC-SHA256 of the NIK with SECRET_KEY, hex: the throttle key (no NIK stored)."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"portal-login:" + nik.encode(), hashlib.sha256).hexdigest()


def _throttle_row(nik):
    return db.session.scalar(select(LoginThrottle).where(LoginThrottle.key == _nik_key(nik)))


def _as_aware(value):
    """SQLite returns naive datetimes for timezone columns; treat them as UTC."""
    if value is not None and value.tzinfo is None:
        from datetime import timezone
        return value.replace(tzinfo=timezone.utc)
    return value


def lock_remaining(nik):
    """Seconds the NIK stays locked (0 when it is not locked)."""
    row = _throttle_row(nik)
    until = _as_aware(row.locked_until) if row else None
    if until is None:
        return 0
    return max(0, int((until - utcnow()).total_seconds() + 0.999))


def authenticate(nik, pin):
    """Check a NIK and PIN, counting failures per NIK server-side (DOMAIN.md §4).

    Unknown NIKs are counted like known ones, and the same result is returned for an unknown
    NIK, a wrong PIN, a dead or moved resident or a disabled account. After
    ``PORTAL_MAX_FAILURES`` failures in a row the NIK is locked for ``PORTAL_LOCK_SECONDS``
    (seconds) whatever the PIN, cookie or address. Commits its own transaction.

    Args:
        nik: 16 digits, already format-checked by the form.
        pin: 6 digits, already format-checked by the form.

    Returns:
        LoginResult.
    """
    now = utcnow()
    row = _throttle_row(nik)
    if row is not None and row.locked_until is not None:
        until = _as_aware(row.locked_until)
        if until > now:
            return LoginResult(locked_seconds=int((until - now).total_seconds() + 0.999))
        row.locked_until = None
        row.failures = 0

    account = db.session.scalar(
        select(PortalAccount).join(PortalAccount.resident).where(Resident.nik == nik))
    # Verify even when there is no account, so timing does not reveal which NIKs exist.
    ok = verify_pin(account.pin_hash if account else _dummy_hash(), pin)
    ok = ok and account is not None and account.active and account.resident.basic_status_id == STATUS_ALIVE
    if ok:
        if row is not None:
            db.session.delete(row)
        account.last_login_at = now
        db.session.commit()
        log.info("portal login ok for %s", mask_nik(nik))
        return LoginResult(account=account)

    if row is None:
        row = LoginThrottle(key=_nik_key(nik), failures=0)
        db.session.add(row)
    row.failures += 1
    row.updated_at = now
    locked = 0
    if row.failures >= current_app.config["PORTAL_MAX_FAILURES"]:
        locked = current_app.config["PORTAL_LOCK_SECONDS"]
        row.locked_until = now + timedelta(seconds=locked)
        row.failures = 0
        log.warning("portal login locked for %s after repeated failures", mask_nik(nik))
    else:
        log.info("portal login failed for %s", mask_nik(nik))
    db.session.commit()
    return LoginResult(locked_seconds=locked)


_DUMMY = {}


def _dummy_hash():
    """A hash of a random PIN with the current cost, made once per process."""
    params = tuple(sorted(current_app.config["PIN_HASH_PARAMS"].items()))
    if params not in _DUMMY:
        _DUMMY[params] = hash_pin(generate_pin())
    return _DUMMY[params]
