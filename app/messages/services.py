"""Kotak Pesan services for the portal and the office: write, reply, read, list, close.

Views call one of these, then commit (the functions flush; :func:`send_once` is the one that
commits, like :func:`app.letters.services.submit_once`). Every problem with what a resident
wrote is gathered into one :class:`MessageError` (STYLE.md habit 3). Text is stored exactly as
written; templates escape it wherever it is shown.

Lists are built in SQL (filters, order, pagination, counts) with a constant number of queries
per page, whatever the number of rows.
"""
from datetime import timedelta

from flask import current_app
from app.core.i18n import lazy_gettext as _l
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from app.core import storage
from app.core.formatting import path_for
from app.core.models import utcnow
from app.extensions import db
from app.messages.models import KINDS, Message, MessagePhoto, MessagePost
from app.notifications.models import Notification
from app.notifications.services import notify
from app.residents.models import Area, Family, Resident

#: Limits of what a resident may write (the model's subject column is 150 characters).
MAX_SUBJECT = 150
MAX_BODY = 5000
MAX_PHOTOS = 3
#: Where message photos are kept (``UPLOAD_FOLDER/messages``), served only to their owner.
PHOTO_AREA = "messages"
#: Default page size of every list.
PER_PAGE = 20

KIND_LABELS = {"message": _l("Message"), "report": _l("Report")}
STATUS_LABELS = {"open": _l("Waiting for the office"), "answered": _l("Answered"), "closed": _l("Closed")}


class MessageError(ValueError):
    """What was written cannot be stored; ``errors`` lists every reason (translatable)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class RateLimited(MessageError):
    """The resident wrote too many posts in the last hour (shown with HTTP 429)."""


def kind_label(code):
    """Translated label of a message kind ("message" / "report"); unknown codes as they are."""
    return KIND_LABELS.get(code, code)


def status_label(code):
    """Translated label of a conversation status ("open" / "answered" / "closed")."""
    return STATUS_LABELS.get(code, code)


# --- checks ----------------------------------------------------------------------------------

def per_hour_limit():
    """Posts a resident may write per hour: ``MESSAGES_PER_HOUR`` (default 10)."""
    return int(current_app.config.get("MESSAGES_PER_HOUR", 10))


def posts_last_hour(resident_id):
    """Number of posts (new conversations and replies) the resident wrote in the last hour.

    Counted in SQL from the stored posts, so neither a new session nor a deleted cookie resets it.
    """
    since = utcnow() - timedelta(hours=1)
    return db.session.scalar(
        select(func.count(MessagePost.id)).join(Message, Message.id == MessagePost.message_id)
        .where(Message.resident_id == resident_id, MessagePost.author == "resident",
               MessagePost.created_at >= since))


def check_rate(resident_id):
    """Refuse when the resident already wrote ``MESSAGES_PER_HOUR`` posts in the last hour.

    Raises:
        RateLimited: over the limit (one COUNT query).
    """
    limit = per_hour_limit()
    if posts_last_hour(resident_id) >= limit:
        raise RateLimited([_l("You have sent %(n)d messages in the last hour, the most allowed. "
                              "Please wait a while and try again.", n=limit)])


def body_errors(body, photo_count=0):
    """Problems with a post's text and number of photos (list of translatable strings)."""
    errors = []
    if not body:
        errors.append(_l("Please write your message."))
    elif len(body) > MAX_BODY:
        errors.append(_l("The message is too long (at most %(n)d characters).", n=MAX_BODY))
    if photo_count > MAX_PHOTOS:
        errors.append(_l("At most %(n)d photos can be attached.", n=MAX_PHOTOS))
    return errors


def new_message_errors(kind, subject, body, photo_count=0):
    """Every problem with a new conversation, gathered (list of translatable strings).

    Args:
        kind: "message" or "report".
        subject: the subject, already stripped (at most 150 characters).
        body: the text, already stripped (at most 5000 characters).
        photo_count: number of photos the resident attached (at most 3).
    """
    errors = []
    if kind not in KINDS:
        errors.append(_l("Choose whether this is a message or a report."))
    if not subject:
        errors.append(_l("Please write a subject."))
    elif len(subject) > MAX_SUBJECT:
        errors.append(_l("The subject is too long (at most %(n)d characters).", n=MAX_SUBJECT))
    return errors + body_errors(body, photo_count)


def _store_photos(post, photos):
    """Store accepted images privately and attach them to ``post``; returns the stored names."""
    names = []
    try:
        for clean in photos:
            name = storage.store_bytes(PHOTO_AREA, clean.data, clean.extension)
            names.append(name)
            post.photos.append(MessagePhoto(stored_name=name, content_type=clean.content_type,
                                            size_bytes=len(clean.data)))
        db.session.flush()
    except BaseException:
        for name in names:
            storage.delete(PHOTO_AREA, name)
        raise
    return names


def _only_images(photos):
    if any(not p.content_type.startswith("image/") for p in photos):
        return [_l("Only JPEG and PNG photos can be attached.")]
    return []


# --- the resident's side ---------------------------------------------------------------------

def find_by_token(resident_id, submit_token):
    """The resident's conversation created by the form with ``submit_token``, or None."""
    return db.session.scalar(select(Message).where(Message.submit_token == submit_token,
                                                   Message.resident_id == resident_id))


def start_conversation(resident, kind, subject, body, photos, submit_token):
    """Create a conversation with the resident's first post (flushed; the caller commits).

    A second call with the same ``submit_token`` (double click, refresh) returns the first
    conversation and stores nothing. The conversation row is flushed before any photo is
    written, so a concurrent duplicate fails (IntegrityError on the unique token) before files
    exist; :func:`send_once` handles that race.

    Args:
        resident: the writer (:class:`Resident`).
        kind: "message" or "report".
        subject: at most 150 characters (stripped here).
        body: at most 5000 characters (stripped here).
        photos: list of accepted :class:`app.core.uploads.CleanFile` images, at most 3.
        submit_token: the form's one-time token (20-64 characters).

    Returns:
        tuple ``(Message, created: bool)``.

    Raises:
        RateLimited: over ``MESSAGES_PER_HOUR`` posts in the last hour.
        MessageError: every problem with kind, subject, body, photos or token, gathered.
        sqlalchemy.exc.IntegrityError: a concurrent request stored the same token first.
    """
    subject, body = (subject or "").strip(), (body or "").strip()
    token = submit_token or ""
    if not 20 <= len(token) <= 64:
        raise MessageError([_l("This form is no longer valid. Please open it again.")])
    existing = db.session.scalar(select(Message).where(Message.submit_token == token))
    if existing is not None:
        if existing.resident_id != resident.id:
            raise MessageError([_l("This form is no longer valid. Please open it again.")])
        return existing, False
    check_rate(resident.id)
    errors = new_message_errors(kind, subject, body, len(photos)) + _only_images(photos)
    if errors:
        raise MessageError(errors)
    now = utcnow()
    message = Message(resident_id=resident.id, kind=kind, subject=subject, status="open",
                      last_activity_at=now, submit_token=token)
    post = MessagePost(author="resident", body=body, created_at=now)
    message.posts.append(post)
    db.session.add(message)
    db.session.flush()
    _store_photos(post, photos)
    return message, True


def send_once(resident, kind, subject, body, photos, submit_token):
    """:func:`start_conversation` and commit; a concurrent double submit ends with one message.

    Returns:
        tuple ``(Message, created: bool)``.

    Raises:
        RateLimited, MessageError: as :func:`start_conversation` (nothing stored).
    """
    try:
        message, created = start_conversation(resident, kind, subject, body, photos, submit_token)
        db.session.commit()
        return message, created
    except IntegrityError:
        db.session.rollback()
        existing = find_by_token(resident.id, submit_token)
        if existing is None:
            raise
        return existing, False


def reply_as_resident(message, resident, body, photos=()):
    """Add the resident's reply to their conversation (flushed; the caller commits).

    The conversation goes back to "open" and becomes unread for the office again, so the new
    text is seen; ``office_read_by`` then records who read it after this reply.

    Args:
        message: the resident's own :class:`Message` (loaded through ``owned_or_404``).
        resident: the writer; must own ``message``.
        body: at most 5000 characters (stripped here).
        photos: accepted :class:`CleanFile` images, at most 3.

    Returns:
        MessagePost.

    Raises:
        RateLimited: over the hourly limit.
        MessageError: closed conversation, empty or too long text, too many photos.
        PermissionError: ``message`` is not the resident's (a programming error: views use
            ``owned_or_404``).
    """
    if message.resident_id != resident.id:
        raise PermissionError("not the resident's message")
    if message.status == "closed":
        raise MessageError([_l("This conversation is closed. Please start a new message.")])
    body = (body or "").strip()
    photos = list(photos)
    check_rate(resident.id)
    errors = body_errors(body, len(photos)) + _only_images(photos)
    if errors:
        raise MessageError(errors)
    now = utcnow()
    post = MessagePost(message=message, author="resident", body=body, created_at=now)
    db.session.add(post)
    message.status = "open"
    message.last_activity_at = now
    message.office_read_at = None
    message.office_read_by_id = None
    db.session.flush()
    _store_photos(post, photos)
    return post


def _thread_path(message):
    """The portal path of a conversation (also the link of its notifications)."""
    return path_for("portal.message_thread", message_id=message.id)


def thread(message):
    """The posts of a conversation, oldest first, with their photos (two queries)."""
    return db.session.scalars(select(MessagePost).where(MessagePost.message_id == message.id)
                              .options(selectinload(MessagePost.photos))
                              .order_by(MessagePost.created_at, MessagePost.id)).all()


def mark_read_by_resident(message):
    """Mark the office's posts in ``message`` as read by the resident. Returns how many.

    The "office replied" notifications pointing at this conversation become read too, so the
    bell does not keep counting a reply the resident has seen.
    """
    now = utcnow()
    stmt = (update(MessagePost)
            .where(MessagePost.message_id == message.id, MessagePost.author == "office",
                   MessagePost.read_by_resident_at.is_(None))
            .values(read_by_resident_at=now).execution_options(synchronize_session=False))
    count = db.session.execute(stmt).rowcount
    db.session.execute(
        update(Notification)
        .where(Notification.resident_id == message.resident_id, Notification.kind == "message_reply",
               Notification.link == _thread_path(message), Notification.read_at.is_(None))
        .values(read_at=now).execution_options(synchronize_session=False))
    return count


def unread_count(resident_id):
    """Office posts the resident has not read yet, over all their conversations (one COUNT)."""
    return db.session.scalar(
        select(func.count(MessagePost.id)).join(Message, Message.id == MessagePost.message_id)
        .where(Message.resident_id == resident_id, MessagePost.author == "office",
               MessagePost.read_by_resident_at.is_(None)))


def _office_posts(resident_id):
    """Per conversation of the resident: office posts, unread ones, and the latest reply time."""
    return (select(MessagePost.message_id.label("message_id"),
                   func.count(MessagePost.id).label("replies"),
                   func.sum(case((MessagePost.read_by_resident_at.is_(None), 1), else_=0)).label("unread"),
                   func.max(MessagePost.created_at).label("last_reply"))
            .join(Message, Message.id == MessagePost.message_id)
            .where(Message.resident_id == resident_id, MessagePost.author == "office")
            .group_by(MessagePost.message_id).subquery())


def _page(stmt, page, per_page):
    return stmt.offset((max(1, page) - 1) * per_page).limit(per_page)


def inbox(resident_id, page=1, per_page=PER_PAGE):
    """Conversations of the resident that the office answered: unread first, then newest.

    Returns:
        tuple ``(rows, total)``: ``rows`` is a list of dicts ``{"message": Message,
        "unread": int}`` (unread office posts), ``total`` the number of such conversations.
        Two queries, whatever the page size.
    """
    office = _office_posts(resident_id)
    base = (select(Message, office.c.unread).join(office, office.c.message_id == Message.id)
            .where(Message.resident_id == resident_id))
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.execute(_page(base.order_by(case((office.c.unread > 0, 0), else_=1),
                                                  Message.last_activity_at.desc(), Message.id.desc()),
                                    page, per_page)).all()
    return [{"message": m, "unread": int(unread or 0)} for m, unread in rows], total


def sent(resident_id, page=1, per_page=PER_PAGE):
    """Conversations the resident started, newest first.

    Returns:
        tuple ``(rows, total)`` with rows ``{"message": Message, "replies": int, "unread": int}``.
        Two queries.
    """
    office = _office_posts(resident_id)
    base = (select(Message, office.c.replies, office.c.unread)
            .outerjoin(office, office.c.message_id == Message.id)
            .where(Message.resident_id == resident_id))
    total = db.session.scalar(select(func.count(Message.id)).where(Message.resident_id == resident_id))
    rows = db.session.execute(_page(base.order_by(Message.created_at.desc(), Message.id.desc()),
                                    page, per_page)).all()
    return [{"message": m, "replies": int(replies or 0), "unread": int(unread or 0)}
            for m, replies, unread in rows], total


# --- the office's side -----------------------------------------------------------------------

def reply_as_office(message, user, body):
    """The office answers: an office post, status "answered", and a notification.

    The replier has obviously read the conversation, so it is marked read for the office if
    nobody had opened it yet.

    Args:
        message: the :class:`Message`.
        user: the operator (FAB user) replying; recorded as the post's author.
        body: the answer (at most 5000 characters, stripped here).

    Returns:
        MessagePost (flushed; the caller commits).

    Raises:
        MessageError: empty or too long text, or the conversation is closed.
    """
    body = (body or "").strip()
    errors = body_errors(body)
    if message.status == "closed":
        errors.insert(0, _l("This conversation is closed."))
    if errors:
        raise MessageError(errors)
    now = utcnow()
    post = MessagePost(message=message, author="office", author_user_id=user.id, body=body, created_at=now)
    db.session.add(post)
    message.status = "answered"
    message.last_activity_at = now
    mark_office_read(message, user, now)
    db.session.flush()
    notify(message.resident_id, "message_reply", {"subject": message.subject, "message_id": message.id},
           link=_thread_path(message))
    return post


def mark_office_read(message, user, when=None):
    """Record the first operator who opened ``message`` (later openings change nothing).

    Returns:
        bool: True when this call marked it read.
    """
    if message.office_read_at is not None:
        return False
    message.office_read_at = when or utcnow()
    message.office_read_by_id = user.id
    db.session.flush()
    return True


def close(message, user):
    """Close the conversation (the resident can no longer reply). Closing twice changes nothing.

    Returns:
        bool: True when this call closed it.
    """
    if message.status == "closed":
        return False
    message.status = "closed"
    message.closed_at = utcnow()
    message.closed_by_id = user.id
    db.session.flush()
    return True


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def office_list(page=1, kind=None, status=None, dusun_id=None, q=None, per_page=PER_PAGE):
    """Every conversation for the operator panel: unread by the office first, then newest.

    Args:
        page: 1-based page number.
        kind: "message" / "report" to filter, or None.
        status: "open" / "answered" / "closed", or None.
        dusun_id: an :class:`Area` id; keeps residents whose family's area is that area or lies
            under it (RT -> RW -> dusun), or None.
        q: text searched (case-insensitive, as written) in the subject and the resident's name.

    Returns:
        tuple ``(rows, total)``: rows are dicts ``{"message": Message, "resident_name": str,
        "resident_nik": str, "dusun": str | None, "posts": int}``. Two queries (rows and count),
        no per-row queries.
    """
    rt, rw, top = aliased(Area), aliased(Area), aliased(Area)
    dusun_name = case((rt.level == "dusun", rt.name), (rw.level == "dusun", rw.name),
                      (top.level == "dusun", top.name), else_=None)
    posts = (select(func.count(MessagePost.id)).where(MessagePost.message_id == Message.id)
             .correlate(Message).scalar_subquery())
    conditions = []
    if kind:
        conditions.append(Message.kind == kind)
    if status:
        conditions.append(Message.status == status)
    if dusun_id:
        conditions.append(or_(rt.id == dusun_id, rw.id == dusun_id, top.id == dusun_id))
    if q and q.strip():
        pattern = f"%{_escape_like(q.strip().lower())}%"
        conditions.append(or_(func.lower(Message.subject).like(pattern, escape="\\"),
                              func.lower(Resident.name).like(pattern, escape="\\")))

    def joined(stmt):
        return (stmt.join(Resident, Resident.id == Message.resident_id)
                .outerjoin(Family, Family.id == Resident.family_id)
                .outerjoin(rt, rt.id == Family.area_id)
                .outerjoin(rw, rw.id == rt.parent_id)
                .outerjoin(top, top.id == rw.parent_id)
                .where(*conditions))

    total = db.session.scalar(joined(select(func.count(Message.id)).select_from(Message)))
    stmt = joined(select(Message, Resident.name, Resident.nik, dusun_name, posts).select_from(Message))
    stmt = stmt.order_by(case((Message.office_read_at.is_(None), 0), else_=1),
                         Message.last_activity_at.desc(), Message.id.desc())
    rows = db.session.execute(_page(stmt, page, per_page)).all()
    return [{"message": m, "resident_name": name, "resident_nik": nik, "dusun": dusun, "posts": n}
            for m, name, nik, dusun, n in rows], total


def office_unread_count():
    """Conversations no operator has opened since the resident last wrote (closed ones excluded)."""
    return db.session.scalar(select(func.count(Message.id)).where(Message.office_read_at.is_(None),
                                                                  Message.status != "closed"))


def photo_owner(photo_id):
    """``(MessagePhoto, message_id, resident_id)`` of a stored photo, or None (one query)."""
    row = db.session.execute(
        select(MessagePhoto, Message.id, Message.resident_id)
        .join(MessagePost, MessagePost.id == MessagePhoto.post_id)
        .join(Message, Message.id == MessagePost.message_id)
        .where(MessagePhoto.id == photo_id)).first()
    return tuple(row) if row else None

