"""The one place that registers Flask-AppBuilder views: the menu and permission surface."""
from app.core.i18n import lazy_gettext as _l

from app.letters.admin import (DeskLetterView, IssuedLetterView, LetterRequestView, LetterTypeView,
                               RequirementView)
from app.portal.admin import PortalAccountView, PortalPinSlipView
from app.aid.admin import register_aid_views
from app.messages.admin import register_message_views
from app.residents.transfer_admin import register_transfer_views
from app.residents.admin import (AreaView, FamilyMembersView, FamilyView, OfficialView,
                                 ResidentView, VillageView)


def register_admin_views(appbuilder):
    """Register every operator-panel view on ``appbuilder`` (called inside an app context).

    Menu names are plain English and must match ``REGISTER_MENUS`` in :mod:`app.security`
    (the roles are built from them); ``label``/``category_label`` are what the operator sees.
    Permissions: each view's ``can_*`` plus one per action: ``create_portal_account`` and
    ``reset_pin`` on ResidentView, ``reset_pin`` on PortalAccountView, ``can_print_slip`` on
    PortalPinSlipView.

    Letters (``LETTER_MENUS``): each workflow action of LetterRequestView is its own permission
    (``can_return_request``, ``can_print_letter``, ``can_sign_letter``, ``can_collect_letter``,
    ``can_cancel_request``), plus ``can_document`` (a request's documents), ``can_pdf`` on
    IssuedLetterView and ``can_desk`` on DeskLetterView.
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
    register_transfer_views(appbuilder)

    letters = {"category": "Letters", "category_label": _l("Letters"), "category_icon": "fa-envelope"}
    appbuilder.add_view(LetterRequestView, "Letter requests", label=_l("Letter requests"), icon="fa-inbox",
                        **letters)
    appbuilder.add_view(DeskLetterView, "Letter at the desk", label=_l("Letter at the desk"), icon="fa-print",
                        **letters)
    appbuilder.add_view(IssuedLetterView, "Issued letters", label=_l("Issued letters"), icon="fa-archive",
                        **letters)
    appbuilder.add_view(LetterTypeView, "Letter types", label=_l("Letter types"), icon="fa-file-text-o",
                        **letters)
    appbuilder.add_view(RequirementView, "Required documents", label=_l("Required documents"),
                        icon="fa-paperclip", **letters)

    register_message_views(appbuilder)
    register_aid_views(appbuilder)
