"""Sign-in sessions with expiry, and throttling of failed sign-ins.

The browser holds a random token in an HttpOnly cookie; the database keeps only its SHA-256,
so a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from kb_agent.auth.db import UsersDB


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, db: UsersDB, ttl_s: float):
        self.db = db
        self.ttl_s = ttl_s

    def create(self, username: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(32)
        with self.db.tx() as con:
            con.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            con.execute("INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
                        (_digest(token), username, now, now + self.ttl_s))
        return token

    def username(self, token: str | None, now: float | None = None) -> str | None:
        """The signed-in user of a token, or None if unknown or expired."""
        if not token or len(token) > 200:
            return None
        now = time.time() if now is None else now
        with self.db.tx() as con:
            row = con.execute("SELECT username, expires_at FROM sessions WHERE token_hash = ?",
                              (_digest(token),)).fetchone()
        if row is None or row[1] <= now:
            return None
        return row[0]

    def revoke(self, token: str | None) -> None:
        if token:
            with self.db.tx() as con:
                con.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    def revoke_user(self, username: str) -> None:
        with self.db.tx() as con:
            con.execute("DELETE FROM sessions WHERE username = ?", (username,))


class SignInThrottle:
    """At most ``max_failures`` failed sign-ins per user name and per client address in a window."""

    def __init__(self, db: UsersDB, max_failures: int, window_s: float):
        self.db = db
        self.max_failures = max_failures
        self.window_s = window_s

    @staticmethod
    def _keys(username: str, address: str | None) -> list[str]:
        keys = [f"user:{username.lower()}"] if username else []  # API keys: the address only
        if address:
            keys.append(f"addr:{address}")
        return keys

    def retry_after(self, username: str, address: str | None, now: float | None = None) -> float:
        """Seconds until another try is allowed (0 = allowed now)."""
        now = time.time() if now is None else now
        wait = 0.0
        with self.db.tx() as con:
            con.execute("DELETE FROM failed_signins WHERE ts <= ?", (now - self.window_s,))
            for key in self._keys(username, address):
                rows = con.execute("SELECT ts FROM failed_signins WHERE key = ? ORDER BY ts DESC LIMIT ?",
                                   (key, self.max_failures)).fetchall()
                if len(rows) >= self.max_failures:
                    # Allowed again when the oldest of the last max_failures leaves the window.
                    wait = max(wait, rows[-1][0] + self.window_s - now)
        return max(wait, 0.0)

    def record_failure(self, username: str, address: str | None, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.db.tx() as con:
            con.executemany("INSERT INTO failed_signins (key, ts) VALUES (?, ?)",
                            [(k, now) for k in self._keys(username, address)])

    def reset(self, username: str) -> None:
        with self.db.tx() as con:
            con.execute("DELETE FROM failed_signins WHERE key = ?", (f"user:{username.lower()}",))
