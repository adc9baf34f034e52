"""Program Bantuan page of Layanan Mandiri, on the portal blueprint (one guard).

There are no ids in these URLs: the page is built from ``g.resident`` only, so no other
resident's aid can be reached.
"""
from flask import g, render_template

from app.aid import services
from app.portal.routes import bp


@bp.route("/bantuan")
def aid():
    """Bantuan: every programme the resident or their KK receives, each once, active first."""
    return render_template("portal/aid/list.html", programs=services.aid_for_resident(g.resident),
                           has_family=g.resident.family_id is not None)
