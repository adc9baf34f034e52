"""Layanan Mandiri pages for letters and documents, on the portal blueprint (one guard).

Everything is loaded through :func:`app.portal.ownership.owned_or_404`.
"""
import secrets

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from app.core.i18n import lazy_gettext as _l

from app.core import storage
from app.core.uploads import UploadError, clean_upload, max_bytes
from app.extensions import db
from app.letters import services
from app.letters.fields import display_values
from app.letters.models import IssuedLetter, LetterRequest, LetterStatus, ResidentDocument
from app.letters.workflow import ACTION_LABELS, Actor, TransitionError, allowed_actions, transition
from app.portal.ownership import owned_or_404
from app.portal.routes import bp
from app.residents.services import village_values


def _form_context(letter_type, checked=None, token=None, data=None):
    return {"letter_type": letter_type, "documents": services.documents_of(g.resident.id),
            "village": village_values(),
            "errors": checked.errors if checked else [], "data": data or {}, "token": token or secrets.token_urlsafe(24),
            "max_mb": max_bytes() // (1024 * 1024), "picked": checked.picked if checked else {}}


@bp.route("/surat")
def letter_requests():
    """The resident's letter requests with status, date and actions."""
    page = max(1, request.args.get("halaman", 1, type=int))
    rows, total = services.requests_of(g.resident.id, page=page)
    return render_template("portal/letters/list.html", rows=rows, total=total, page=page, per_page=20,
                           Status=LetterStatus)


@bp.route("/surat/baru")
def choose_letter_type():
    """Step 1: pick a letter type; its requirements and fields are listed."""
    return render_template("portal/letters/choose.html", types=services.self_service_types())


@bp.route("/surat/baru/<int:type_id>", methods=["GET", "POST"])
def new_letter_request(type_id):
    """Step 2: documents, fields, purpose, phone; everything checked together, stored once."""
    letter_type = services.self_service_type(type_id) or abort(404)
    if request.method == "GET":
        data = {"phone": g.resident.phone or ""}
        return render_template("portal/letters/form.html", **_form_context(letter_type, data=data))
    token = request.form.get("submit_token", "")
    if not (20 <= len(token) <= 64):
        abort(400)
    checked = services.read_request_form(letter_type, g.resident, request.form, request.files)
    if checked.errors:
        db.session.rollback()
        return render_template("portal/letters/form.html",
                               **_form_context(letter_type, checked, token, request.form)), 400
    try:
        letter_request, created = services.submit_once(g.resident, letter_type, checked, token)
    except services.StaleForm:
        flash(_l("This form was already used. Please fill it in again."), "warning")
        return redirect(url_for("portal.new_letter_request", type_id=letter_type.id))
    if created:
        flash(_l("Your request was sent. The office processes requests during service hours."), "success")
    return redirect(url_for("portal.letter_request", request_id=letter_request.id))


@bp.route("/surat/<int:request_id>")
def letter_request(request_id):
    """One request: status, history, the office's reason, documents, and allowed actions."""
    item = owned_or_404(LetterRequest, request_id)
    actions = allowed_actions(item, Actor.for_resident(g.resident))
    return render_template("portal/letters/detail.html", item=item, actions=actions, labels=ACTION_LABELS,
                           fields=display_values(item.letter_type.fields, item.field_values), Status=LetterStatus)


@bp.route("/surat/<int:request_id>/ubah", methods=["GET", "POST"])
def edit_letter_request(request_id):
    """Fix a returned request (Belum Lengkap) and send it again."""
    item = owned_or_404(LetterRequest, request_id)
    if item.status != LetterStatus.INCOMPLETE:
        flash(_l("Only a request returned as incomplete can be changed."), "warning")
        return redirect(url_for("portal.letter_request", request_id=item.id))
    letter_type = item.letter_type
    if request.method == "GET":
        data = {"purpose": item.purpose, "note": item.note, "phone": item.phone,
                **{f"field_{k}": v for k, v in (item.field_values or {}).items()}}
        picked = {}
        for link in item.documents:
            picked.setdefault(link.requirement_id, []).append(link.document_id)
        context = _form_context(letter_type, data=data)
        context["picked"] = picked
        return render_template("portal/letters/form.html", **context, editing=item)
    checked = services.read_request_form(letter_type, g.resident, request.form, request.files)
    if checked.errors:
        db.session.rollback()
        return render_template("portal/letters/form.html", **_form_context(letter_type, checked, None, request.form),
                               editing=item), 400
    try:
        services.resubmit_request(item, g.resident, checked)
    except TransitionError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("portal.letter_request", request_id=item.id))
    db.session.commit()
    flash(_l("Your request was sent again."), "success")
    return redirect(url_for("portal.letter_request", request_id=item.id))


@bp.route("/surat/<int:request_id>/batal", methods=["POST"])
def cancel_letter_request(request_id):
    """Cancel one's own request while it is Belum Lengkap or Sedang Diperiksa."""
    item = owned_or_404(LetterRequest, request_id)
    try:
        transition(item, "cancel_own", Actor.for_resident(g.resident))
    except TransitionError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_l("The request was cancelled."), "success")
    return redirect(url_for("portal.letter_request", request_id=item.id))


@bp.route("/arsip-surat")
def issued_letters():
    """Arsip Surat: the resident's issued letters."""
    return render_template("portal/letters/archive.html", letters=services.issued_letters_of(g.resident.id))


@bp.route("/arsip-surat/<int:letter_id>.pdf")
def issued_letter_pdf(letter_id):
    """The stored PDF of one of the resident's issued letters (identical on every download)."""
    letter = owned_or_404(IssuedLetter, letter_id)
    response = send_file(storage.path_of("letters", letter.pdf_file), mimetype="application/pdf", max_age=0)
    response.headers["Content-Disposition"] = f'inline; filename="surat-{letter.id}.pdf"'
    return response


# --- documents ------------------------------------------------------------------------------

@bp.route("/dokumen", methods=["GET", "POST"])
def documents():
    """Dokumen Saya: list, upload (JPEG/PNG/PDF, checked by content)."""
    errors = []
    if request.method == "POST":
        upload = request.files.get("file")
        title = (request.form.get("title") or "").strip()[:120]
        if not upload or not upload.filename:
            errors.append(_l("Choose a file to upload."))
        if not title:
            errors.append(_l("Give the document a name, e.g. \"KTP\"."))
        clean = None
        if upload and upload.filename:
            try:
                clean = clean_upload(upload)
            except UploadError as exc:
                errors.append(exc.message)
        if not errors:
            services.save_document(g.resident.id, clean, title)
            db.session.commit()
            flash(_l("The document was saved."), "success")
            return redirect(url_for("portal.documents"))
    return render_template("portal/letters/documents.html", documents=services.documents_of(g.resident.id),
                           errors=errors, max_mb=max_bytes() // (1024 * 1024),
                           in_use=services.documents_in_use(g.resident.id)), (400 if errors else 200)


@bp.route("/dokumen/<int:document_id>")
def document_file(document_id):
    """One of the resident's own documents, shown inline."""
    doc = owned_or_404(ResidentDocument, document_id)
    response = send_file(storage.path_of("documents", doc.stored_name), mimetype=doc.content_type, max_age=0)
    response.headers["Content-Disposition"] = f'inline; filename="dokumen-{doc.id}.{doc.stored_name.rsplit(".", 1)[-1]}"'
    return response


@bp.route("/dokumen/<int:document_id>/hapus", methods=["POST"])
def delete_document(document_id):
    """Delete one's own document unless a request still being processed uses it."""
    doc = owned_or_404(ResidentDocument, document_id)
    try:
        name = services.delete_document(doc)
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        storage.delete("documents", name)
        flash(_l("The document was deleted."), "success")
    return redirect(url_for("portal.documents"))
