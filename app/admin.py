"""The one place that registers Flask-AppBuilder views: the menu and permission surface."""


def register_admin_views(appbuilder):
    """Register every operator-panel view on ``appbuilder`` (called inside an app context)."""
