"""Class 2: file smuggling through every Gradio endpoint (tests/ui/test_gradio_files.py, at
bench scale). For every endpoint of /chat (as alice) and /admin (as admin), each shape of a
file value (tests/ui/gradio_wire.file_values) naming a secret server file goes into each
input: the users database, the chunk store, the config file in the working directory, the
restricted document, a file outside the tree, /etc/passwd. A failure is a reply holding the
secret, a path in a reply that gradio_api/file= then serves with the secret, or the secret
copied into Gradio's upload folder."""

from __future__ import annotations

from pathlib import Path

from bench.adversarial.harness import Env, Tally

NUMBER, NAME = 2, "Gradio file smuggling"


def _targets(env: Env) -> list[tuple[str, bytes]]:
    """(server path, bytes that prove it was read)."""
    out = [(str(env.outside_secret), env.marks["outside"].encode()),
           (str(env.settings.users_db), b"SQLite format 3"),
           (str(env.docs / "finance" / "floor_prices.md"), env.marks["finance"].encode()),
           ("/etc/passwd", b"root:x:0:0"),
           (str(env.config_file), env.marks["config"].encode()),
           (str(env.data / "kb.sqlite3"), b"SQLite format 3")]
    return out[:3] if env.quick else out


def run(env: Env, t: Tally) -> None:
    from tests.ui.gradio_wire import call, endpoints, file_values

    targets = _targets(env)
    proofs = [p for _, p in targets]
    for user, mounts in (("alice", ["/chat"]), ("admin", ["/chat", "/admin"])):
        client = env.client(user)
        for mount in mounts:
            eps = endpoints(client, mount)
            t.check(bool(eps), f"control: {mount} lists no endpoints for {user}")
            for ep in eps:
                for slot in range(len(ep.inputs)):
                    for path, proof in targets:
                        shapes = file_values(path)
                        for value in shapes[::2] if env.quick else shapes:
                            data = ["hello"] * len(ep.inputs)
                            data[slot] = value
                            try:
                                msgs = call(client, ep, data)
                            except Exception as exc:  # noqa: BLE001 - a dropped stream is not a leak
                                msgs = [{"msg": "client error", "error": repr(exc)}]
                            where = f"{user} {mount} fn {ep.fn_index} ({ep.api_name}) input {slot} ← {path}"
                            leaks = _leaks(client, mount, msgs, proofs)
                            t.check(not leaks, f"{where}: {leaks}")
    from gradio.utils import get_upload_folder

    cached = [p for p in Path(get_upload_folder()).rglob("*") if p.is_file()
              and any(s in p.read_bytes()[: 1 << 20] for s in proofs)]
    t.check(not cached, f"secret copied into Gradio's upload folder: {cached}")


def _leaks(client, mount: str, messages: list[dict], proofs: list[bytes]) -> list[str]:
    from tests.ui.gradio_wire import strings_in

    found = []
    for text in strings_in(messages):
        if any(p.decode(errors="ignore") in text for p in proofs):
            found.append(f"content in the reply: {text[:80]!r}")
        if text.startswith("/") and len(text) < 500:
            for m in {mount, "/admin", "/chat"}:
                r = client.get(f"{m}/gradio_api/file={text}")
                if r.status_code == 200 and any(p in r.content for p in proofs):
                    found.append(f"served afterwards by {m}: {text}")
    return found
