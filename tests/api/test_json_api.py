"""The JSON API at /api against the running app, with httpx: an API key or the session cookie,
the CLI's --json shapes (compared with the CLI run on the same data directory), access groups,
admins-only ingestion status, 401 / 403 / 415 / 400, and the OpenAPI description for signed-in
callers only."""

from __future__ import annotations

import json

import httpx

from tests.ui.conftest import PASSWORDS

PRICE = "What is the floor price of the SL-500 printer?"
RETURNS = "How many days do customers have to return a Springlake printer?"
POSTS = {"/api/ask": {"question": "AM是什么意思？"}, "/api/search": {"query": RETURNS},
         "/api/glossary/lookup": {"term": "AM"}, "/api/facts/query": {"question": RETURNS}}


def keyed(app, key: str) -> httpx.Client:
    return httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def signed_in(app, user: str) -> httpx.Client:
    c = httpx.Client(base_url=app.url, timeout=60)
    r = c.post("/login", data={"username": user, "password": PASSWORDS[user]})
    assert r.status_code == 303 and c.cookies.get("kb_session")
    return c


def test_json_api_with_a_key_and_with_the_cookie(start_app, key_for, cli, tmp_path):
    app = start_app(docs=True)
    alice_key = key_for(app, "alice")
    alice, fiona, cookie = keyed(app, alice_key), keyed(app, key_for(app, "fiona")), signed_in(app, "alice")
    admin = keyed(app, key_for(app, "admin"))
    env = {"KB_AGENT_EMBEDDER__BACKEND": "sentence-transformers", "KB_AGENT_FACTS__DIR": str(tmp_path / "facts")}

    def as_cli(*args: str) -> dict:
        result = cli(*args, "--json", env=env)
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)

    # the CLI's --json shapes, for the same data directory (the CLI is the local admin: sees all)
    search = admin.post("/api/search", json={"query": RETURNS, "top_k": 3}).json()
    expected = as_cli("search", RETURNS, "--top-k", "3")
    assert search.keys() == expected.keys() and search["found"]
    assert search["hits"] == expected["hits"]
    employee = alice.post("/api/search", json={"query": RETURNS, "top_k": 3}).json()
    assert employee["hits"] == [h for h in search["hits"] if not h["source"].startswith("finance/")]
    assert cookie.post("/api/search", json={"query": RETURNS, "top_k": 3}).json()["hits"] == employee["hits"]
    assert alice.post("/api/glossary/lookup", json={"term": "AM"}).json() == as_cli("glossary", "lookup", "AM")
    answer = alice.post("/api/ask", json={"question": "AM是什么意思？"}).json()
    assert answer == as_cli("ask", "AM是什么意思？") and answer["route"] == "term"
    assert cookie.post("/api/ask", json={"question": "AM是什么意思？", "history": []}).json() == answer
    facts = fiona.post("/api/facts/query", json={"question": RETURNS}).json()
    assert facts == as_cli("facts", "query", RETURNS) and {"status", "found", "text", "citations"} <= facts.keys()
    bad_filter = alice.post("/api/facts/query", json={"question": "x", "filters": [{"column": "a", "op": "~"}]})
    assert bad_filter.status_code == 400 and bad_filter.json()["code"] == "bad_request"

    # an employee never gets the finance-only passage; a finance user does (key or cookie)
    for who, finance in ((alice, False), (cookie, False), (fiona, True)):
        found = who.post("/api/search", json={"query": PRICE, "top_k": 10}).json()
        sources = {h["source"] for h in found["hits"]}
        assert ("finance/floor_prices.md" in sources) is finance and ("41,800" in json.dumps(found)) is finance
        asked = who.post("/api/ask", json={"question": PRICE}).json()
        assert ("41,800" in asked["answer"]) is finance
        assert all(not c["source"].startswith("finance/") for c in asked["citations"]) is not finance
    only_finance = alice.post("/api/search", json={"query": PRICE, "filters": {"folders": ["finance"]}}).json()
    assert only_finance["hits"] == [] and not only_finance["found"]

    # ingestion status: admins only
    assert alice.get("/api/ingest/status").status_code == 403
    status = admin.get("/api/ingest/status").json()
    assert {d["path"] for d in status["documents"]} == {"guides/returns_guide.md", "finance/floor_prices.md"}
    assert status["totals"]["ok"] == 2 and status["totals"]["chunks"] >= 2
    assert {d["path"]: d["access_groups"] for d in status["documents"]}["finance/floor_prices.md"] == ["finance"]

    # every key use is in the usage log (cookie calls are not key uses)
    uses = app.ctx.kb.usage.key_uses(200)
    assert {u[3] for u in uses} >= {"api:search", "api:ask", "api:glossary.lookup", "api:facts.query",
                                    "api:ingest.status"}
    assert app.ctx.auth.keys.list("alice")[0].last_used_at is not None

    # every answer is in the audit log with the surface it came through and the evidence shown
    from kb_agent import audit

    asked = audit.search(app.ctx.kb.usage, user="alice", text="AM是什么意思")
    assert [r.surface for r in asked] == ["api", "api"]     # the key's call and the cookie's
    assert asked[0].evidence and asked[0].evidence[0]["source"] == answer["citations"][0]["source"]
    assert asked[0].evidence[0]["locator"] == answer["citations"][0]["locator"]
    assert [r.surface for r in audit.search(app.ctx.kb.usage, user="local")] == ["cli"]  # as_cli("ask", …)


def test_json_api_refusals_and_openapi(start_app, key_for):
    app = start_app(web={"max_failed_signins": 4})
    key = key_for(app, "alice")
    anon = httpx.Client(base_url=app.url, timeout=60)
    for path, body in POSTS.items():
        r = anon.post(path, json=body)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized" and "Bearer" in r.headers["www-authenticate"]
    assert anon.get("/api/ingest/status").status_code == 401
    assert anon.get("/api/openapi.json").status_code == 401
    assert anon.get("/openapi.json").status_code == 404 and anon.get("/docs").status_code == 404

    cookie = signed_in(app, "alice")
    assert cookie.post("/api/ask", json={"question": "AM?"}, headers={"Authorization": "Bearer kbk_wrong"}) \
        .status_code == 401  # a key that is sent is the credential, even with a valid cookie
    r = cookie.post("/api/search", content=json.dumps({"query": "AM"}), headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert cookie.post("/api/search", json={"query": "AM"}, headers={"origin": "https://evil.example"}) \
        .status_code == 403
    for body in ({"query": ""}, {"query": "AM", "top_k": 0}, {"query": "AM", "topk": 3}, ["AM"]):
        r = cookie.post("/api/search", json=body)
        assert r.status_code == 400 and r.json()["code"] == "bad_request", (body, r.text)
    long = cookie.post("/api/ask", json={"question": "AAP " * 5000})
    assert long.status_code == 400 and "too long" in long.json()["error"]

    spec = cookie.get("/api/openapi.json").json()
    assert spec == keyed(app, key).get("/api/openapi.json").json()
    assert set(spec["paths"]) == {"/api/ask", "/api/search", "/api/glossary/lookup", "/api/facts/query",
                                  "/api/ingest/status"}
    ask = spec["paths"]["/api/ask"]["post"]
    assert ask["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/AskRequest"
    assert {"AskRequest", "AskResponse", "SearchResponse", "Citation", "ErrorBody"} <= set(spec["components"]["schemas"])
    assert "question" in spec["components"]["schemas"]["AskRequest"]["required"]

    revoked_id = app.ctx.auth.keys.list("alice")[0].id
    app.ctx.auth.keys.revoke(revoked_id)
    assert keyed(app, key).post("/api/glossary/lookup", json={"term": "AM"}).status_code == 401
    for _ in range(2):  # bad keys count with the failures above: throttled per address
        keyed(app, "kbk_guess").get("/api/openapi.json")
    r = keyed(app, key_for(app, "alice")).post("/api/glossary/lookup", json={"term": "AM"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_api_answers_carry_the_grounding_check(start_app, key_for):
    """With a model configured, what /api/ask and /v1/chat/completions return has been checked:
    an invented figure is marked, an invented link removed, and the JSON says what failed."""
    from kb_agent.grounding import LINK_REMOVED, UNSUPPORTED_MARK
    from tests.fakellm import Call, FakeLLM, Say

    llm = FakeLLM().start()
    try:
        app = start_app(docs=True, llm="openai", openai={"model_server": llm.url, "model": "fake"})
        alice = keyed(app, key_for(app, "alice"))
        fabricated = ("Customers may return a Springlake printer within 45 days of delivery [1]. "
                      "The account manager files the return request in the service portal [1]. "
                      "Use the form at https://returns.example.com/form [1].")
        search = Call("doc_retrieve", {"query": "return window Springlake printer"})
        llm.enqueue(search, Say(fabricated))
        asked = alice.post("/api/ask", json={"question": RETURNS}).json()
        kinds = sorted({f["kind"] for f in asked["grounding"]["failures"]})
        assert kinds == ["number", "url"], asked["grounding"]
        assert "returns.example.com" not in asked["answer"] and LINK_REMOVED in asked["answer"]
        assert UNSUPPORTED_MARK in asked["answer"] and "service portal [1]" in asked["answer"]

        llm.enqueue(search, Say(fabricated))
        chat = alice.post("/v1/chat/completions", json={"model": "kb-agent", "messages": [
            {"role": "user", "content": RETURNS}]}).json()
        text = chat["choices"][0]["message"]["content"]
        assert "returns.example.com" not in text and UNSUPPORTED_MARK in text
    finally:
        llm.stop()
