"""API keys: named, expiring, revocable bearer tokens that act for their owner.

A key is ``kbk_`` + 43 random URL-safe characters (256 bits), shown once when created; the
database keeps only its SHA-256, as for sessions, so a copy of the database holds no usable
key. A key carries no role or groups of its own: every use resolves its owner again, so the
owner's current role and groups apply, and a disabled owner's keys stop working at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from kb_agent.auth.db import UsersDB
from kb_agent.errors import AuthError

KEY_PREFIX = "kbk_"
MAX_NAME_LEN = 64
MAX_EXPIRES_DAYS = 3650


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: int
    username: str
    name: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None

    def status(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self) -> dict:
        return {"id": self.id, "user": self.username, "name": self.name, "created_at": self.created_at,
                "expires_at": self.expires_at, "revoked_at": self.revoked_at,
                "last_used_at": self.last_used_at, "status": self.status()}


_COLUMNS = "id, username, name, created_at, expires_at, revoked_at, last_used_at"


class ApiKeyStore:
    def __init__(self, db: UsersDB):
        self.db = db

    def create(self, username: str, name: str = "", expires_days: float | None = None,
               now: float | None = None) -> tuple[ApiKey, str]:
        """(the key's record, the key itself: shown to the user once, never stored)."""
        name = (name or "").strip()
        if len(name) > MAX_NAME_LEN or any(not ch.isprintable() for ch in name):
            raise AuthError(f"Invalid key name {name[:80]!r}", hint=f"at most {MAX_NAME_LEN} printable characters")
        if expires_days is not None and not 0 < expires_days <= MAX_EXPIRES_DAYS:
            raise AuthError(f"--expires-days must be between 1 and {MAX_EXPIRES_DAYS} (got {expires_days:g})")
        now = time.time() if now is None else now
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        expires = now + expires_days * 86400 if expires_days is not None else None
        with self.db.tx() as con:
            if con.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone() is None:
                raise AuthError(f"No user {username!r}")
            cur = con.execute("INSERT INTO api_keys (key_hash, username, name, created_at, expires_at) "
                              "VALUES (?, ?, ?, ?, ?)", (_digest(token), username, name, now, expires))
            key_id = cur.lastrowid
        return ApiKey(key_id, username, name, now, expires, None, None), token

    def list(self, username: str | None = None) -> list[ApiKey]:
        with self.db.tx() as con:
            if username is None:
                rows = con.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY id").fetchall()
            else:
                rows = con.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE username = ? ORDER BY id",
                                   (username,)).fetchall()
        return [ApiKey(*r) for r in rows]

    def get(self, key_id: int) -> ApiKey | None:
        with self.db.tx() as con:
            row = con.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return ApiKey(*row) if row else None

    def revoke(self, key_id: int, now: float | None = None) -> ApiKey:
        now = time.time() if now is None else now
        with self.db.tx() as con:
            cur = con.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, key_id))
        key = self.get(key_id)
        if key is None:
            raise AuthError(f"No API key with id {key_id}", hint="`kb-agent keys list` shows the ids")
        if cur.rowcount == 0:
            raise AuthError(f"API key {key_id} was already revoked")
        return key

    def revoke_user(self, username: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self.db.tx() as con:
            return con.execute("UPDATE api_keys SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
                               (now, username)).rowcount

    def resolve(self, token: str | None, now: float | None = None) -> ApiKey | None:
        """The active key of a presented token (and its use noted), or None."""
        if not token or not token.startswith(KEY_PREFIX) or len(token) > 200:
            return None
        now = time.time() if now is None else now
        with self.db.tx() as con:
            row = con.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ?", (_digest(token),)).fetchone()
            if row is None:
                return None
            key = ApiKey(*row)
            if key.status(now) != "active":
                return None
            con.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key.id))
        return key
