"""Class 5: an employee (alice) against the admin console. The console's page, config, info,
queue (every fn_index, with data that would do damage: save an empty glossary, remove a
document, ingest a folder, reload facts), run/predict, upload and file routes, also through
other spellings of the paths and with a stale admin session → 401/403/404, and nothing
changed: glossary files, documents, users, the upload folder."""

from __future__ import annotations

import hashlib

from bench.adversarial.harness import Env, Tally

NUMBER, NAME = 5, "employee to admin"


def _state(env: Env) -> dict:
    kb = env.ctx.kb
    files = sorted((p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in env.glossary_dir.iterdir()
                   if p.is_file())
    users = {u: (env.ctx.auth.users.get(u).role, tuple(env.ctx.auth.users.get(u).groups))
             for u in ("admin", "alice", "fiona")}
    uploads = env.data / "uploads"
    return {"glossary": files, "documents": sorted((r.path, r.status, r.chunks) for r in kb.chunk_store.sources()),
            "users": users, "uploads": sorted(p.name for p in uploads.rglob("*")) if uploads.exists() else []}


def _damaging(ep, env: Env) -> list:
    """Input values that would change something if the handler ran."""
    name = ep.api_name or ""
    if "save" in name:
        return ["company.yaml", "entries: []\n", ""][: len(ep.inputs)]
    if "remove" in name:
        return ["public/guide.md"]
    if "folder" in name:
        return [str(env.docs)]
    return [str(env.docs / "public" / "guide.md")] * len(ep.inputs)


def run(env: Env, t: Tally) -> None:
    from tests.ui.gradio_wire import Endpoint, call, endpoints

    before = _state(env)
    admin, alice = env.client("admin"), env.client("alice")
    eps = endpoints(admin, "/admin")
    t.check(len(eps) > 5, f"control: the admin console lists only {len(eps)} endpoints")
    for path in ("/admin/", "/admin", "/admin/config", "/admin/gradio_api/info", "/admin/gradio_api/startup-events",
                 "/admin/gradio_api/queue/data?session_hash=abc", "/admin/gradio_api/upload_progress",
                 "/admin/gradio_api/file=" + str(env.docs / "public" / "guide.md"), "/admin/theme.css",
                 "/Admin/config", "//admin/config", "/admin//config", "/admin/./config", "/chat/../admin/config",
                 "/admin%2Fconfig", "/admin/config/", "/chat/gradio_api/../../admin/config"):
        r = alice.get(path)
        bad = r.status_code == 200 and (b'"dependencies"' in r.content or b"kb-gloss" in r.content)
        t.check(r.status_code in (401, 403, 404) or (not bad and r.status_code < 300 and "theme" in path),
                f"alice: GET {path} → {r.status_code} ({len(r.content)} bytes)")
    ids = sorted({e.fn_index for e in eps} | set(range(0, max(e.fn_index for e in eps) + 3)))
    for fn in ids:
        known = next((e for e in eps if e.fn_index == fn), None)
        ep = known or Endpoint("/admin", fn, None, True, ("textbox",), None)
        data = _damaging(ep, env)
        for queue in (True, False):
            probe = Endpoint("/admin", fn, ep.api_name, queue, ep.inputs, ep.trigger_id)
            msgs = call(alice, probe, data)
            statuses = [m.get("status") for m in msgs if m.get("msg") == "http"]
            t.check(bool(statuses) and all(s in (401, 403, 404) for s in statuses),
                    f"alice: /admin fn {fn} ({ep.api_name}) via {'queue/join' if queue else 'run/predict'} → "
                    f"{statuses or [m.get('msg') for m in msgs]}")
    r = alice.post("/admin/gradio_api/upload", files={"files": ("evil.md", b"# evil\n")})
    t.check(r.status_code in (401, 403, 404), f"alice: POST /admin/gradio_api/upload → {r.status_code}")
    # alice's chat may not reach the console's functions by number either
    chat_eps = endpoints(alice, "/chat")
    for fn in range(max(e.fn_index for e in chat_eps) + 1, max(e.fn_index for e in chat_eps) + 4):
        msgs = call(alice, Endpoint("/chat", fn, None, True, ("textbox",), None), ["public/guide.md"])
        t.check(not any(m.get("msg") == "process_completed" and m.get("success") for m in msgs),
                f"alice: /chat fn {fn} (no such chat function) completed")
    # the JSON API: the admins' route, and filters that name the restricted folder
    r = alice.get("/api/ingest/status")
    t.check(r.status_code in (401, 403) and not env.found(r.text), f"alice: GET /api/ingest/status → {r.status_code}")
    from bench.adversarial.harness import SECRET_QUESTION

    for path, body in (("/api/search", {"query": SECRET_QUESTION, "top_k": 50, "filters": {"folders": ["finance"]}}),
                       ("/api/search", {"query": "confidential budget memo code", "filters": {"folders": ["finance/sub"]}}),
                       ("/api/facts/query", {"question": "What is the distributor margin target?"}),
                       ("/api/glossary/lookup", {"term": "floor price"})):
        r = alice.post(path, json=body)
        t.check(r.status_code in (200, 400, 403) and not env.found(r.text),
                f"alice: POST {path} {body} → {r.status_code} {env.found(r.text)}")
    # an admin demoted while signed in loses the console on the next request
    env.ctx.auth.users.add("admin2", "admin2-pass-1", role="admin")
    from tests.ui.gradio_wire import sign_in

    admin2 = sign_in(env.url, "admin2", "admin2-pass-1")
    t.check(admin2.get("/admin/config").status_code == 200, "control: admin2 cannot open the console")
    env.ctx.auth.users.update("admin2", role="employee")
    r = admin2.get("/admin/config")
    t.check(r.status_code in (401, 403, 404), f"demoted admin2: GET /admin/config → {r.status_code}")
    admin2.close()
    after = _state(env)
    for key in before:
        t.check(before[key] == after[key], f"state changed by alice's requests: {key}: {before[key]} → {after[key]}")

