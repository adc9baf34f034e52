"""The letter-request workflow: one transitions table, written by one function (STYLE.md habit 4).

No other code writes ``LetterRequest.status``. Each move names the roles allowed, whether a note
is required, and its side effect (issuing the letter when printed, revoking it when an issued
letter's request is cancelled). Statuses and moves: DOMAIN.md §5.
"""
from dataclasses import dataclass, field

from app.core.i18n import lazy_gettext as _l
from sqlalchemy import update

from app.core.models import utcnow
from app.extensions import db
from app.letters.models import LetterRequest, LetterRequestHistory, LetterStatus

RESIDENT, OPERATOR, VILLAGE_HEAD = "resident", "operator", "village_head"
S = LetterStatus


@dataclass(frozen=True)
class Move:
    """One allowed move: the next status, who may make it, whether a reason is required."""

    to: LetterStatus
    roles: frozenset
    needs_note: bool = False
    #: "issue" (number + archive + PDF) or "revoke" (mark the issued letter revoked).
    effect: str | None = None


def _roles(*names):
    return frozenset(names)


#: (current status or None for a new request) -> {action: Move}. Every status has an entry.
TRANSITIONS = {
    None: {
        "submit": Move(S.CHECKING, _roles(RESIDENT, OPERATOR)),
    },
    S.INCOMPLETE: {
        "resubmit": Move(S.CHECKING, _roles(RESIDENT)),
        "cancel_own": Move(S.CANCELLED, _roles(RESIDENT)),
        "cancel": Move(S.CANCELLED, _roles(OPERATOR), needs_note=True),
    },
    S.CHECKING: {
        "return": Move(S.INCOMPLETE, _roles(OPERATOR), needs_note=True),
        "print": Move(S.AWAITING_SIGNATURE, _roles(OPERATOR), effect="issue"),
        "cancel_own": Move(S.CANCELLED, _roles(RESIDENT)),
        "cancel": Move(S.CANCELLED, _roles(OPERATOR), needs_note=True),
    },
    S.AWAITING_SIGNATURE: {
        # The operator may sign only where the village has no signing step (Actor.can_sign).
        "sign": Move(S.READY, _roles(VILLAGE_HEAD)),
        "cancel": Move(S.CANCELLED, _roles(OPERATOR), needs_note=True, effect="revoke"),
    },
    S.READY: {
        "collect": Move(S.COLLECTED, _roles(OPERATOR)),
        "cancel": Move(S.CANCELLED, _roles(OPERATOR), needs_note=True, effect="revoke"),
    },
    S.COLLECTED: {},
    S.CANCELLED: {},
}

ACTION_LABELS = {
    "submit": _l("Send"), "resubmit": _l("Send again"), "cancel_own": _l("Cancel request"),
    "cancel": _l("Cancel"), "return": _l("Return as incomplete"), "print": _l("Print letter"),
    "sign": _l("Mark as signed"), "collect": _l("Mark as collected"),
}


class TransitionError(Exception):
    """A move that is not allowed (wrong status, wrong role, missing reason, stale page).

    ``message`` is a translatable string for the user.
    """

    def __init__(self, message):
        # The message is translated when shown, not here (there may be no request yet).
        super().__init__(getattr(message, "_args", (message,))[0])
        self.message = message


@dataclass
class Actor:
    """Who acts: a resident (portal) or an operator-panel user with workflow roles.

    ``roles`` holds RESIDENT, OPERATOR and/or VILLAGE_HEAD.
    """

    roles: frozenset
    user: object = None
    resident: object = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def for_resident(cls, resident):
        return cls(roles=_roles(RESIDENT), resident=resident)

    @classmethod
    def for_user(cls, user, *, signing_step=True):
        """Map FAB roles to workflow roles: Admin/Operator operate, Kepala Desa signs.

        Where the village has no signing step (``signing_step`` False), operators also sign.
        """
        names = {role.name for role in getattr(user, "roles", [])}
        roles = set()
        if names & {"Admin", "Operator"}:
            roles.add(OPERATOR)
            if not signing_step:
                roles.add(VILLAGE_HEAD)
        if "Kepala Desa" in names or "Admin" in names:
            roles.add(VILLAGE_HEAD)
        return cls(roles=frozenset(roles), user=user)


def allowed_actions(request, actor):
    """Actions ``actor`` may take on ``request`` now, in table order (for buttons)."""
    if RESIDENT in actor.roles and (actor.resident is None or request.resident_id != actor.resident.id):
        return []
    moves = TRANSITIONS[LetterStatus(request.status)]
    return [action for action, move in moves.items() if move.roles & actor.roles]


def transition(request, action, actor, note="", *, issue_options=None):
    """Move ``request`` by ``action``: check the table, write the status, history, notify.

    Args:
        request: a :class:`LetterRequest` (for ``submit``: a new, unsaved one).
        action: a key of the move table for the request's status.
        actor: :class:`Actor`.
        note: the reason; required for "return" and the office's "cancel".
        issue_options: for "print": keyword arguments for
            :func:`app.letters.issuing.issue_letter` (signing mode, signatory).

    Returns:
        The request, flushed (the caller commits).

    Raises:
        TransitionError: the move is not in the table for this status, the actor lacks the
            role or does not own the request, the reason is missing, or someone else changed
            the request meanwhile (nothing is written in every case).
    """
    from app.notifications.services import notify_letter_status

    # A request not yet stored has no status: only "submit" applies to it.
    current = None if request.id is None else LetterStatus(request.status)
    move = TRANSITIONS[current].get(action)
    if move is None:
        raise TransitionError(_l("This request cannot be changed that way while it is \"%(status)s\".",
                                 status=current.label if current is not None else ""))
    if not (move.roles & actor.roles):
        raise TransitionError(_l("You are not allowed to do that."))
    if RESIDENT in actor.roles and not (OPERATOR in actor.roles) and request.resident_id != actor.resident.id:
        raise TransitionError(_l("You are not allowed to do that."))
    note = (note or "").strip()
    if move.needs_note and not note:
        raise TransitionError(_l("Please give a reason."))

    if current is None:
        request.status = move.to
        db.session.add(request)
        db.session.flush()
    else:
        # Compare-and-set: a second click or a second operator on a stale page changes nothing.
        changed = db.session.execute(
            update(LetterRequest)
            .where(LetterRequest.id == request.id, LetterRequest.status == int(current))
            .values(status=int(move.to), updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise TransitionError(_l("This request was changed by someone else. Please reload the page."))
        request.status = int(move.to)

    if move.effect == "issue":
        from app.letters.issuing import issue_letter
        request.issued_letter = issue_letter(request, actor, **(issue_options or {}))
    elif move.effect == "revoke" and request.issued_letter is not None:
        request.issued_letter.revoked_at = utcnow()
        request.issued_letter.revoked_reason = note
    if action in ("return", "cancel"):
        request.office_reason = note

    db.session.add(LetterRequestHistory(
        request_id=request.id, action=action, from_status=None if current is None else int(current),
        to_status=int(move.to), actor_user_id=getattr(actor.user, "id", None),
        actor_resident_id=getattr(actor.resident, "id", None), note=note))
    db.session.flush()
    notify_letter_status(request, action, note)
    return request
