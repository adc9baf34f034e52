"""Operator roles as data, and the security manager that syncs them.

Roles are Flask-AppBuilder "builtin roles": regex rules over (view, permission) pairs, evaluated
at every request from ``FAB_ROLES``, so the code is the single source of truth. ``flask desa
init`` (idempotent) creates the role rows so users can be given them, and writes the
permissions of the Admin role. A view that is not listed here is reachable by Admin only:
views are secured by default.
"""
from flask import g, has_app_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Permission, PermissionView, ViewMenu, assoc_permissionview_role,
)
from sqlalchemy import select

ROLE_ADMIN = "Admin"
ROLE_OPERATOR = "Operator"
ROLE_VILLAGE_HEAD = "Kepala Desa"
ROLE_VIEWER = "Viewer"

#: The register's admin views (class names) and their menu entries (English names).
REGISTER_VIEWS = ("VillageView", "AreaView", "FamilyView", "ResidentView", "OfficialView",
                  "PortalAccountView", "FamilyMembersView", "PortalPinSlipView", "RegisterTransferView")
REGISTER_MENUS = ("Register", "Village profile", "Areas", "Families", "Residents",
                  "Village officials", "Portal accounts", "Import and export")

#: The letters admin views (app/letters/admin.py) and their menu entries.
LETTER_VIEWS = ("LetterRequestView", "DeskLetterView", "IssuedLetterView", "LetterTypeView",
                "RequirementView")
LETTER_MENUS = ("Letters", "Letter requests", "Letter at the desk", "Issued letters", "Letter types",
                "Required documents")
#: Kotak Pesan and Program Bantuan for operators (app/messages/admin.py, app/aid/admin.py).
MESSAGE_VIEWS, MESSAGE_MENUS = ("OfficeMessageView",), ("Messages", "Message inbox")
AID_VIEWS, AID_MENUS = ("AidProgramView",), ("Aid", "Aid programmes")
#: What the Kepala Desa and the Viewer see of letters: the queue and the archive.
_LETTER_READ_VIEWS = ("LetterRequestView", "IssuedLetterView")
_LETTER_READ_MENUS = ("Letters", "Letter requests", "Issued letters")

#: Every operator may edit their own profile and password.
_OWN_PROFILE = [
    [r"^UserDBModelView$", r"^(can_userinfo|resetmypassword|userinfoedit)$"],
    [r"^(ResetMyPasswordView|UserInfoEditView)$", r"^can_this_form_(get|post)$"],
]


def _alternatives(names):
    """Return a regex matching exactly one of ``names``."""
    return "^(" + "|".join(names) + ")$"


def build_roles():
    """Return the ``FAB_ROLES`` mapping: role name -> list of [view regex, permission regex].

    Operator: everything on the register, including the portal-account actions and the PIN
    slip, and everything under Letters, every workflow action included (the workflow itself
    refuses "sign" to operators while the village has a signing step). Kepala Desa: reads the
    register; reads the letter queue and archive, opens documents and PDFs, and signs
    (``can_sign_letter``). Viewer: list and show only. None of them gets FAB's Security menu or
    views (users, roles): that stays with Admin.
    """
    views, menus = _alternatives(REGISTER_VIEWS), _alternatives(REGISTER_MENUS)
    # Readers do not see the import/export page in their menu (they may not open it).
    read_menus = _alternatives(tuple(m for m in REGISTER_MENUS if m != "Import and export"))
    letter_views, letter_menus = _alternatives(LETTER_VIEWS), _alternatives(LETTER_MENUS)
    letters_read, letters_read_menus = _alternatives(_LETTER_READ_VIEWS), _alternatives(_LETTER_READ_MENUS)
    service_views = _alternatives(MESSAGE_VIEWS + AID_VIEWS)
    service_menus = _alternatives(MESSAGE_MENUS + AID_MENUS)
    read = r"^(can_list|can_show|can_get|can_info)$"
    # FAB names an @action's permission after the action, without the "can_" prefix.
    operate = r"^(can_.*|create_portal_account|reset_pin)$"
    menu = r"^menu_access$"
    return {
        ROLE_OPERATOR: [[views, operate], [menus, menu], [letter_views, r"^can_.*$"], [letter_menus, menu],
                        [service_views, r"^can_.*$"], [service_menus, menu], *_OWN_PROFILE],
        ROLE_VILLAGE_HEAD: [[views, read], [read_menus, menu],
                            [r"^LetterRequestView$", r"^(can_list|can_show|can_document|can_sign_letter)$"],
                            [r"^IssuedLetterView$", r"^(can_list|can_show|can_pdf)$"],
                            [letters_read_menus, menu], [service_views, read], [service_menus, menu],
                            *_OWN_PROFILE],
        ROLE_VIEWER: [[views, read], [read_menus, menu], [letters_read, read], [letters_read_menus, menu],
                      [service_views, read], [service_menus, menu],
                      *_OWN_PROFILE],
    }


class BalaiSecurityManager(SecurityManager):
    """FAB's SQLAlchemy security manager with an explicit, idempotent role sync.

    Also answers permission checks of database roles (Admin) from one query per request:
    FAB asks the database once per check, and an operator page makes about 30 checks (menu,
    buttons, related views). See bench/README.md (issue 6).
    """

    def _role_permissions(self, role_ids):
        """The ``{(permission name, view name)}`` pairs granted to the database roles ``role_ids``.

        Loaded with one query and kept for the rest of the application context (one request),
        so a permission changed by another request is seen by the next request.
        """
        key = tuple(sorted(role_ids))
        cache = g.setdefault("balai_role_permissions", {}) if has_app_context() else {}
        if key not in cache:
            query = (select(Permission.name, ViewMenu.name)
                     .select_from(PermissionView)
                     .join(Permission, PermissionView.permission_id == Permission.id)
                     .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
                     .join(assoc_permissionview_role,
                           assoc_permissionview_role.c.permission_view_id == PermissionView.id)
                     .where(assoc_permissionview_role.c.role_id.in_(key)))
            cache[key] = {(permission, view) for permission, view in self.session.execute(query)}
        return cache[key]

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        """True when one of the database roles ``role_ids`` has ``permission_name`` on ``view_name``."""
        return (permission_name, view_name) in self._role_permissions(role_ids)

    def sync_roles(self):
        """Create or update the permission rows and the role rows. Safe to run any number of times.

        Returns:
            list of role names that exist afterwards.
        """
        # Builtin roles get no permission rows: FAB matches their regexes at request time.
        # (FAB's own create_db would store the regexes as permission names, and create tables,
        # which is the migrations' job.) Admin must exist before the permissions are added,
        # because FAB grants each new permission to it.
        for name in (*self.builtin_roles, self.auth_role_admin, self.auth_role_public):
            self.add_role(name)
        self.appbuilder.add_permissions(update_perms=True)
        return sorted(role.name for role in self.get_all_roles())


def landing_endpoint(user):
    """Where an operator-panel user starts: the letter queue for a Kepala Desa, else residents."""
    names = {role.name for role in getattr(user, "roles", None) or []}
    if ROLE_VILLAGE_HEAD in names and not names & {ROLE_ADMIN, ROLE_OPERATOR}:
        return "LetterRequestView.list"
    return "ResidentView.list"
