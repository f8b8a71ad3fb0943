"""Users, roles (employee / admin) and groups, with argon2 password hashes.

Groups decide which documents, facts and table rows a user sees (:class:`Principal`); every
user is implicitly in ``everyone``. Admins see everything and may open the admin console.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Iterable, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kb_agent.access import EVERYONE, Principal
from kb_agent.auth.db import UsersDB
from kb_agent.errors import AuthError

Role = Literal["employee", "admin"]
ROLES: tuple[str, ...] = ("employee", "admin")
MIN_PASSWORD_LEN = 8
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    groups: tuple[str, ...]
    created_at: float
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def principal(self) -> Principal:
        return Principal(name=self.username, groups=frozenset(self.groups) | {EVERYONE}, is_admin=self.is_admin)

    def to_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "groups": list(self.groups),
                "created_at": self.created_at, "disabled": self.disabled}


def clean_groups(groups: Iterable[str]) -> tuple[str, ...]:
    out = []
    for g in groups:
        g = g.strip()
        if not g:
            continue
        if not _GROUP.match(g):
            raise AuthError(f"Invalid group name {g!r}", hint="letters, digits, '.', '_' and '-' only")
        if g not in out:
            out.append(g)
    return tuple(out)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise AuthError(f"The password is too short (at least {MIN_PASSWORD_LEN} characters).")


class UserStore:
    def __init__(self, db: UsersDB):
        self.db = db

    def count(self) -> int:
        with self.db.tx() as con:
            return con.execute("SELECT COUNT(*) FROM users").fetchone()[0]

    def add(self, username: str, password: str, role: Role = "employee", groups: Iterable[str] = ()) -> User:
        if not _USERNAME.match(username or ""):
            raise AuthError(f"Invalid user name {username!r}",
                            hint="1-64 characters: letters, digits, '.', '_', '@', '-'")
        if role not in ROLES:
            raise AuthError(f"Unknown role {role!r}", hint="use 'employee' or 'admin'")
        check_password_strength(password)
        groups = clean_groups(groups)
        if self.get(username) is not None:
            raise AuthError(f"User {username!r} already exists", hint="use `kb-agent users passwd` to change a password")
        now = time.time()
        with self.db.tx() as con:
            con.execute("INSERT INTO users (username, password_hash, role, groups, created_at) VALUES (?, ?, ?, ?, ?)",
                        (username, _hasher.hash(password), role, ",".join(groups), now))
        return User(username, role, groups, now)

    def get(self, username: str) -> User | None:
        with self.db.tx() as con:
            row = con.execute("SELECT username, role, groups, created_at, disabled FROM users WHERE username = ?",
                              (username,)).fetchone()
        return _user(row) if row else None

    def list(self) -> list[User]:
        with self.db.tx() as con:
            rows = con.execute("SELECT username, role, groups, created_at, disabled FROM users "
                               "ORDER BY username").fetchall()
        return [_user(r) for r in rows]

    def set_password(self, username: str, password: str) -> None:
        check_password_strength(password)
        with self.db.tx() as con:
            cur = con.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                              (_hasher.hash(password), username))
            if cur.rowcount == 0:
                raise AuthError(f"No user {username!r}")

    def update(self, username: str, *, role: Role | None = None, groups: Iterable[str] | None = None,
               disabled: bool | None = None) -> User:
        user = self.get(username)
        if user is None:
            raise AuthError(f"No user {username!r}")
        if role is not None and role not in ROLES:
            raise AuthError(f"Unknown role {role!r}", hint="use 'employee' or 'admin'")
        new_groups = clean_groups(groups) if groups is not None else user.groups
        with self.db.tx() as con:
            con.execute("UPDATE users SET role = ?, groups = ?, disabled = ? WHERE username = ?",
                        (role or user.role, ",".join(new_groups),
                         int(user.disabled if disabled is None else disabled), username))
        return self.get(username)  # type: ignore[return-value]

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password matches (and the account is enabled), else None."""
        with self.db.tx() as con:
            row = con.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        stored = row[0] if row else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.db.tx() as con:
                con.execute("UPDATE users SET password_hash = ? WHERE username = ?", (_hasher.hash(password), username))
        user = self.get(username)
        return user if user is not None and not user.disabled else None


def _user(row) -> User:
    groups = tuple(g for g in (row[2] or "").split(",") if g)
    return User(row[0], row[1], groups, row[3], bool(row[4]))
