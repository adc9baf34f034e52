"""The notification bell and list in Layanan Mandiri (portal blueprint, one guard)."""
from urllib.parse import urlsplit

from flask import g, redirect, render_template, request, url_for

from app.extensions import db
from app.notifications import services
from app.notifications.models import Notification
from app.portal.ownership import owned_or_404
from app.portal.routes import bp


@bp.app_context_processor
def bell():
    """``unread_notifications`` for the portal header (one COUNT query per page)."""
    account = getattr(g, "account", None)
    if account is None or account.must_change_pin:
        return {}
    return {"unread_notifications": services.unread_count(g.resident.id)}


@bp.route("/notifikasi")
def notifications():
    """The resident's notifications, newest first, unread ones highlighted."""
    page = max(1, request.args.get("halaman", 1, type=int))
    rows, has_more = services.recent(g.resident.id, page=page)
    return render_template("portal/notifications.html", rows=rows, has_more=has_more, page=page,
                           text=services.notification_text)


@bp.route("/notifikasi/<int:notification_id>")
def open_notification(notification_id):
    """Mark one notification read and open what it is about."""
    note = owned_or_404(Notification, notification_id)
    services.mark_read(g.resident.id, note.id)
    db.session.commit()
    link = note.link or ""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path.startswith(bp.url_prefix + "/"):
        link = url_for("portal.notifications")
    return redirect(link)


@bp.route("/notifikasi/baca-semua", methods=["POST"])
def read_all_notifications():
    """Mark every notification read."""
    services.mark_read(g.resident.id)
    db.session.commit()
    return redirect(url_for("portal.notifications"))
