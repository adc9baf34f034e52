"""Unbound extension objects, bound to an app in :func:`app.create_app`.

Flask-AppBuilder and its Babel and Limiter objects are created per app inside the factory
(one ``AppBuilder`` per app: see STACK_NOTES.md), so they are not here.
"""
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

#: ``db.Model`` is FAB's ``Model``, so migrations see FAB's ``ab_*`` tables and ours together.
db = SQLA(model_class=Model)
migrate = Migrate()
csrf = CSRFProtect()
