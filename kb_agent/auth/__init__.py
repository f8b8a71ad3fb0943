"""Sign-in and access: users, roles and groups (argon2 hashes), sessions, throttling.

Everything lives in ``settings.users_db`` (SQLite). The web app and ``kb-agent users`` use
:class:`AuthService`; a signed-in :class:`User` becomes the :class:`~kb_agent.access.Principal`
every knowledge-base call is made for.
"""

from kb_agent.auth.service import AuthService, Bootstrap
from kb_agent.auth.users import User

__all__ = ["AuthService", "Bootstrap", "User"]
