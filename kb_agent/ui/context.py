"""What every part of the web app shares: settings, the knowledge base, the answerer, auth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb_agent.access import LOCAL_ADMIN, Principal
from kb_agent.answering import Answerer
from kb_agent.auth import AuthService, User
from kb_agent.config import Settings
from kb_agent.errors import AuthError
from kb_agent.kb import KnowledgeBase

SESSION_COOKIE = "kb_session"
LOCAL_USER = "local"


@dataclass
class WebContext:
    settings: Settings
    kb: KnowledgeBase
    answerer: Answerer
    auth: AuthService | None  # None in single-user mode

    @property
    def single_user(self) -> bool:
        return self.auth is None

    def user_for_request(self, request: Any) -> User | None:
        """The signed-in user of an HTTP request (its session cookie), or None."""
        if self.auth is None:
            return None
        return self.auth.user_for_token(request.cookies.get(SESSION_COOKIE))

    def username_for_request(self, request: Any) -> str | None:
        if self.auth is None:
            return LOCAL_USER
        user = self.user_for_request(request)
        return user.username if user else None

    def admin_for_request(self, request: Any) -> str | None:
        if self.auth is None:
            return LOCAL_USER
        user = self.user_for_request(request)
        return user.username if user and user.is_admin else None

    def principal(self, username: str | None) -> Principal:
        """The principal of a (Gradio) request's user name; AuthError when there is none."""
        if self.auth is None:
            return LOCAL_ADMIN
        user = self.auth.users.get(username) if username else None
        if user is None or user.disabled:
            raise AuthError("Your session has ended.", hint="Sign in again.")
        return user.principal()
