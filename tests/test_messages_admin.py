"""Operator side of Kotak Pesan: the list and its filters, reading, replying, closing, photos, escaping.

Requests are made outside any test-held app context (each request gets its own session, as in
production); data is prepared inside ``db_ctx``. Pages are asked for in English. The module is
skipped until ``register_message_views`` is called from ``app/admin.py``.
"""
import re
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

import app.models  # noqa: F401  (every mapper registered before any is configured)
from app.core.models import utcnow
from app.messages.models import Message, MessagePhoto, MessagePost
from app.notifications.models import Notification
from tests.conftest import (admin_login, csrf_token, make_account, make_admin, make_area, make_family,
                            make_resident, make_village, portal_login)

PASSWORD = "Rahasia-Balai-1"
PIN = "582913"
SCRIPT_SUBJECT = "<script>alert(1)</script>"
SCRIPT_BODY = "<img src=x onerror=alert(1)>"
JPEG = (Path(__file__).parent / "data" / "uploads" / "real.jpg").read_bytes()
ROW_RE = re.compile(r'data-message="(\d+)"')


@pytest.fixture(autouse=True)
def _views_registered(app):
    if "OfficeMessageView.list" not in app.view_functions:
        pytest.skip("OfficeMessageView is not registered yet: call register_message_views in app/admin.py")


# --- helpers ---------------------------------------------------------------------------------

@contextmanager
def db_ctx(app):
    """An app context with the session, committed at the end."""
    from app.extensions import db
    with app.app_context():
        yield db.session
        db.session.commit()


def login_as(app, role="Admin", username=None, first_name=None):
    """A new client logged in through FAB's form as a new user with ``role``, UI in English."""
    username = username or role.lower().replace(" ", "_")
    with db_ctx(app):
        user = make_admin(username=username, password=PASSWORD, role=role)
        if first_name:
            user.first_name = first_name
    client = app.test_client()
    response = admin_login(client, username=username, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.get("/bahasa/en")
    return client


def user_id(app, username):
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def seed_residents(app):
    """Budi (Dusun Krajan, with a portal account) and Bima (Dusun Kulon); returns their ids and the dusun ids."""
    with db_ctx(app):
        make_village()
        krajan = make_area()
        kulon = make_area(rt="009", rw="004", dusun="Kulon")
        budi = make_resident(name="Budi Santoso", family=make_family(area=krajan))
        bima = make_resident(name="Bima Sakti", family=make_family(area=kulon), birth=date(1980, 1, 1))
        make_account(budi, PIN)
        return {"budi": budi.id, "bima": bima.id, "budi_nik": budi.nik,
                "krajan": krajan.parent.parent.id, "kulon": kulon.parent.parent.id}


def make_message(app, resident_id, subject="Jalan rusak", kind="message", status="open", read=False,
                 age_minutes=0, body="Mohon diperbaiki.", photos=0):
    """A conversation with the resident's first post (and ``photos`` stored JPEGs); returns its id."""
    from app.core import storage
    from app.messages import services
    with db_ctx(app) as session:
        when = utcnow() - timedelta(minutes=age_minutes)
        message = Message(resident_id=resident_id, kind=kind, subject=subject, status=status,
                          last_activity_at=when, created_at=when, office_read_at=when if read else None)
        post = MessagePost(author="resident", body=body, created_at=when)
        for _ in range(photos):
            post.photos.append(MessagePhoto(stored_name=storage.store_bytes(services.PHOTO_AREA, JPEG, "jpg"),
                                            content_type="image/jpeg", size_bytes=len(JPEG)))
        message.posts.append(post)
        session.add(message)
        session.flush()
        return message.id


def message_row(app, message_id):
    from app.extensions import db
    with app.app_context():
        message = db.session.get(Message, message_id)
        db.session.refresh(message)
        posts = [(p.author, p.author_user_id, p.body) for p in message.posts]
        db.session.expunge(message)
        return message, posts


def listed_ids(client, **args):
    response = client.get("/office-messages/", query_string=args)
    assert response.status_code == 200
    return [int(i) for i in ROW_RE.findall(response.get_data(as_text=True))]


def reply(client, message_id, body):
    token = csrf_token(client, f"/office-messages/show/{message_id}")
    return client.post(f"/office-messages/reply/{message_id}", data={"csrf_token": token, "body": body})


# --- the list --------------------------------------------------------------------------------

def test_list_puts_unread_first_then_latest_activity(app):
    """Conversations no operator opened come first, each group by the latest activity."""
    people = seed_residents(app)
    read_new = make_message(app, people["budi"], "Sudah dibaca baru", read=True, age_minutes=1)
    unread_old = make_message(app, people["budi"], "Belum dibaca lama", age_minutes=60)
    unread_new = make_message(app, people["bima"], "Belum dibaca baru", age_minutes=5)
    read_old = make_message(app, people["bima"], "Sudah dibaca lama", read=True, age_minutes=120)
    client = login_as(app)
    assert listed_ids(client) == [unread_new, unread_old, read_new, read_old]
    page = client.get("/office-messages/").get_data(as_text=True)
    assert re.search(r'id="unread-count"[^>]*>2<', page)
    assert "Budi Santoso" in page and "Krajan" in page and "Kulon" in page


def test_list_filters_by_kind_status_dusun_and_text(app):
    """Kind, status, dusun, and a search in the subject or the resident's name narrow the list."""
    people = seed_residents(app)
    report = make_message(app, people["budi"], "Lampu jalan mati", kind="report")
    closed = make_message(app, people["bima"], "Terima kasih", status="closed", read=True)
    answered = make_message(app, people["bima"], "Jadwal posyandu", status="answered", read=True)
    client = login_as(app)
    assert listed_ids(client, kind="report") == [report]
    assert set(listed_ids(client, kind="message")) == {closed, answered}
    assert listed_ids(client, status="closed") == [closed]
    assert listed_ids(client, status="answered") == [answered]
    assert listed_ids(client, status="open") == [report]
    assert set(listed_ids(client, dusun=people["kulon"])) == {closed, answered}
    assert listed_ids(client, dusun=people["krajan"]) == [report]
    assert listed_ids(client, q="POSYANDU") == [answered]
    assert listed_ids(client, q="bima") == [answered, closed]
    assert listed_ids(client, q="100%_") == []
    # Unknown filter values are ignored, never an error.
    assert len(listed_ids(client, kind="x", status="y", dusun="abc", page="-3")) == 3


def test_list_is_paginated_with_a_constant_number_of_queries(app):
    """25 conversations make two pages (20 + 5); the page costs as many queries as with 2 conversations."""
    from app.extensions import db
    people = seed_residents(app)
    make_message(app, people["budi"], "Pesan 0")
    make_message(app, people["bima"], "Pesan 1")
    client = login_as(app)

    def queries():
        statements = []
        with app.app_context():
            engine = db.engine

        def count(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/office-messages/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    few = queries()
    for n in range(2, 25):
        make_message(app, people["budi" if n % 2 else "bima"], f"Pesan {n}", age_minutes=n)
    assert queries() == few
    assert len(listed_ids(client)) == 20 and len(listed_ids(client, page=2)) == 5
    assert "Page 2 of 2" in client.get("/office-messages/?page=2").get_data(as_text=True)


# --- reading, replying, closing ----------------------------------------------------------------

def test_opening_marks_read_by_the_first_operator_only(app):
    """The first operator who opens a conversation is recorded as its reader; a second one changes nothing."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"])
    first = login_as(app, "Admin", "sari", first_name="Sari")
    second = login_as(app, "Admin", "joko", first_name="Joko")
    assert second.get("/office-messages/").status_code == 200  # listing does not mark it read
    assert message_row(app, message_id)[0].office_read_at is None
    page = first.get(f"/office-messages/show/{message_id}").get_data(as_text=True)
    message, _ = message_row(app, message_id)
    assert message.office_read_by_id == user_id(app, "sari") and message.office_read_at is not None
    assert re.search(r'id="read-by">Sari User', page)
    page = second.get(f"/office-messages/show/{message_id}").get_data(as_text=True)
    again, _ = message_row(app, message_id)
    assert again.office_read_by_id == user_id(app, "sari") and again.office_read_at == message.office_read_at
    assert re.search(r'id="read-by">Sari User', page)
    assert listed_ids(second) == [message_id]
    assert 'id="unread-count"' not in second.get("/office-messages/").get_data(as_text=True)


def test_viewer_reads_without_marking_read_and_cannot_reply_or_close(app):
    """A Viewer lists and opens conversations but does not mark them read, and reply/close are refused."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"])
    viewer = login_as(app, "Viewer")
    assert viewer.get("/office-messages/").status_code == 200
    page = viewer.get(f"/office-messages/show/{message_id}")
    assert page.status_code == 200 and 'id="reply-body"' not in page.get_data(as_text=True)
    assert message_row(app, message_id)[0].office_read_at is None
    token = csrf_token(viewer, "/residentview/list/")  # the Viewer's page has no form of its own
    refused = viewer.post(f"/office-messages/reply/{message_id}", data={"csrf_token": token, "body": "x"})
    assert refused.status_code == 403
    assert viewer.post(f"/office-messages/close/{message_id}", data={"csrf_token": token}).status_code == 403
    message, posts = message_row(app, message_id)
    assert message.status == "open" and len(posts) == 1


def test_operator_replies_and_the_resident_is_notified(app):
    """An Operator's reply is stored with its author, answers the conversation and notifies the resident."""
    from app.extensions import db
    people = seed_residents(app)
    message_id = make_message(app, people["budi"], SCRIPT_SUBJECT)
    operator = login_as(app, "Operator", "operator", first_name="Sari")
    response = reply(operator, message_id, "  Sudah kami teruskan ke Kadus.  ")
    assert response.status_code == 302 and response.location.endswith(f"/office-messages/show/{message_id}#reply")
    page = operator.get(response.location).get_data(as_text=True)
    assert "Your reply was sent" in page and "Sudah kami teruskan ke Kadus." in page
    assert re.search(r'id="replied-by">Sari User<', page)
    message, posts = message_row(app, message_id)
    assert message.status == "answered" and message.office_read_by_id == user_id(app, "operator")
    assert posts[-1] == ("office", user_id(app, "operator"), "Sudah kami teruskan ke Kadus.")
    with app.app_context():
        [note] = db.session.scalars(select(Notification).where(Notification.resident_id == people["budi"])).all()
        assert note.kind == "message_reply" and note.params["message_id"] == message_id
    resident = app.test_client()
    assert portal_login(resident, people["budi_nik"], PIN).status_code == 302
    resident.get("/bahasa/en")
    notices = resident.get("/layanan-mandiri/notifikasi").get_data(as_text=True)
    assert "The village office replied to your message" in notices
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in notices and SCRIPT_SUBJECT not in notices
    thread = resident.get(f"/layanan-mandiri/pesan/{message_id}").get_data(as_text=True)
    assert "Sudah kami teruskan ke Kadus." in thread


def test_empty_reply_is_refused_on_the_page(app):
    """An empty reply shows the error on the conversation page (400) and stores nothing."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"])
    client = login_as(app)
    response = reply(client, message_id, "   ")
    assert response.status_code == 400 and "Please write your message." in response.get_data(as_text=True)
    assert len(message_row(app, message_id)[1]) == 1


def test_double_click_on_reply_stores_it_once(app):
    """The same reply posted twice at once by the same operator is stored once."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"])
    client = login_as(app)
    assert reply(client, message_id, "Baik, segera.").status_code == 302
    second = reply(client, message_id, "Baik, segera.")
    assert second.status_code == 302
    assert "This reply was already sent." in client.get(second.location).get_data(as_text=True)
    assert [p[0] for p in message_row(app, message_id)[1]] == ["resident", "office"]


def test_close_stops_replies_and_records_who(app):
    """Closing records who closed it; afterwards the page has no reply form and a reply is refused."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"])
    client = login_as(app, "Admin", "kasi", first_name="Kasi")
    token = csrf_token(client, f"/office-messages/show/{message_id}")
    response = client.post(f"/office-messages/close/{message_id}", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The conversation is closed." in page and 'id="reply-body"' not in page
    assert re.search(r'id="closed-by">Kasi User', page)
    message, _ = message_row(app, message_id)
    assert message.status == "closed" and message.closed_by_id == user_id(app, "kasi")
    refused = client.post(f"/office-messages/reply/{message_id}", data={"csrf_token": token, "body": "Halo"})
    assert refused.status_code == 400 and "This conversation is closed." in refused.get_data(as_text=True)
    again = client.post(f"/office-messages/close/{message_id}", data={"csrf_token": token})
    assert "already closed" in client.get(again.location).get_data(as_text=True)
    assert len(message_row(app, message_id)[1]) == 1


def test_reply_and_close_need_csrf(app):
    """A reply or close without the CSRF token is refused and changes nothing."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"])
    client = login_as(app)
    assert client.post(f"/office-messages/reply/{message_id}", data={"body": "x"}).status_code == 400
    assert client.post(f"/office-messages/close/{message_id}").status_code == 400
    message, posts = message_row(app, message_id)
    assert message.status == "open" and len(posts) == 1


# --- escaping, photos, unknown ids, anonymous ----------------------------------------------------

def test_script_subject_and_body_show_as_text_in_list_and_page(app):
    """A <script> subject and an <img onerror> body are shown escaped on the list and the conversation page."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"], SCRIPT_SUBJECT, body=SCRIPT_BODY)
    with db_ctx(app) as session:
        from app.residents.models import Resident
        session.get(Resident, people["bima"]).name = "<b>Bima</b>"
    make_message(app, people["bima"], "Biasa")
    client = login_as(app)
    for url in ("/office-messages/", f"/office-messages/show/{message_id}", "/office-messages/?q=%3Cscript"):
        page = client.get(url).get_data(as_text=True)
        assert SCRIPT_SUBJECT not in page, url
        assert "<img src=x" not in page and "<b>Bima</b>" not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
    page = client.get(f"/office-messages/show/{message_id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_photo_is_served_only_within_its_conversation(app):
    """A photo opens from its own conversation; through another conversation or an unknown id it is a 404."""
    people = seed_residents(app)
    mine = make_message(app, people["budi"], "Jalan rusak", photos=1)
    other = make_message(app, people["bima"], "Lampu mati", photos=1)
    from app.extensions import db
    with app.app_context():
        photo_ids = {m: db.session.scalar(select(MessagePhoto.id).join(MessagePost).where(MessagePost.message_id == m))
                     for m in (mine, other)}
    client = login_as(app)
    page = client.get(f"/office-messages/show/{mine}").get_data(as_text=True)
    assert f"/office-messages/show/{mine}/photo/{photo_ids[mine]}" in page
    shown = client.get(f"/office-messages/show/{mine}/photo/{photo_ids[mine]}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg" and shown.data == JPEG
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/office-messages/show/{mine}/photo/{photo_ids[other]}").status_code == 404
    assert client.get(f"/office-messages/show/{other}/photo/{photo_ids[mine]}").status_code == 404
    assert client.get(f"/office-messages/show/{mine}/photo/999999").status_code == 404
    assert client.get("/office-messages/show/999999").status_code == 404


def test_anonymous_and_portal_residents_get_nothing(app):
    """Without an operator login every page and photo redirects to the login form, also for a portal resident."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"], photos=1)
    resident = app.test_client()
    assert portal_login(resident, people["budi_nik"], PIN).status_code == 302
    for client in (app.test_client(), resident):
        for url in ("/office-messages/", f"/office-messages/show/{message_id}",
                    f"/office-messages/show/{message_id}/photo/1"):
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response.location, url
    assert message_row(app, message_id)[0].office_read_at is None


def test_resident_link_and_identity_on_the_page(app):
    """The conversation page shows the resident's name, NIK and a link to their register record."""
    people = seed_residents(app)
    message_id = make_message(app, people["budi"])
    page = login_as(app).get(f"/office-messages/show/{message_id}").get_data(as_text=True)
    assert f'href="/residentview/show/{people["budi"]}"' in page
    assert people["budi_nik"] in page and "Budi Santoso" in page
