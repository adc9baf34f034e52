"""Letter-request services for the portal and the office: types on offer, documents, requests.

Views call one of these, then commit. Every check of a request form is gathered into one
list of errors (STYLE.md habit 3); nothing is stored until all of them pass.
"""
from dataclasses import dataclass, field

from app.core.i18n import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.core import storage
from app.core.codes import MARITAL_SINGLE, STATUS_ALIVE
from app.core.uploads import UploadError, clean_upload
from app.core.validators import normalize_phone
from app.extensions import db
from app.letters.fields import clean_values
from app.letters.models import (IssuedLetter, LetterRequest, LetterRequestDocument, LetterStatus, LetterType,
                                ResidentDocument)
from app.letters.workflow import Actor, transition

#: Statuses in which a request is still being processed: its documents cannot be deleted.
OPEN_STATUSES = (LetterStatus.INCOMPLETE, LetterStatus.CHECKING, LetterStatus.AWAITING_SIGNATURE,
                 LetterStatus.READY)
MAX_PURPOSE = 500
MAX_NOTE = 1000


def self_service_types():
    """Letter types offered in the portal: active, self-service and about the requester."""
    return db.session.scalars(select(LetterType).where(
        LetterType.active.is_(True), LetterType.self_service.is_(True), LetterType.about_requester.is_(True))
        .order_by(LetterType.sort_order, LetterType.name)).all()


def self_service_type(type_id):
    """The self-service type with ``type_id``, or None."""
    return next((t for t in self_service_types() if t.id == type_id), None)


def eligibility_errors(letter_type, resident):
    """Reasons why ``resident`` cannot get ``letter_type`` (empty when they can).

    Rules: only living residents (DOMAIN.md §1); a "belum menikah" letter needs marital status
    BELUM KAWIN in the register (DOMAIN.md §5).
    """
    errors = []
    if resident.basic_status_id != STATUS_ALIVE:
        errors.append(_l("Only living residents can be the subject of a letter."))
    if letter_type.code == "belum_menikah" and resident.marital_status_id != MARITAL_SINGLE:
        errors.append(_l("The register does not record you as unmarried (Belum Kawin). Please contact the "
                         "village office if this is wrong."))
    return errors


# --- documents ------------------------------------------------------------------------------

def documents_of(resident_id):
    """The resident's documents, newest first."""
    return db.session.scalars(select(ResidentDocument).where(ResidentDocument.resident_id == resident_id)
                              .order_by(ResidentDocument.id.desc())).all()


def save_document(resident_id, clean, title, requirement_id=None):
    """Store an accepted upload as a resident document (file first, atomically; then the row).

    Returns:
        ResidentDocument (flushed).
    """
    name = storage.store_bytes("documents", clean.data, clean.extension)
    doc = ResidentDocument(resident_id=resident_id, requirement_id=requirement_id, title=title[:120],
                           stored_name=name, content_type=clean.content_type, size_bytes=len(clean.data))
    db.session.add(doc)
    db.session.flush()
    return doc


def document_in_use(document_id):
    """True when the document is attached to a request that is still being processed."""
    return bool(db.session.scalar(
        select(func.count(LetterRequestDocument.id)).join(LetterRequest, LetterRequest.id == LetterRequestDocument.request_id)
        .where(LetterRequestDocument.document_id == document_id,
               LetterRequest.status.in_([int(s) for s in OPEN_STATUSES]))))


def documents_in_use(resident_id):
    """Ids of the resident's documents attached to requests still being processed (one query)."""
    return set(db.session.scalars(
        select(LetterRequestDocument.document_id).join(LetterRequest, LetterRequest.id == LetterRequestDocument.request_id)
        .where(LetterRequest.resident_id == resident_id, LetterRequest.status.in_([int(s) for s in OPEN_STATUSES]))))


def delete_document(document):
    """Delete a resident's document and its file.

    Raises:
        ValueError: it is attached to a request that is still being processed, or to any
            request at all (the office's record must keep it).
    """
    if document_in_use(document.id):
        raise ValueError(str(_l("This document belongs to a request that is still being processed.")))
    attached = db.session.scalar(select(func.count(LetterRequestDocument.id))
                                 .where(LetterRequestDocument.document_id == document.id))
    if attached:
        raise ValueError(str(_l("This document is part of a finished request and is kept with it.")))
    name = document.stored_name
    db.session.delete(document)
    db.session.flush()
    return name


# --- the request form -----------------------------------------------------------------------

@dataclass
class RequestForm:
    """A validated request form: what to store once every check has passed."""

    purpose: str = ""
    note: str = ""
    phone: str = ""
    field_values: dict = field(default_factory=dict)
    #: requirement id -> ids of existing documents of the resident
    picked: dict = field(default_factory=dict)
    #: requirement id -> CleanFile uploads not stored yet
    uploads: dict = field(default_factory=dict)
    #: (name, message) pairs, name = form field or "" for the whole form
    errors: list = field(default_factory=list)


def read_request_form(letter_type, resident, form, files):
    """Check everything a resident sent for ``letter_type``; store nothing.

    Args:
        letter_type: the :class:`LetterType`.
        resident: the requester.
        form: submitted fields (``purpose``, ``note``, ``phone``, ``field_<key>``, and
            ``doc_<requirement id>`` with chosen document ids, repeated).
        files: uploaded files (``upload_<requirement id>``, repeated).

    Returns:
        RequestForm with ``errors`` listing every problem found.
    """
    result = RequestForm()
    result.errors += [("", e) for e in eligibility_errors(letter_type, resident)]
    result.field_values, field_errors = clean_values(letter_type.fields, form)
    result.errors += [(f"field_{k}", m) for k, m in field_errors]
    result.purpose = (form.get("purpose") or "").strip()
    if not result.purpose:
        result.errors.append(("purpose", _l("Please write what the letter is for.")))
    elif len(result.purpose) > MAX_PURPOSE:
        result.errors.append(("purpose", _l("The purpose is too long (at most %(n)d characters).", n=MAX_PURPOSE)))
    result.note = (form.get("note") or "").strip()
    if len(result.note) > MAX_NOTE:
        result.errors.append(("note", _l("The note is too long (at most %(n)d characters).", n=MAX_NOTE)))
    result.phone, phone_error = normalize_phone(form.get("phone"))
    if phone_error:
        result.errors.append(("phone", phone_error))

    own_ids = {d.id for d in documents_of(resident.id)}
    for requirement in letter_type.requirements:
        picked = []
        for raw in form.getlist(f"doc_{requirement.id}") if hasattr(form, "getlist") else []:
            if str(raw).isdigit() and int(raw) in own_ids:
                picked.append(int(raw))
            elif raw:
                result.errors.append((f"doc_{requirement.id}", _l("Choose one of your own documents.")))
        uploads = []
        for upload in files.getlist(f"upload_{requirement.id}") if hasattr(files, "getlist") else []:
            if not upload or not upload.filename:
                continue
            try:
                uploads.append(clean_upload(upload))
            except UploadError as exc:
                result.errors.append((f"upload_{requirement.id}", _l("%(requirement)s: %(problem)s",
                                                                     requirement=requirement.name, problem=exc.message)))
        if not picked and not uploads and not any(k == f"upload_{requirement.id}" for k, _ in result.errors):
            result.errors.append((f"doc_{requirement.id}", _l("Add a document for: %(requirement)s", requirement=requirement.name)))
        result.picked[requirement.id] = sorted(set(picked))
        result.uploads[requirement.id] = uploads
    return result


def _attach(request, resident_id, checked):
    """Store the new uploads and link every document to its requirement (replacing old links)."""
    request.documents.clear()
    db.session.flush()
    for requirement_id, ids in checked.picked.items():
        new_docs = [save_document(resident_id, clean, _title(requirement_id, i), requirement_id)
                    for i, clean in enumerate(checked.uploads.get(requirement_id, []), start=1)]
        for doc_id in [*ids, *(d.id for d in new_docs)]:
            request.documents.append(LetterRequestDocument(requirement_id=requirement_id, document_id=doc_id))


def _title(requirement_id, index):
    from app.letters.models import Requirement
    requirement = db.session.get(Requirement, requirement_id)
    return f"{requirement.name} ({index})" if index > 1 else requirement.name


def submit_request(resident, letter_type, checked, submit_token):
    """Create and submit a request from a checked form (caller commits).

    A second submit with the same ``submit_token`` returns the first request instead.

    Returns:
        tuple ``(LetterRequest, created: bool)``.
    """
    existing = db.session.scalar(select(LetterRequest).where(LetterRequest.submit_token == submit_token,
                                                             LetterRequest.resident_id == resident.id))
    if existing is not None:
        return existing, False
    request = LetterRequest(resident_id=resident.id, letter_type_id=letter_type.id, letter_type=letter_type,
                            purpose=checked.purpose, note=checked.note, phone=checked.phone,
                            field_values=checked.field_values, submit_token=submit_token, origin="portal")
    transition(request, "submit", Actor.for_resident(resident))
    _attach(request, resident.id, checked)
    db.session.flush()
    return request, True


class StaleForm(ValueError):
    """The form's one-time token was already used by someone else: show the form again."""


def submit_once(resident, letter_type, checked, submit_token):
    """:func:`submit_request` and commit; a concurrent double submit ends with one request.

    Returns:
        tuple ``(LetterRequest, created: bool)``.

    Raises:
        StaleForm: the token belongs to another resident's request (nothing is written).
    """
    try:
        request, created = submit_request(resident, letter_type, checked, submit_token)
        db.session.commit()
        return request, created
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(select(LetterRequest).where(LetterRequest.submit_token == submit_token))
        if existing is None:
            raise
        if existing.resident_id != resident.id:
            raise StaleForm(submit_token) from None
        return existing, False


def resubmit_request(request, resident, checked):
    """Store the corrections of a returned request and send it again (caller commits)."""
    request.purpose, request.note, request.phone = checked.purpose, checked.note, checked.phone
    request.field_values = checked.field_values
    _attach(request, resident.id, checked)
    transition(request, "resubmit", Actor.for_resident(resident))
    return request


def create_desk_letter(resident, letter_type, *, field_values, purpose, phone, actor, issue_options, submit_token):
    """Make and print a letter for ``resident`` at the office desk (caller commits).

    The request is created with origin "desk", submitted and printed in the caller's
    transaction through :func:`~app.letters.workflow.transition`, so it gets the same number
    sequence, archive row and history as a portal request. Requirements are not checked: the
    operator sees the papers in person. A second submit with the same ``submit_token`` returns
    the first request.

    Returns:
        tuple ``(LetterRequest, created: bool)``.

    Raises:
        TransitionError, IssueError: as :func:`transition` (nothing to commit then).
    """
    existing = db.session.scalar(select(LetterRequest).where(LetterRequest.submit_token == submit_token))
    if existing is not None:
        return existing, False
    item = LetterRequest(resident_id=resident.id, resident=resident, letter_type_id=letter_type.id,
                         letter_type=letter_type, purpose=purpose, note="", phone=phone or "",
                         field_values=field_values, origin="desk", submit_token=submit_token)
    transition(item, "submit", actor)
    transition(item, "print", actor, issue_options=issue_options)
    return item, True


def requests_of(resident_id, *, page=1, per_page=20):
    """One page of a resident's requests, newest first: ``(rows, total)``."""
    base = select(LetterRequest).where(LetterRequest.resident_id == resident_id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.scalars(base.order_by(LetterRequest.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total


def status_counts(resident_id):
    """How many of the resident's requests are in each status, in one GROUP BY query.

    Returns:
        dict ``{LetterStatus: int}`` (statuses with no request are absent).
    """
    rows = db.session.execute(select(LetterRequest.status, func.count(LetterRequest.id))
                              .where(LetterRequest.resident_id == resident_id).group_by(LetterRequest.status))
    return {LetterStatus(status): count for status, count in rows}


def issued_letters_of(resident_id):
    """The resident's issued letters (the "Arsip Surat"), newest first."""
    return db.session.scalars(select(IssuedLetter).where(IssuedLetter.resident_id == resident_id)
                              .order_by(IssuedLetter.id.desc())).all()
