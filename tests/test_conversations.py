"""Stored conversations (kb_agent/conversations.py) on a real SQLite file, the web chat's use of
them and of the feedback store (kb_agent/ui/chat_state.py, chat.respond with the real offline
answerer), and `kb-agent chat --list / --resume`."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from kb_agent.conversations import ConversationStore, title_of
from kb_agent.errors import InputError


@pytest.fixture
def path(tmp_path):
    return tmp_path / "conversations.sqlite"


def _turn(question: str, answer: str):
    chat = [{"role": "user", "content": question},
            {"role": "assistant", "content": "`glossary_lookup(term=\"AM\")`", "metadata": {"title": "Glossary lookup"}},
            {"role": "assistant", "content": answer}]
    history = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    record = {"question": question, "answer": answer, "tool_calls": [{"name": "glossary_lookup", "arguments": {}}],
              "evidence": []}
    return chat, history, record


def test_a_conversation_comes_back_from_the_file(path):
    store = ConversationStore(path)
    cid = store.create("alice", "  AM是什么意思？  ")
    store.append_turn("alice", cid, *_turn("AM是什么意思？", "客户经理"))
    store.append_turn("alice", cid, *_turn("它的英文全称是什么？", "Account Manager"))
    again = ConversationStore(path).get("alice", cid)  # a server restart: a new store on the same file
    assert again.title == "AM是什么意思？" and again.summary.turns == 2
    assert [m["content"] for m in again.chat if m["role"] == "user"] == ["AM是什么意思？", "它的英文全称是什么？"]
    assert again.chat[1]["metadata"] == {"title": "Glossary lookup"}  # the messages exactly as shown
    assert again.history[-1] == {"role": "assistant", "content": "Account Manager"}
    # every assistant message of a turn (tool step and answer) rates that turn's answer
    assert again.answers[1] is again.answers[2] and again.answers[2]["turn"] == 0
    assert again.answers[5]["question"] == "它的英文全称是什么？" and again.answers[5]["turn"] == 1
    assert 0 not in again.answers and 3 not in again.answers


def test_two_users_never_reach_each_others(path):
    store = ConversationStore(path)
    mine = store.create("alice", "AM是什么意思？")
    theirs = store.create("bob", "ESS培训每月几次？")
    assert [c.id for c in store.list("alice")] == [mine] and [c.id for c in store.list("bob")] == [theirs]
    assert store.get("alice", theirs) is None and store.get("alice", "no-such-id") is None
    for act in (lambda: store.rename("alice", theirs, "mine now"), lambda: store.delete("alice", theirs),
                lambda: store.append_turn("alice", theirs, *_turn("q", "a")),
                lambda: store.set_feedback("alice", theirs, 0, 1, "up")):
        with pytest.raises(InputError, match=theirs):
            act()
    assert store.get("bob", theirs).title == "ESS培训每月几次？" and store.get("bob", theirs).summary.turns == 0


def test_newest_updated_first_rename_and_delete(path, monkeypatch):
    clock = iter(float(t) for t in range(100, 200))
    monkeypatch.setattr(time, "time", lambda: next(clock))
    store = ConversationStore(path)
    first, second = store.create("alice", "first"), store.create("alice", "second")
    assert [c.title for c in store.list("alice")] == ["second", "first"]
    store.append_turn("alice", first, *_turn("again", "a"))  # continuing one moves it to the top
    assert [c.title for c in store.list("alice")] == ["first", "second"]
    store.rename("alice", first, "  <b>AM</b>\n notes ")
    assert store.get("alice", first).title == "<b>AM</b> notes"  # stored as typed; pages escape it
    for bad in ("", "   ", "x" * 500):
        with pytest.raises(InputError):
            store.rename("alice", first, bad)
    store.delete("alice", first)
    assert [c.title for c in store.list("alice")] == ["second"] and store.get("alice", first) is None
    with pytest.raises(InputError):
        store.delete("alice", first)


def test_titles_are_one_trimmed_line():
    assert title_of("  在产品售后流程里，\n AM负责哪些事情？ ") == "在产品售后流程里， AM负责哪些事情？"
    long = title_of("What does " + "very " * 30 + "long mean?")
    assert len(long) == 60 and long.endswith("…")


def test_appends_from_several_threads_keep_every_turn(path):
    store = ConversationStore(path)
    cid = store.create("alice", "q")
    threads = [threading.Thread(target=store.append_turn, args=("alice", cid, *_turn(f"q{i}", "a")))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conv = store.get("alice", cid)
    assert conv.summary.turns == 8 and len(conv.chat) == 24
    assert sorted(m["content"] for m in conv.chat if m["role"] == "user") == sorted(f"q{i}" for i in range(8))


# -- the web chat's side, with the real offline answerer -------------------------------------

@pytest.fixture
def ctx(make_settings, tmp_path):
    from kb_agent.ui.app import build_context

    ctx = build_context(make_settings(facts={"dir": tmp_path / "facts"},
                                      web={"ingest_sample_kb": False, "admin_password": "admin-pass-1"}))
    ctx.auth.ensure_first_admin()
    ctx.auth.users.add("alice", "alice-pass-1")
    ctx.auth.users.add("bob", "bob-pass-1")
    return ctx


def _ask(ctx, question, conv, user):
    from kb_agent.ui.chat import respond

    return list(respond(ctx, question, conv, SimpleNamespace(username=user)))[-1][2]


def test_answered_turns_are_saved_reopened_continued_and_rated(ctx):
    from kb_agent.ui import chat_state

    conv = _ask(ctx, "AM是什么意思？", None, "alice")
    conv = _ask(ctx, "它的英文全称是什么？", conv, "alice")
    assert conv["id"] and ctx.kb.conversations.get("bob", conv["id"]) is None
    assert chat_state.choices(ctx.kb, "alice") == [("AM是什么意思？", conv["id"])]
    assert chat_state.choices(ctx.kb, "bob") == [] and chat_state.choices(ctx.kb, "admin") == []

    opened = chat_state.open_conversation(ctx.kb, "alice", conv["id"])  # as after a restart
    assert opened["chat"] == conv["chat"] and opened["history"] == conv["history"]
    with pytest.raises(InputError):
        chat_state.open_conversation(ctx.kb, "bob", conv["id"])
    index = max(opened["answers"])  # the follow-up's answer
    assert "Account Manager" in opened["answers"][index]["answer"]

    assert chat_state.rate(ctx.kb, "alice", opened, index, False) == "down"
    chat_state.comment(ctx.kb, "alice", opened, "  should say the department  ")
    assert chat_state.rate(ctx.kb, "alice", opened, index, True) == "up"  # re-rated: the same item
    [item] = ctx.kb.feedback.list()
    assert (item.user, item.conversation_id, item.question, item.vote, item.comment) == \
        ("alice", conv["id"], "它的英文全称是什么？", "up", "should say the department")
    assert item.tools == ["glossary_lookup"] and item.evidence and "source" in item.evidence[0]
    # reopened once more: the thumb is still known, a third click still changes that item
    again = chat_state.open_conversation(ctx.kb, "alice", conv["id"])
    assert chat_state.feedback_values(again) == [None, "Like"]
    assert chat_state.rate(ctx.kb, "alice", again, index, "") is None  # clicked off: withdrawn
    assert ctx.kb.feedback.list() == []
    with pytest.raises(InputError):
        chat_state.rate(ctx.kb, "alice", again, 0, True)  # the question itself is no answer

    more = _ask(ctx, "ESS培训每月几次？", again, "alice")  # continuing the reopened conversation
    assert more["id"] == conv["id"] and ctx.kb.conversations.get("alice", conv["id"]).summary.turns == 3


def test_a_state_is_never_continued_for_another_user(ctx):
    from kb_agent.ui import chat_state

    conv = _ask(ctx, "AM是什么意思？", None, "alice")
    theirs = _ask(ctx, "ESS培训每月几次？", conv, "bob")  # the same state, another signed-in user
    assert theirs["id"] != conv["id"] and theirs["owner"] == "bob"
    assert [m["content"] for m in theirs["chat"] if m["role"] == "user"] == ["ESS培训每月几次？"]
    assert ctx.kb.conversations.get("alice", conv["id"]).summary.turns == 1
    for act in (lambda: chat_state.rename(ctx.kb, "bob", conv, "x"), lambda: chat_state.delete(ctx.kb, "bob", conv)):
        with pytest.raises(InputError):
            act()
    chat_state.delete(ctx.kb, "alice", conv)
    assert chat_state.choices(ctx.kb, "alice") == []
    after = _ask(ctx, "它的英文全称是什么？", conv, "alice")  # deleted in another tab: a new one starts
    assert after["id"] not in (None, conv["id"])


# -- kb-agent chat -------------------------------------------------------------------------

def test_cli_chat_is_saved_listed_and_resumed(cli, data_dir, make_settings, tmp_path):
    out = cli("chat", input="AM是什么意思？\n\n")
    assert out.exit_code == 0, out.output
    [conv] = ConversationStore(data_dir / "conversations.sqlite").list("local")
    listed = cli("chat", "--list")
    assert conv.id in listed.output and "AM是什么意思？" in listed.output
    resumed = cli("chat", "--resume", conv.id, input="它的英文全称是什么？\n\n")
    assert resumed.exit_code == 0 and "Account Manager" in resumed.output, resumed.output
    assert ConversationStore(data_dir / "conversations.sqlite").get("local", conv.id).summary.turns == 2
    missing = cli("chat", "--resume", "nope123")
    assert missing.exit_code != 0 and "nope123" in missing.output

    # The single-user web chat has the same local user: it lists and opens the terminal's chat.
    from kb_agent.ui import chat_state
    from kb_agent.ui.app import build_context
    from kb_agent.ui.chat import owner_of

    web = build_context(make_settings(facts={"dir": tmp_path / "facts"},
                                      web={"single_user": True, "ingest_sample_kb": False}))
    user = owner_of(web, SimpleNamespace(username=None))
    assert chat_state.choices(web.kb, user) == [(conv.title, conv.id)]
    opened = chat_state.open_conversation(web.kb, user, conv.id)
    assert opened["chat"][0] == {"role": "user", "content": "AM是什么意思？"}
    assert any("Account Manager" in m["content"] for m in opened["chat"] if m["role"] == "assistant")
