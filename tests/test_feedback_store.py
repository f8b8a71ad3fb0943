"""The feedback store (kb_agent/feedback.py) on a real SQLite file: votes, comments, filters,
ownership, conversion to an evaluation case."""

from __future__ import annotations

import time

import pytest

from kb_agent.errors import InputError
from kb_agent.feedback import FeedbackStore

CALLS = [{"name": "glossary_lookup", "arguments": {"term": "AM"}}]
EVIDENCE = [{"source": "glossary/sales.yaml", "locator": {"kind": "glossary", "label": "AM"},
             "text": "AM — Account Manager", "kind": "glossary"}]


@pytest.fixture
def store(tmp_path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "feedback.sqlite")


def test_an_item_keeps_what_was_shown(store, tmp_path):
    item_id = store.add("alice", "AM是什么意思？", "AM：客户经理", "down", CALLS, EVIDENCE,
                        comment="  wrong department  ", conversation_id="c1")
    item = FeedbackStore(tmp_path / "feedback.sqlite").get(item_id)  # a new store object: same file
    assert (item.user, item.question, item.answer, item.vote, item.comment, item.conversation_id) == \
        ("alice", "AM是什么意思？", "AM：客户经理", "down", "wrong department", "c1")
    assert item.tool_calls == CALLS and item.evidence == EVIDENCE and item.tools == ["glossary_lookup"]
    assert item.eval_case is None and abs(item.ts - time.time()) < 60
    assert store.get(item_id + 1) is None


def test_votes_are_up_or_down(store):
    with pytest.raises(InputError, match="'sideways'"):
        store.add("alice", "q", "a", "sideways", [], [])
    item_id = store.add("alice", "q", "a", "up", [], [])
    with pytest.raises(InputError):
        store.set_vote("alice", item_id, "")
    assert store.get(item_id).vote == "up"


def test_only_the_items_own_user_changes_it(store):
    item_id = store.add("alice", "q", "a", "up", CALLS, [])
    store.set_vote("alice", item_id, "down")
    store.set_comment("alice", item_id, "the price is missing")
    for change in (lambda: store.set_vote("bob", item_id, "up"),
                   lambda: store.set_comment("bob", item_id, "spam"),
                   lambda: store.set_comment("alice", item_id + 7, "no such item")):
        with pytest.raises(InputError, match="no feedback item"):
            change()
    assert not store.withdraw("bob", item_id)
    item = store.get(item_id)
    assert (item.vote, item.comment) == ("down", "the price is missing")
    with pytest.raises(InputError, match="too long"):
        store.set_comment("alice", item_id, "x" * 5000)


def test_list_filters_by_vote_tool_and_date_newest_first(store, monkeypatch):
    clock = iter([1000.0, 2000.0, 3000.0])
    monkeypatch.setattr(time, "time", lambda: next(clock))
    a = store.add("alice", "q1", "a1", "down", CALLS, EVIDENCE)
    b = store.add("bob", "q2", "a2", "up", [{"name": "doc_retrieve", "arguments": {"query": "x"}}], [])
    c = store.add("alice", "q3", "a3", "down", [{"name": "fact_query", "arguments": {}}, *CALLS], [])
    assert [i.id for i in store.list()] == [c, b, a]
    assert [i.id for i in store.list(vote="down")] == [c, a]
    assert [i.id for i in store.list(tool="glossary_lookup")] == [c, a]
    assert [i.id for i in store.list(tool="glossary")] == []  # a whole tool name, not a part of one
    assert [i.id for i in store.list(since=1500, until=3000)] == [b]
    assert [i.id for i in store.list(limit=1)] == [c]
    with pytest.raises(InputError):
        store.list(vote="meh")


def test_conversion_is_recorded_and_withdrawing_a_converted_item_keeps_it(store):
    item_id = store.add("alice", "q", "a", "down", [], [])
    store.mark_converted(item_id, "eval/feedback/case-1.jsonl")
    assert store.get(item_id).eval_case == "eval/feedback/case-1.jsonl"
    assert not store.withdraw("alice", item_id) and store.get(item_id) is not None
    other = store.add("alice", "q", "a", "up", [], [])
    assert store.withdraw("alice", other) and store.get(other) is None
    with pytest.raises(InputError):
        store.mark_converted(other, "x.jsonl")
