"""Who is calling: the API key in ``Authorization: Bearer <key>`` and the user it acts for.

Only that header is read, never the session cookie, so a browser page on another site cannot
make a signed-in employee's browser call the API for it (no CSRF surface). In single-user mode
(no users database) the local user is the caller, as in the chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from kb_agent.access import LOCAL_ADMIN, Principal
from kb_agent.auth import AuthService
from kb_agent.errors import AuthError
from kb_agent.usage import UsageLog


@dataclass(frozen=True)
class ApiCaller:
    principal: Principal
    key_id: int | None  # None in single-user mode

    @property
    def name(self) -> str:
        return self.principal.name


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (``headers``: case-insensitive)."""
    value = headers.get("authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def caller_for_key(auth: AuthService | None, token: str | None, address: str | None) -> ApiCaller:
    """The caller of a key; AuthError (ThrottledError after too many bad keys) otherwise."""
    if auth is None:
        return ApiCaller(LOCAL_ADMIN, None)
    if not token:
        raise AuthError("Missing API key.",
                        hint="Send it as 'Authorization: Bearer <key>'; `kb-agent keys create USER` makes one.")
    user, key = auth.user_for_key(token, address)
    return ApiCaller(user.principal(), key.id)


def note_use(usage: UsageLog, caller: ApiCaller, endpoint: str) -> None:
    """Every use of a key goes into the usage log (admins see who used which key for what)."""
    if caller.key_id is not None:
        usage.record_key_use(caller.name, caller.key_id, endpoint)
