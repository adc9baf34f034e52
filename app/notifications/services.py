"""Notifications: create them, count and list them, and turn them into words.

:func:`notify` stores a row (the portal bell) and hands it to every extra channel in
``CHANNELS`` (e.g. e-mail), so a new channel is one function appended there. Texts are made at
display time from ``kind`` and ``params``, so each reader gets their own language.
"""
from flask_babel import gettext
from sqlalchemy import func, select, update

from app.core.models import utcnow
from app.extensions import db
from app.notifications.models import Notification

#: Extra delivery channels: callables ``channel(notification)`` run after the row is stored.
CHANNELS = []

def notify(resident_id, kind, params, link=None):
    """Create a notification for a resident and pass it to every extra channel.

    Args:
        resident_id: the recipient's resident id.
        kind: a key understood by :func:`notification_text`.
        params: JSON-able dict of plain values for the text.
        link: a portal path to open, or None.

    Returns:
        Notification (flushed; the caller commits).
    """
    note = Notification(resident_id=resident_id, kind=kind, params=params, link=link)
    db.session.add(note)
    db.session.flush()
    for channel in CHANNELS:
        channel(note)
    return note


def notify_letter_status(request, action, note=""):
    """Tell the resident what happened to their letter request.

    A letter made at the office desk skips "received": the resident is standing there.
    """
    if action == "submit" and request.origin == "desk":
        return
    from app.core.formatting import path_for
    notify(request.resident_id, "letter_status",
           {"action": action, "letter_type": request.letter_type.name, "note": note},
           link=path_for("portal.letter_request", request_id=request.id))


def letter_status_text(action, letter_type, note=""):
    """What a letter-request action means to the resident, in words (DOMAIN.md §5)."""
    p = {"letter_type": letter_type, "note": note}
    if action == "submit":
        return gettext("Your request for %(letter_type)s was received and is being checked.", **p)
    if action == "resubmit":
        return gettext("Your corrected request for %(letter_type)s was received and is being checked again.", **p)
    if action == "return":
        return gettext("Your request for %(letter_type)s was returned as incomplete: %(note)s", **p)
    if action == "print":
        return gettext("Your letter %(letter_type)s is waiting for the Kepala Desa's signature.", **p)
    if action == "sign":
        return gettext("Your letter %(letter_type)s is ready for pick-up at the village office.", **p)
    if action == "collect":
        return gettext("Your letter %(letter_type)s has been collected.", **p)
    if action == "cancel":
        return gettext("Your request for %(letter_type)s was cancelled by the office: %(note)s", **p)
    if action == "cancel_own":
        return gettext("You cancelled your request for %(letter_type)s.", **p)
    return gettext("Your request for %(letter_type)s has changed.", **p)


def notification_text(notification):
    """The notification in words, in the current language (str)."""
    params = notification.params or {}
    if notification.kind == "letter_status":
        return letter_status_text(params.get("action"), params.get("letter_type", ""), params.get("note", ""))
    if notification.kind == "message_reply":
        return gettext("The village office replied to your message \"%(subject)s\".", subject=params.get("subject", ""))
    return gettext("You have a new notification.")


def unread_count(resident_id):
    """Number of unread notifications of a resident (one COUNT query)."""
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.resident_id == resident_id, Notification.read_at.is_(None)))


def recent(resident_id, *, page=1, per_page=20):
    """One page of a resident's notifications, newest first: (list, has_more)."""
    rows = db.session.scalars(
        select(Notification).where(Notification.resident_id == resident_id)
        .order_by(Notification.id.desc()).offset((page - 1) * per_page).limit(per_page + 1)).all()
    return rows[:per_page], len(rows) > per_page


def mark_read(resident_id, notification_id=None):
    """Mark one (or, with None, every) notification of the resident as read. Returns the count."""
    stmt = update(Notification).where(Notification.resident_id == resident_id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
