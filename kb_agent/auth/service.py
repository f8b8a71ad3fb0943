"""AuthService: what the web app and the CLI call — sign in, resolve a session, bootstrap."""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass

from kb_agent.auth.db import UsersDB
from kb_agent.auth.keys import ApiKey, ApiKeyStore
from kb_agent.auth.sessions import SessionStore, SignInThrottle
from kb_agent.auth.users import User, UserStore
from kb_agent.config import Settings
from kb_agent.errors import AuthError, ThrottledError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bootstrap:
    """The first admin created on first start; ``password`` is set only when it was generated."""

    username: str
    password: str | None


class AuthService:
    def __init__(self, settings: Settings):
        self.settings = settings
        web = settings.web
        self.db = UsersDB(settings.users_db)
        self.users = UserStore(self.db)
        self.sessions = SessionStore(self.db, web.session_ttl_minutes * 60)
        self.throttle = SignInThrottle(self.db, web.max_failed_signins, web.signin_lockout_minutes * 60)
        self.keys = ApiKeyStore(self.db)

    def sign_in(self, username: str, password: str, address: str | None = None) -> tuple[User, str]:
        """(user, session token); raises AuthError with a message fit for the sign-in page."""
        username = (username or "").strip()
        wait = self.throttle.retry_after(username, address)
        if wait > 0:
            raise ThrottledError("Too many failed sign-ins.", retry_after_s=wait,
                                 hint=f"Try again in {max(1, math.ceil(wait / 60))} minute(s).")
        user = self.users.verify(username, password or "")
        if user is None:
            self.throttle.record_failure(username, address)
            log.info("failed sign-in for %r from %s", username, address)
            raise AuthError("Wrong user name or password.")
        self.throttle.reset(username)
        return user, self.sessions.create(user.username)

    def user_for_token(self, token: str | None) -> User | None:
        name = self.sessions.username(token)
        if name is None:
            return None
        user = self.users.get(name)
        return user if user is not None and not user.disabled else None

    def user_for_key(self, token: str | None, address: str | None = None) -> tuple[User, ApiKey]:
        """The owner of an API key and the key; AuthError for an unknown, expired or revoked key
        or a disabled owner (the same message for each), ThrottledError after too many bad keys
        from one address (counted with failed password sign-ins)."""
        wait = self.throttle.retry_after("", address)
        if wait > 0:
            raise ThrottledError("Too many failed sign-ins.", retry_after_s=wait,
                                 hint=f"Try again in {max(1, math.ceil(wait / 60))} minute(s).")
        key = self.keys.resolve(token)
        user = self.users.get(key.username) if key is not None else None
        if key is None or user is None or user.disabled:
            self.throttle.record_failure("", address)
            log.info("bad API key from %s", address)
            raise AuthError("Invalid API key.", hint="Check the key, or create a new one with `kb-agent keys create`.")
        return user, key

    def sign_out(self, token: str | None) -> None:
        self.sessions.revoke(token)

    def ensure_first_admin(self) -> Bootstrap | None:
        """Create the first admin when there are no users; None if users already exist."""
        if self.users.count() > 0:
            return None
        web = self.settings.web
        given = web.admin_password.get_secret_value() if web.admin_password else None
        password = given or secrets.token_urlsafe(12)
        self.users.add(web.admin_username, password, role="admin")
        return Bootstrap(web.admin_username, None if given else password)
