"""Kotak Pesan pages of Layanan Mandiri, on the portal blueprint (one guard for all routes).

Conversations and photos are loaded through :func:`app.portal.ownership.owned_or_404`: another
resident's ids answer 404.
"""
import secrets

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import format_datetime
from app.core.i18n import lazy_gettext as _l

from app.core import storage
from app.core.uploads import UploadError, clean_upload, max_bytes
from app.extensions import db
from app.messages import services
from app.messages.models import Message
from app.portal.ownership import owned_or_404
from app.portal.routes import bp


def _page():
    return max(1, request.args.get("halaman", 1, type=int))


#: First bytes of the only formats accepted as photos; :func:`clean_upload` then checks the content.
_PHOTO_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _looks_like_photo(upload):
    """True when the file starts like a JPEG or PNG (a quick check for a clearer message)."""
    stream = upload.stream
    start = stream.tell()
    head = stream.read(8)
    stream.seek(start)
    return head.startswith(_PHOTO_SIGNATURES)


def _read_photos(files):
    """Check the uploaded photos: ``(clean files, errors, how many were sent)``.

    More than :data:`services.MAX_PHOTOS` are not even opened; the count error comes from
    :func:`services.new_message_errors`.
    """
    uploads = [f for f in files.getlist("photos") if f and f.filename]
    if len(uploads) > services.MAX_PHOTOS:
        return [], [], len(uploads)
    clean, errors = [], []
    for number, upload in enumerate(uploads, start=1):
        if not _looks_like_photo(upload):
            errors.append(_l("Photo %(n)d: only JPEG and PNG photos can be attached.", n=number))
            continue
        try:
            accepted = clean_upload(upload)
        except UploadError as exc:
            errors.append(_l("Photo %(n)d: %(problem)s", n=number, problem=exc.message))
            continue
        if not accepted.content_type.startswith("image/"):
            errors.append(_l("Photo %(n)d: only JPEG and PNG photos can be attached.", n=number))
            continue
        clean.append(accepted)
    return clean, errors, len(uploads)


def _limits():
    return {"max_photos": services.MAX_PHOTOS, "max_mb": max_bytes() // (1024 * 1024),
            "max_subject": services.MAX_SUBJECT, "max_body": services.MAX_BODY}


@bp.route("/pesan")
def messages_inbox():
    """Inbox: conversations the office answered, unread first."""
    page = _page()
    rows, total = services.inbox(g.resident.id, page=page)
    return render_template("portal/messages/inbox.html", rows=rows, total=total, page=page,
                           per_page=services.PER_PAGE, unread=services.unread_count(g.resident.id),
                           kind_label=services.kind_label, status_label=services.status_label)


@bp.route("/pesan/terkirim")
def messages_sent():
    """Sent: conversations the resident started, newest first, with their status."""
    page = _page()
    rows, total = services.sent(g.resident.id, page=page)
    return render_template("portal/messages/sent.html", rows=rows, total=total, page=page,
                           per_page=services.PER_PAGE, unread=services.unread_count(g.resident.id),
                           kind_label=services.kind_label, status_label=services.status_label)


def _render_new(data=None, errors=(), status=200, token=None, photos_lost=False):
    return render_template("portal/messages/new.html", data=data or {}, errors=list(errors),
                           token=token or secrets.token_urlsafe(24), photos_lost=photos_lost,
                           kinds=services.KIND_LABELS, **_limits()), status


@bp.route("/pesan/baru", methods=["GET", "POST"])
def new_message():
    """Write to the office: kind, subject, text and up to 3 photos; all errors shown together."""
    if request.method == "GET":
        errors = []
        try:
            services.check_rate(g.resident.id)
        except services.RateLimited as exc:
            errors = exc.errors
        return _render_new({"kind": request.args.get("jenis", "message")}, errors)
    form = request.form
    token = form.get("submit_token", "")
    if not 20 <= len(token) <= 64:
        abort(400)
    if services.find_by_token(g.resident.id, token) is not None:  # double click or refresh
        return redirect(url_for("portal.messages_sent"))
    data = {"kind": form.get("kind", ""), "subject": form.get("subject", ""), "body": form.get("body", "")}
    try:
        services.check_rate(g.resident.id)
    except services.RateLimited as exc:
        return _render_new(data, exc.errors, 429, token)
    photos, upload_errors, count = _read_photos(request.files)
    if upload_errors or count > services.MAX_PHOTOS:
        errors = upload_errors + services.new_message_errors(
            data["kind"], data["subject"].strip(), data["body"].strip(), count)
        return _render_new(data, errors, 400, token, photos_lost=count > 0)
    try:
        _, created = services.send_once(g.resident, data["kind"], data["subject"], data["body"], photos, token)
    except services.RateLimited as exc:
        db.session.rollback()
        return _render_new(data, exc.errors, 429, token)
    except services.MessageError as exc:
        db.session.rollback()
        return _render_new(data, exc.errors, 400, token, photos_lost=count > 0)
    if created:
        flash(_l("Your message was sent. The office replies here, and you will get a notification."), "success")
    return redirect(url_for("portal.messages_sent"))


def _render_thread(message, errors=(), body="", status=200):
    posts = services.thread(message)
    # Read after loading: posts new to the resident are still marked new on this page.
    services.mark_read_by_resident(message)
    db.session.commit()
    return render_template("portal/messages/thread.html", message=message, posts=posts, errors=list(errors),
                           body=body, kind_label=services.kind_label, status_label=services.status_label,
                           when=_when, **_limits()), status


def _when(value):
    """Date and time of a post in the village's time zone, e.g. ``30 November 2026 09.15``."""
    return format_datetime(value, "d MMMM yyyy HH.mm") if value else ""


@bp.route("/pesan/<int:message_id>")
def message_thread(message_id):
    """One conversation, oldest first; the office's posts become read."""
    return _render_thread(owned_or_404(Message, message_id))


@bp.route("/pesan/<int:message_id>/balas", methods=["POST"])
def reply_message(message_id):
    """The resident's reply to their own open conversation."""
    message = owned_or_404(Message, message_id)
    body = request.form.get("body", "")
    try:
        services.check_rate(g.resident.id)
    except services.RateLimited as exc:
        return _render_thread(message, exc.errors, body, 429)
    photos, upload_errors, count = _read_photos(request.files)
    if upload_errors or count > services.MAX_PHOTOS:
        return _render_thread(message, upload_errors + services.body_errors(body.strip(), count), body, 400)
    try:
        services.reply_as_resident(message, g.resident, body, photos)
    except services.RateLimited as exc:
        db.session.rollback()
        return _render_thread(message, exc.errors, body, 429)
    except services.MessageError as exc:
        db.session.rollback()
        return _render_thread(message, exc.errors, body, 400)
    db.session.commit()
    flash(_l("Your reply was sent."), "success")
    return redirect(url_for("portal.message_thread", message_id=message.id, _anchor="balas"))


@bp.route("/pesan/foto/<int:photo_id>")
def message_photo(photo_id):
    """A photo of one of the resident's own conversations, else 404."""
    found = services.photo_owner(photo_id)
    if found is None:
        abort(404)
    photo, message_id, _ = found
    owned_or_404(Message, message_id)
    response = send_file(storage.path_of(services.PHOTO_AREA, photo.stored_name), mimetype=photo.content_type,
                         max_age=0)
    response.headers["Content-Disposition"] = f'inline; filename="foto-{photo.id}.{photo.stored_name.rsplit(".", 1)[-1]}"'
    return response
