"""Operator side of Kotak Pesan: every conversation, one conversation's page, reply, close.

Registered by :func:`register_message_views` (called from :mod:`app.admin`); the roles that use
the view are in :mod:`app.security` (``VIEWS`` and ``MENUS`` below). The view is thin: it reads
the request, calls one function of :mod:`app.messages.services`, commits and redirects
(STYLE.md habit 2). Refusals (:class:`~app.messages.services.MessageError`) are shown on the
page, never a 500. Everything a resident wrote is shown escaped (Jinja autoescape, no ``|safe``).

URLs and FAB permissions (``can_<name>`` on ``OfficeMessageView``):

==========================================  ==================================  ===========
URL                                         what                                permission
==========================================  ==================================  ===========
/office-messages/                           list: unread by the office first,   can_list
                                            filters kind, status, dusun, text
/office-messages/show/<pk>                  one conversation; the first user    can_show
                                            who may reply marks it read
/office-messages/show/<pk>/photo/<id>       a photo of that conversation only   can_show
POST /office-messages/reply/<pk>            answer; the resident is notified    can_reply
POST /office-messages/close/<pk>            close the conversation              can_close
==========================================  ==================================  ===========
"""
import math
from datetime import timedelta, timezone

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.core import storage
from app.core.i18n import lazy_gettext as _l
from app.core.models import utcnow
from app.extensions import db
from app.messages import services
from app.messages.models import KINDS, STATUSES, Message, MessagePost
from app.residents.admin import local_datetime
from app.residents.models import Area, Resident

#: View class names and menu names, for the roles in :mod:`app.security`.
VIEWS = ("OfficeMessageView",)
MENUS = ("Messages", "Message inbox")

#: Bootstrap 3 label colours of kinds and statuses.
KIND_STYLES = {"message": "info", "report": "warning"}
STATUS_STYLES = {"open": "danger", "answered": "success", "closed": "default"}
#: The same reply text from the same operator within this time is a double click: stored once.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=2)


def _int_arg(name):
    """A positive integer query argument, or None (anything else is ignored, never an error)."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _user_name(user):
    if user is None:
        return "-"
    return user.get_full_name().strip() or user.username


class OfficeMessageView(BaseView):
    """Kotak Pesan for the office: all conversations, read, reply, close."""

    route_base = "/office-messages"
    default_view = "list"
    per_page = services.PER_PAGE

    def _may(self, permission):
        """True when the current user holds ``permission`` on this view."""
        return self.appbuilder.sm.has_access(permission, self.class_permission_name)

    def _message_or_404(self, pk):
        message = db.session.scalar(select(Message).where(Message.id == pk).options(
            joinedload(Message.resident).joinedload(Resident.family), joinedload(Message.office_read_by)))
        if message is None:
            abort(404)
        return message

    # --- the list -------------------------------------------------------------------------

    @expose("/")
    @has_access
    def list(self):
        """Every conversation: unread by the office first, then the latest activity (paginated in SQL)."""
        kind = request.args.get("kind", "")
        status = request.args.get("status", "")
        filters = {"kind": kind if kind in KINDS else "", "status": status if status in STATUSES else "",
                   "dusun": _int_arg("dusun") or "", "q": (request.args.get("q") or "").strip()[:100]}
        page = _int_arg("page") or 1
        rows, total = services.office_list(page=page, kind=filters["kind"] or None,
                                           status=filters["status"] or None,
                                           dusun_id=filters["dusun"] or None, q=filters["q"] or None,
                                           per_page=self.per_page)
        pages = max(1, math.ceil(total / self.per_page))
        link_args = {key: value for key, value in filters.items() if value}
        if page > pages and total:
            return redirect(url_for(".list", **link_args, page=pages))
        dusuns = db.session.execute(select(Area.id, Area.name).where(Area.level == "dusun")
                                    .order_by(Area.name)).all()
        return self.render_template(
            "messages_admin/list.html", title=_l("Messages from residents"), rows=rows, total=total,
            page=page, pages=pages, filters=filters, dusuns=dusuns, unread=services.office_unread_count(),
            kinds=[(k, services.kind_label(k)) for k in KINDS],
            statuses=[(s, services.status_label(s)) for s in STATUSES],
            kind_label=services.kind_label, status_label=services.status_label, kind_styles=KIND_STYLES,
            status_styles=STATUS_STYLES, local_datetime=local_datetime,
            link_args=link_args, filtered=bool(link_args))

    # --- one conversation -----------------------------------------------------------------

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        """One conversation; opening it marks it read for the office (first operator only).

        Only a user who may reply marks it read: a Viewer or the Kepala Desa reading along does
        not take it off the office's unread list.
        """
        message = self._message_or_404(pk)
        if self._may("can_reply") and services.mark_office_read(message, g.user):
            db.session.commit()
        return self._render_show(message)

    def _render_show(self, message, reply_text="", errors=()):
        posts = db.session.scalars(
            select(MessagePost).where(MessagePost.message_id == message.id)
            .options(selectinload(MessagePost.photos), joinedload(MessagePost.author_user))
            .order_by(MessagePost.created_at, MessagePost.id)).all()
        resident = message.resident
        family = resident.family
        closed_by = (self.appbuilder.sm.get_user_by_id(message.closed_by_id)
                     if message.closed_by_id is not None else None)
        may_reply = self._may("can_reply") and message.status != "closed"
        replied_by = []
        for post in posts:
            if post.author == "office" and _user_name(post.author_user) not in replied_by:
                replied_by.append(_user_name(post.author_user))
        return self.render_template(
            "messages_admin/show.html", title=message.subject, message=message, posts=posts,
            resident=resident, family=family, area=str(family.area) if family and family.area else "",
            read_by=_user_name(message.office_read_by) if message.office_read_at else None,
            replied_by=replied_by, closed_by=_user_name(closed_by) if message.status == "closed" else None,
            may_reply=may_reply, may_close=self._may("can_close") and message.status != "closed",
            reply_text=reply_text, errors=list(errors), max_body=services.MAX_BODY,
            kind_label=services.kind_label, status_label=services.status_label, kind_styles=KIND_STYLES,
            status_styles=STATUS_STYLES, local_datetime=local_datetime, user_name=_user_name,
            may_resident=self.appbuilder.sm.has_access("can_show", "ResidentView"))

    @expose("/show/<int:pk>/photo/<int:photo_id>")
    @has_access
    @permission_name("show")
    def photo(self, pk, photo_id):
        """A photo of conversation ``pk``, inline; 404 when the photo belongs to another conversation."""
        found = services.photo_owner(photo_id)
        if found is None or found[1] != pk:
            abort(404)
        photo = found[0]
        try:
            path = storage.path_of(services.PHOTO_AREA, photo.stored_name)
        except ValueError:
            abort(404)
        response = send_file(path, mimetype=photo.content_type, max_age=0)
        extension = photo.stored_name.rsplit(".", 1)[-1]
        response.headers["Content-Disposition"] = f'inline; filename="foto-{photo.id}.{extension}"'
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    # --- answering and closing ------------------------------------------------------------

    @expose("/reply/<int:pk>", methods=["POST"])
    @has_access
    def reply(self, pk):
        """Answer the resident (:func:`services.reply_as_office`: status answered, notification)."""
        message = self._message_or_404(pk)
        body = request.form.get("body", "")
        if _just_sent(message, g.user, body):
            flash(_l("This reply was already sent."), "info")
            return redirect(url_for(".show", pk=message.id, _anchor="reply"))
        try:
            services.reply_as_office(message, g.user, body)
        except services.MessageError as exc:
            db.session.rollback()
            return self._render_show(self._message_or_404(pk), reply_text=body, errors=exc.errors), 400
        db.session.commit()
        flash(_l("Your reply was sent. The resident sees it in the self-service portal and gets a notification."),
              "success")
        return redirect(url_for(".show", pk=message.id, _anchor="reply"))

    @expose("/close/<int:pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        """Close the conversation: the resident can no longer reply to it."""
        message = self._message_or_404(pk)
        if services.close(message, g.user):
            db.session.commit()
            flash(_l("The conversation is closed."), "success")
        else:
            flash(_l("This conversation was already closed."), "info")
        return redirect(url_for(".show", pk=message.id))


def _just_sent(message, user, body):
    """True when ``user`` posted exactly ``body`` as the latest post moments ago (a double click)."""
    body = (body or "").strip()
    if not body:
        return False
    last = db.session.scalar(select(MessagePost).where(MessagePost.message_id == message.id)
                             .order_by(MessagePost.id.desc()).limit(1))
    if last is None or last.author != "office" or last.author_user_id != user.id or last.body != body:
        return False
    created = last.created_at if last.created_at.tzinfo else last.created_at.replace(tzinfo=timezone.utc)
    return utcnow() - created < DOUBLE_SUBMIT_WINDOW


def register_message_views(appbuilder):
    """Add the Kotak Pesan views to the operator panel (inside an app context).

    Menu names are ``MENUS``; the permissions are ``can_list``, ``can_show`` (the page and its
    photos), ``can_reply`` and ``can_close`` on ``OfficeMessageView``.
    """
    appbuilder.add_view(OfficeMessageView, "Message inbox", label=_l("Inbox"), icon="fa-comments",
                        category="Messages", category_label=_l("Messages"), category_icon="fa-comments")
