"""The OpenAI-compatible API through the official `openai` package against the running app:
models, non-streamed and streamed answers with citations, keys (bad, revoked, disabled owner),
access groups, OpenAI-shaped errors, an unreachable LLM."""

from __future__ import annotations

import httpx
import openai
import pytest

from kb_agent.api.openai_compat import MODEL_ID

RETURNS = "How many days do customers have to return a Springlake printer?"
PRICE = "What is the floor price of the SL-500 printer?"




def client(app, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=app.url + "/v1", api_key=key, max_retries=0, timeout=60)


def ask(c: openai.OpenAI, question: str, **kw):
    return c.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": question}], **kw)


def test_models_and_answers_with_citations(start_app, key_for):
    app = start_app(docs=True)
    c = client(app, key_for(app, "alice", name="test"))
    assert [m.id for m in c.models.list()] == [MODEL_ID]

    done = ask(c, RETURNS)
    message = done.choices[0].message
    assert done.choices[0].finish_reason == "stop"
    assert "thirty days" in message.content and "Sources:\n[1] guides/returns_guide.md" in message.content
    assert message.citations[0]["source"] == "guides/returns_guide.md"
    assert message.citations[0]["locator"]["label"] and message.citations[0]["kind"] == "document"

    chunks = list(ask(c, RETURNS, stream=True))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert text == message.content
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop" and last.delta.citations == message.citations

    # history: earlier turns are accepted (plain text); a refusal is a normal answer
    nothing = c.chat.completions.create(model=MODEL_ID, messages=[
        {"role": "user", "content": RETURNS}, {"role": "assistant", "content": message.content},
        {"role": "user", "content": [{"type": "text", "text": "Wie ist das Wetter auf dem Mars morgen?"}]}])
    assert nothing.choices[0].message.citations == [] and done.kb_agent["found"] and not nothing.kb_agent["found"]

    uses = app.ctx.kb.usage.key_uses()
    assert {u[3] for u in uses} == {"models", "chat.completions"} and {u[1] for u in uses} == {"alice"}


def test_keys_decide_who_asks(start_app, key_for):
    app = start_app(docs=True)
    alice = client(app, key_for(app, "alice"))
    fiona_key = key_for(app, "fiona")
    fiona = client(app, fiona_key)

    employee = ask(alice, PRICE).choices[0].message
    assert "41,800" not in employee.content
    assert all(not c["source"].startswith("finance/") for c in employee.citations)
    finance = ask(fiona, PRICE).choices[0].message
    assert "41,800" in finance.content and finance.citations[0]["source"] == "finance/floor_prices.md"
    from kb_agent import audit
    (logged,) = audit.search(app.ctx.kb.usage, user="fiona")      # the audit log: surface and evidence
    assert logged.surface == "api" and logged.evidence[0]["source"] == "finance/floor_prices.md"

    with pytest.raises(openai.AuthenticationError) as bad:
        ask(client(app, "kbk_not-a-real-key"), PRICE)
    assert bad.value.status_code == 401 and bad.value.code == "invalid_api_key"
    assert bad.value.body["type"] == "invalid_request_error" and "Invalid API key" in bad.value.body["message"]

    key_id = app.ctx.auth.keys.list("fiona")[0].id
    app.ctx.auth.keys.revoke(key_id)
    with pytest.raises(openai.AuthenticationError):
        ask(fiona, PRICE)

    app.ctx.auth.users.update("alice", disabled=True)
    with pytest.raises(openai.AuthenticationError):
        alice.models.list()

    # the session cookie is never an API credential
    session = app.ctx.auth.sessions.create("admin")
    r = httpx.get(app.url + "/v1/models", cookies={"kb_session": session})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_bad_requests_get_openai_errors(start_app, key_for):
    app = start_app(web={"max_failed_signins": 3})
    key = key_for(app, "alice")
    c = client(app, key)
    with pytest.raises(openai.BadRequestError) as long:
        ask(c, "x" * 5000)
    assert long.value.code == "invalid_request" and "too long" in long.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        c.chat.completions.create(model=MODEL_ID, messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        c.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}])
    r = httpx.post(app.url + "/v1/chat/completions", content=b"{not json", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"

    # bad keys are throttled per address, as failed sign-ins are
    for _ in range(3):
        with pytest.raises(openai.AuthenticationError):
            client(app, "kbk_guess").models.list()
    with pytest.raises(openai.RateLimitError):
        c.models.list()


def test_unreachable_llm_is_503(start_app, key_for):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    app = start_app(llm="openai", openai={"model_server": dead, "model": "fake"})
    c = client(app, key_for(app, "alice"))
    with pytest.raises(openai.InternalServerError) as down:
        ask(c, "What does AM mean?")
    assert down.value.status_code == 503 and down.value.code == "llm_unavailable"
    with pytest.raises(openai.APIError) as streamed:
        list(ask(c, "What does AM mean?", stream=True))
    assert streamed.value.code == "llm_unavailable"
