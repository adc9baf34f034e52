"""The one way portal routes load a resident's objects by id (STYLE.md habit 6)."""
from flask import abort, g

from app.extensions import db


def owned_or_404(model, object_id, owner_attr="resident_id"):
    """Return ``model`` row ``object_id`` if it belongs to the logged-in resident, else abort 404.

    404, not 403: another resident's ids must not even be confirmed to exist (cases/).
    """
    obj = db.session.get(model, object_id)
    if obj is None or getattr(obj, owner_attr) != g.resident.id:
        abort(404)
    return obj
