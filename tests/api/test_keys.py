"""API keys without a server: stored hashed, shown once, expiring, revocable, acting with the
owner's current role and groups, throttled like sign-ins; the keys CLI; old databases."""

from __future__ import annotations

import json
import sqlite3

import pytest

from kb_agent.auth import AuthService
from kb_agent.errors import AuthError, ThrottledError


@pytest.fixture
def auth(make_settings):
    service = AuthService(make_settings(web={"max_failed_signins": 3}))
    service.users.add("fiona", "fiona-pass-1", groups=["finance"])
    return service


def test_key_is_stored_hashed_and_acts_for_its_owner(auth):
    key, token = auth.keys.create("fiona", "laptop")
    stored = sqlite3.connect(auth.db.path).execute("SELECT key_hash FROM api_keys").fetchall()
    assert stored and token not in {r[0] for r in stored} and len(token) >= 40
    user, found = auth.user_for_key(token, "10.0.0.1")
    assert (user.username, found.id, found.name) == ("fiona", key.id, "laptop")
    assert "finance" in user.principal().groups and not user.principal().is_admin
    assert auth.keys.get(key.id).last_used_at is not None
    # the owner's groups are read at each use: a change applies at once
    auth.users.update("fiona", groups=[])
    assert "finance" not in auth.user_for_key(token)[0].principal().groups


def test_revoked_expired_and_disabled_keys_stop_working(auth):
    key, token = auth.keys.create("fiona")
    auth.keys.revoke(key.id)
    with pytest.raises(AuthError, match="Invalid API key"):
        auth.user_for_key(token)
    with pytest.raises(AuthError, match="already revoked"):
        auth.keys.revoke(key.id)
    old, old_token = auth.keys.create("fiona", expires_days=1, now=0.0)
    assert auth.keys.get(old.id).status() == "expired"
    with pytest.raises(AuthError):
        auth.user_for_key(old_token)
    _, live = auth.keys.create("fiona", expires_days=30)
    auth.users.update("fiona", disabled=True)
    with pytest.raises(AuthError):
        auth.user_for_key(live)
    with pytest.raises(AuthError, match="No user"):
        auth.keys.create("nobody")


def test_bad_keys_are_throttled_per_address(auth):
    _, token = auth.keys.create("fiona")
    for _ in range(3):
        with pytest.raises(AuthError):
            auth.user_for_key("kbk_wrong", "10.0.0.9")
    with pytest.raises(ThrottledError):
        auth.user_for_key(token, "10.0.0.9")  # even a good key, from that address
    assert auth.user_for_key(token, "10.0.0.10")[0].username == "fiona"  # other addresses are not locked out
    with pytest.raises(ThrottledError):  # and failed keys count with failed passwords
        auth.sign_in("fiona", "fiona-pass-1", "10.0.0.9")


def test_keys_cli(cli):
    assert cli("users", "add", "alice", "--password", "alice-pass-1").exit_code == 0
    made = cli("keys", "create", "alice", "--name", "webui", "--expires-days", "30", "--json")
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["key"].startswith("kbk_") and created["status"] == "active" and created["user"] == "alice"
    listed = cli("keys", "list", "alice", "--json")
    assert [k["id"] for k in json.loads(listed.output)] == [created["id"]]
    assert created["key"] not in listed.output
    assert "webui" in cli("keys", "list").output
    assert cli("keys", "revoke", str(created["id"])).exit_code == 0
    assert json.loads(cli("keys", "list", "--json").output)[0]["status"] == "revoked"
    bad = cli("keys", "create", "nobody")
    assert bad.exit_code == 2 and "No user" in bad.output


def test_a_users_database_from_before_keys_keeps_working(make_settings, data_dir):
    """An existing users.sqlite3 without the api_keys table gains it on open; its users stay."""
    settings = make_settings()
    data_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(settings.users_db)
    con.executescript("""
        CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('employee', 'admin')), groups TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at REAL NOT NULL,
            expires_at REAL NOT NULL);
        CREATE TABLE failed_signins (key TEXT NOT NULL, ts REAL NOT NULL);
    """)
    con.close()
    auth = AuthService(settings)
    auth.users.add("old", "old-pass-12")
    _, token = auth.keys.create("old")
    assert AuthService(settings).user_for_key(token)[0].username == "old"
