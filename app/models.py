"""Import every model module so SQLAlchemy's mappers and Alembic's autogenerate see them all."""
from app.aid import models as aid  # noqa: F401
from app.core import codes  # noqa: F401
from app.letters import models as letters  # noqa: F401
from app.messages import models as messages  # noqa: F401
from app.notifications import models as notifications  # noqa: F401
from app.portal import models as portal  # noqa: F401
from app.residents import models as residents  # noqa: F401
