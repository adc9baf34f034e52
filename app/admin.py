"""The one place that registers Flask-AppBuilder views: the menu and permission surface."""
from flask_babel import lazy_gettext as _l

from app.portal.admin import PortalAccountView, PortalPinSlipView
from app.residents.admin import (AreaView, FamilyMembersView, FamilyView, OfficialView,
                                 ResidentView, VillageView)


def register_admin_views(appbuilder):
    """Register every operator-panel view on ``appbuilder`` (called inside an app context).

    Menu names are plain English and must match ``REGISTER_MENUS`` in :mod:`app.security`
    (the roles are built from them); ``label``/``category_label`` are what the operator sees.
    Permissions: each view's ``can_*`` plus one per action: ``create_portal_account`` and
    ``reset_pin`` on ResidentView, ``reset_pin`` on PortalAccountView, ``can_print_slip`` on
    PortalPinSlipView.
    """
    register = {"category": "Register", "category_label": _l("Population register"), "category_icon": "fa-book"}
    appbuilder.add_view(VillageView, "Village profile", label=_l("Village profile"), icon="fa-home",
                        **register)
    appbuilder.add_view(AreaView, "Areas", label=_l("Areas"), icon="fa-map-signs", **register)
    appbuilder.add_view(FamilyView, "Families", label=_l("Families"), icon="fa-users", **register)
    appbuilder.add_view(ResidentView, "Residents", label=_l("Residents"), icon="fa-user", **register)
    appbuilder.add_view(OfficialView, "Village officials", label=_l("Village officials"),
                        icon="fa-id-badge", **register)
    appbuilder.add_view(PortalAccountView, "Portal accounts", label=_l("Portal accounts"),
                        icon="fa-key", **register)
    appbuilder.add_view_no_menu(FamilyMembersView)
    appbuilder.add_view_no_menu(PortalPinSlipView)
