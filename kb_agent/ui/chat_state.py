"""The server-side state of one web chat, and what the chat does with the user's stored
conversations (kb_agent/conversations.py) and feedback (kb_agent/feedback.py): save a turn,
list, open, rename and delete conversations, rate an answer and comment on the rating.

No Gradio import: chat.py wires these to its components, the tests call them directly. Every
function takes the signed-in user of the call, and the stores find only that user's rows, so
a conversation id or answer index that came from anywhere else finds nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from kb_agent.conversations import assistant_indices
from kb_agent.errors import InputError
from kb_agent.kb import KnowledgeBase

log = logging.getLogger(__name__)

#: Gradio's names of the thumbs (``gr.Chatbot(feedback_options=...)``) and our votes.
THUMBS = ("Like", "Dislike")
VOTE_OF_THUMB = {"Like": "up", "Dislike": "down"}
THUMB_OF_VOTE = {v: k for k, v in VOTE_OF_THUMB.items()}


def new_conversation(owner: str | None = None) -> dict[str, Any]:
    """A fresh chat: ``id`` of the stored conversation (None until its first answer is saved),
    ``owner``, what the Chatbot shows (``chat``), the plain-text ``history``, the ``chart`` of
    the latest answer, the answer records by chat message index (``answers``: what a thumb
    rates) and the feedback item a comment goes to (``comment_for``)."""
    return {"id": None, "owner": owner, "chat": [], "history": [], "chart": None, "answers": {},
            "comment_for": None}


def is_state(conv: Any) -> bool:
    return isinstance(conv, dict) and isinstance(conv.get("chat"), list) and isinstance(conv.get("answers"), dict)


def save_turn(kb: KnowledgeBase, user: str, conv: dict, start: int, question: str, record: dict) -> dict:
    """Store the turn that begins at chat index ``start`` (created as a new conversation on its
    first answer) and keep its answer ``record`` (question, answer, tool_calls, evidence) under
    the index of each of the turn's assistant messages: the chat rates them as one group."""
    turn_chat, turn_history = conv["chat"][start:], conv["history"][-2:]
    store = kb.conversations
    conv_id, turn = conv.get("id"), None
    try:
        if conv_id is not None:
            try:
                turn = store.append_turn(user, conv_id, turn_chat, turn_history, record)
            except InputError:  # deleted meanwhile (in another tab): this turn starts a new one
                conv_id = None
        if conv_id is None:
            conv_id = store.create(user, question)
            turn = store.append_turn(user, conv_id, turn_chat, turn_history, record)
    except Exception:  # the answer is shown all the same; only keeping it failed
        log.exception("the conversation could not be saved")
        conv_id = conv.get("id")
    entry = {**record, "turn": turn, "feedback_id": None, "vote": None}
    answers = dict(conv["answers"])
    for i in assistant_indices(turn_chat):
        answers[start + i] = entry
    return {**conv, "id": conv_id, "answers": answers}


def choices(kb: KnowledgeBase, user: str | None) -> list[tuple[str, str]]:
    """(title, id) of the user's conversations, newest first: the sidebar's list."""
    if not user:
        return []
    return [(c.title, c.id) for c in kb.conversations.list(user)]


def open_conversation(kb: KnowledgeBase, user: str, conv_id: Any) -> dict:
    """The state of the user's stored conversation ``conv_id``; InputError when there is none."""
    stored = kb.conversations.get(user, conv_id) if isinstance(conv_id, str) else None
    if stored is None:
        raise InputError("That conversation is not in your list (it may have been deleted).")
    return {**new_conversation(user), "id": stored.id, "chat": stored.chat, "history": stored.history,
            "answers": dict(stored.answers)}


def title_of_state(kb: KnowledgeBase, user: str, conv: dict) -> str:
    stored = kb.conversations.get(user, conv["id"]) if conv.get("id") else None
    return stored.title if stored else ""


def feedback_values(conv: dict) -> list[str | None]:
    """The thumb shown on each answer (one per assistant message group, in order), for the
    Chatbot's ``feedback_value`` when a stored conversation is reopened."""
    records, seen = [], set()
    for index in sorted(conv["answers"]):
        record = conv["answers"][index]
        if id(record) not in seen:
            seen.add(id(record))
            records.append(record)
    return [THUMB_OF_VOTE.get(r.get("vote")) for r in records]


def rename(kb: KnowledgeBase, user: str, conv: dict, title: Any) -> None:
    if not conv.get("id"):
        raise InputError("Ask a question first: a conversation is saved with its first answer.")
    kb.conversations.rename(user, conv["id"], title if isinstance(title, str) else "")


def delete(kb: KnowledgeBase, user: str, conv: dict) -> None:
    if not conv.get("id"):
        raise InputError("There is no saved conversation to delete.")
    kb.conversations.delete(user, conv["id"])


def rate(kb: KnowledgeBase, user: str, conv: dict, index: Any, liked: Any) -> str | None:
    """A thumb clicked on the answer at chat message ``index``: ``liked`` True (up), False
    (down) or "" (the thumb clicked off: the rating is withdrawn). The first rating of an
    answer adds a feedback item, later ones change it. Returns the vote now held (None when
    withdrawn); InputError when the message is no answer of this chat."""
    record = conv["answers"].get(index) if isinstance(index, int) and not isinstance(index, bool) else None
    if record is None:
        raise InputError("Only answers can be rated.")
    vote = {True: "up", False: "down"}.get(liked) if isinstance(liked, bool) else VOTE_OF_THUMB.get(liked)
    store, item_id = kb.feedback, record.get("feedback_id")
    if vote is None:
        if item_id is not None:
            store.withdraw(user, item_id)
        item_id = None
    elif item_id is not None:
        store.set_vote(user, item_id, vote)
    else:
        item_id = store.add(user, record["question"], record["answer"], vote, record["tool_calls"],
                            record["evidence"], conversation_id=conv.get("id"))
    record["feedback_id"], record["vote"] = item_id, vote  # the same dict under each of the turn's indices
    conv["comment_for"] = item_id
    if conv.get("id") and record.get("turn") is not None:
        try:
            kb.conversations.set_feedback(user, conv["id"], record["turn"], item_id, vote)
        except InputError:  # the conversation was deleted meanwhile: the rating stands on its own
            pass
    return vote


def comment(kb: KnowledgeBase, user: str, conv: dict, text: Any) -> None:
    """Attach ``text`` to the rating just given in this chat."""
    item_id = conv.get("comment_for")
    if item_id is None:
        raise InputError("Rate an answer first (thumbs up or down), then add a comment.")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise InputError("The comment is empty.")
    kb.feedback.set_comment(user, item_id, text)
