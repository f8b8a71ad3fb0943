"""Sign-in pieces without a browser: argon2 hashes, expiring sessions, throttling, the first
admin, the users CLI; download resolution and upload checks on real files."""

from __future__ import annotations

import sqlite3

import pytest

from kb_agent.access import Principal
from kb_agent.auth import AuthService
from kb_agent.errors import AccessDenied, AuthError
from kb_agent.ui.files import resolve_download
from kb_agent.ui.render import answer_messages, citations_block, file_href
from kb_agent.ui.uploads import check_upload, safe_name
from kb_agent.tooling import Citation, ToolEvent, ToolOutput


@pytest.fixture
def auth(make_settings):
    return AuthService(make_settings(web={"max_failed_signins": 3, "session_ttl_minutes": 1}))


def test_passwords_are_salted_argon2_hashes(auth):
    auth.users.add("bob", "bob-password-1", groups=["sales"])
    auth.users.add("eve", "bob-password-1")
    rows = dict(sqlite3.connect(auth.db.path).execute("SELECT username, password_hash FROM users"))
    assert rows["bob"].startswith("$argon2id$") and rows["bob"] != rows["eve"]
    assert "bob-password-1" not in rows["bob"]
    assert auth.users.verify("bob", "bob-password-1").principal() == Principal(
        "bob", frozenset({"sales", "everyone"}), False)
    assert auth.users.verify("bob", "wrong") is None
    with pytest.raises(AuthError):
        auth.users.add("short", "x")
    with pytest.raises(AuthError):
        auth.users.add("../evil", "long-enough-1")


def test_sessions_expire_and_revoke(auth):
    auth.users.add("bob", "bob-password-1")
    user, token = auth.sign_in("bob", "bob-password-1")
    assert auth.user_for_token(token).username == "bob"
    assert auth.sessions.username(token, now=user.created_at + 10_000) is None  # past the 1-minute TTL
    auth.sign_out(token)
    assert auth.user_for_token(token) is None
    assert auth.user_for_token("forged-token") is None and auth.user_for_token(None) is None


def test_failed_sign_ins_are_throttled_per_user_and_address(auth):
    auth.users.add("bob", "bob-password-1")
    for _ in range(3):
        with pytest.raises(AuthError, match="Wrong user name"):
            auth.sign_in("bob", "nope", "10.0.0.1")
    with pytest.raises(AuthError, match="Too many"):  # even the right password is refused now
        auth.sign_in("bob", "bob-password-1", "10.0.0.2")
    with pytest.raises(AuthError, match="Too many"):  # and the address is blocked for other names
        auth.sign_in("carol", "whatever-1", "10.0.0.1")
    assert auth.throttle.retry_after("bob", None, now=10**12) == 0  # the window passes


def test_first_admin_is_created_once(make_settings):
    auth = AuthService(make_settings())
    boot = auth.ensure_first_admin()
    assert boot.username == "admin" and len(boot.password) >= 12
    assert auth.users.verify("admin", boot.password).is_admin
    assert auth.ensure_first_admin() is None
    given = AuthService(make_settings(data_dir=auth.settings.data_dir.parent / "d2",
                                      web={"admin_password": "from-settings-1", "admin_username": "root"}))
    assert given.ensure_first_admin().password is None
    assert given.users.verify("root", "from-settings-1").is_admin


def test_users_cli(cli):
    assert cli("users", "add", "dora", "--groups", "finance,hr", "--password", "dora-pass-1").exit_code == 0
    assert cli("users", "add", "dora", "--password", "dora-pass-1").exit_code == 2  # exists: one clean line
    assert cli("users", "passwd", "dora", "--password", "dora-pass-2").exit_code == 0
    out = cli("users", "list").output
    assert "dora" in out and "employee" in out and "finance, hr" in out


class _Store:
    def __init__(self, records):
        self.records = records

    def source(self, s):
        return self.records.get(s)


def test_download_resolution(tmp_path):
    from kb_agent.store.chunks import SourceRecord

    root = tmp_path / "kb"
    (root / "fin").mkdir(parents=True)
    (root / "pub.pdf").write_bytes(b"%PDF-1.4")
    (root / "fin" / "x.md").write_text("secret")
    (tmp_path / "outside.md").write_text("outside")
    store = _Store({
        "pub.pdf": SourceRecord("pub.pdf", "h", 0, 1, "ok", ("everyone",), str(root)),
        "fin/x.md": SourceRecord("fin/x.md", "h", 0, 1, "ok", ("finance",), str(root)),
        "../outside.md": SourceRecord("../outside.md", "h", 0, 1, "ok", ("everyone",), str(root)),
    })
    alice, fiona = Principal("alice"), Principal("fiona", frozenset({"finance"}))
    assert resolve_download(store, alice, "pub.pdf") == (root / "pub.pdf").resolve()
    assert resolve_download(store, fiona, "fin/x.md").read_text() == "secret"
    for who, src in ((alice, "fin/x.md"), (alice, "../outside.md"), (alice, "/etc/passwd"),
                     (alice, "missing.md"), (fiona, "fin\\x.md")):
        with pytest.raises(AccessDenied):
            resolve_download(store, who, src)


def test_upload_checks(tmp_path):
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_name("报告 2026 (终).pdf") == "报告 2026 (终).pdf"
    assert safe_name("...") == "upload"
    pdf = tmp_path / "a"
    pdf.write_bytes(b"%PDF-1.7 hello")
    fake = tmp_path / "b"
    fake.write_bytes(b"MZ\x90\x00 not a pdf")
    big = tmp_path / "c"
    big.write_bytes(b"x" * 3 * 2**20)
    allowed = [".pdf", ".md"]
    assert check_upload(pdf, "../x.pdf", allowed, 1).ok
    assert "not a .pdf" in check_upload(fake, "y.pdf", allowed, 1).reason
    assert "not accepted" in check_upload(fake, "y.exe", allowed, 1).reason
    assert "over the 1 MB" in check_upload(big, "z.md", allowed, 1).reason


def test_rendering_of_steps_card_and_citations():
    payload = {"matches": [{"term": "AM", "english": "Account Manager", "chinese": "客户经理", "scope": "销售部"}]}
    gl = ToolEvent("glossary_lookup", {"term": "AM"}, ToolOutput("AM = Account Manager", payload=payload))
    doc = Citation("guides/a b.pdf", {"kind": "page", "page": 3, "label": "p. 3"}, "<script>x</script> text")
    msgs = answer_messages("answer", [gl], "zh", [doc])
    assert msgs[0]["metadata"]["title"].startswith("查询术语表") and 'term="AM"' in msgs[0]["content"]
    assert "<td>Account Manager</td>" in msgs[1]["content"] and "<td>客户经理</td>" in msgs[1]["content"]
    assert "&lt;script&gt;" in msgs[1]["content"] and "<script>" not in msgs[1]["content"]
    assert file_href(doc.source, doc.locator) == "/files?source=guides%2Fa%20b.pdf#page=3"
    assert "](/files" not in citations_block([doc], "en", downloadable=lambda c: False)
