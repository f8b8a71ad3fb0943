"""`kb-agent ask` and `kb-agent chat`: questions from the terminal."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Optional

import typer

from kb_agent.cli import emit_json, state
from kb_agent.errors import KBError


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("chat")(chat)


def _answerer(ctx: typer.Context):
    from kb_agent.answering import Answerer

    st = state(ctx)
    return Answerer(st.settings(), st.kb())


def _print_sources(answer) -> None:
    from kb_agent.results import numbered

    if answer.citations:
        typer.echo("\nSources:")
        for i, c in numbered(answer.citations):
            label = c.locator.get("label", "")
            typer.echo(f"  [{i}] {c.source}" + (f" ({label})" if label else ""))


def _print_answer(answer) -> None:
    typer.echo(answer.answer)
    _print_sources(answer)


def ask(ctx: typer.Context,
        question: Optional[str] = typer.Argument(None, help="The question (omit with --batch)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/cli-json.md)."),
        batch: Optional[Path] = typer.Option(None, "--batch", exists=True, dir_okay=False,
                                             help="JSONL file of {\"id\", \"question\"}; prints one JSON result a line.")) -> None:
    """Ask one question (or a batch) and print the answer with its sources."""
    if (question is None) == (batch is None):
        raise typer.BadParameter("give either a QUESTION or --batch FILE")
    answerer = _answerer(ctx)
    if batch is not None:
        _run_batch(answerer, batch)
        return
    answer = answerer.ask(question)
    if as_json:
        emit_json(answer.to_dict())
    else:
        _print_answer(answer)


def _run_batch(answerer, path: Path) -> None:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not str(item.get("question", "")).strip():
                raise ValueError("expected an object with a non-empty \"question\"")
        except ValueError as exc:
            emit_json({"id": None, "line": n, "error": f"{path}:{n}: {exc}"})
            continue
        try:
            emit_json({"id": item.get("id"), **answerer.ask(str(item["question"])).to_dict()})
        except KBError as exc:
            emit_json({"id": item.get("id"), "line": n, "error": str(exc)})


def _stream_answer(answerer, question: str, history: list[dict[str, str]]):
    """Print tool calls as they happen and the answer as it streams; return the final Answer."""
    shown_events, printed = 0, ""
    typer.echo("")
    for update in answerer.stream(question, history=history):
        for event in update.events[shown_events:]:
            args = json.dumps(event.arguments, ensure_ascii=False)
            typer.echo(f"  → {event.name} {args}" + ("" if event.output.found else "  (nothing found)"))
        shown_events = len(update.events)
        if update.done:
            break
        if update.text.startswith(printed):
            typer.echo(update.text[len(printed):], nl=False)
            printed = update.text
    answer = update.answer
    if printed and answer.answer.startswith(printed):
        typer.echo(answer.answer[len(printed):])
    else:
        typer.echo(("\n" if printed else "") + answer.answer)
    _print_sources(answer)
    return answer


def chat(ctx: typer.Context,
         resume: Optional[str] = typer.Option(None, "--resume", metavar="ID",
                                              help="Continue a stored conversation (ids: --list)."),
         list_: bool = typer.Option(False, "--list", help="List your stored conversations (id, updated, title).")) -> None:
    """Interactive terminal chat (empty line or Ctrl-D to quit; /new starts over). Every chat is
    saved as a conversation of the local user, which single-user web mode shows too."""
    from kb_agent.access import LOCAL_ADMIN

    store, user = state(ctx).kb().conversations, LOCAL_ADMIN.name
    if list_:
        _list_conversations(store, user)
        return
    conv_id, history = None, []
    if resume is not None:
        stored = store.get(user, resume)
        if stored is None:
            raise KBError(f"There is no stored conversation {resume!r}.",
                          hint="`kb-agent chat --list` shows the ids of yours.")
        conv_id, history = stored.id, stored.history
    answerer = _answerer(ctx)
    mode = "offline — no language model configured" if answerer.mode == "offline" else f"LLM: {state(ctx).settings().llm}"
    typer.echo(f"kb-agent chat ({mode}). Ask about company terms, facts and documents. "
               "Empty line to quit, /new for a new conversation.")
    if conv_id is not None:
        typer.echo(f"(resuming \"{stored.title}\", {stored.summary.turns} earlier turns)")
        for m in history[-4:]:
            typer.echo(("你/you> " if m["role"] == "user" else "") + m["content"])
    while True:
        try:
            question = input("\n你/you> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if not question:
            break
        if question == "/new":
            conv_id, history = None, []
            typer.echo("(new conversation)")
            continue
        try:
            answer = _stream_answer(answerer, question, history)
        except KBError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        turn = [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
        history += turn
        conv_id = _save_turn(store, user, conv_id, answer, turn)


def _list_conversations(store, user: str) -> None:
    import datetime as dt

    conversations = store.list(user)
    if not conversations:
        typer.echo("No stored conversations yet: `kb-agent chat` saves each one.")
    for c in conversations:
        updated = dt.datetime.fromtimestamp(c.updated).strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{c.id}  {updated}  {c.title}  ({c.turns} turn{'' if c.turns == 1 else 's'})")


def _save_turn(store, user: str, conv_id: str | None, answer, history_turn: list[dict[str, str]]) -> str | None:
    """Save one answered turn (created as a conversation on the first), with the chat messages
    the web chat would have shown for it; a failure to save is said, not fatal."""
    from kb_agent.ui.render import answer_messages

    chat = [history_turn[0], *answer_messages(answer.answer, answer.events, answer.language, answer.citations)]
    record = {"question": answer.question, "answer": answer.answer, "tool_calls": answer.tool_calls,
              "evidence": [c.to_dict() for c in answer.citations]}
    try:
        if conv_id is None:
            conv_id = store.create(user, answer.question)
        store.append_turn(user, conv_id, chat, history_turn, record)
    except (KBError, OSError, sqlite3.Error) as exc:
        typer.echo(f"warning: the conversation was not saved: {exc}", err=True)
    return conv_id
