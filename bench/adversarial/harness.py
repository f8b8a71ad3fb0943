"""The target and the bookkeeping of the adversarial test.

:class:`Env` builds a temporary world — a document tree with a public and a finance-only
folder, a secret outside the tree, admin YAML folders, users admin / alice (employee) / fiona
(finance) — and starts the real web app on 127.0.0.1 the way the browser tests do
(``tests/ui/conftest.py`` ``RunningApp``: ``build_context``/``create_app`` under uvicorn with
``kb_agent.ui.server.uvicorn_config``), with the small sentence-transformers embedder and the
fake OpenAI-compatible model of ``tests/fakellm.py``.

The fake model is a greedy one: unless a question starts with ``glossary:``, ``fact:`` or
``doc:``, it calls every tool — the glossary, the facts, the documents, and the documents again
with an invented ``folders: [finance]`` filter — and then answers with everything the tools
returned, verbatim. Whatever a tool hands the model therefore ends up in the answer, and the
model also records any secret it was shown during a question of alice's.

:class:`Tally` counts one attack class: each :meth:`Tally.check` is one thing tried; a check
that does not hold is a failure with its details.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ALICE_TAG = "(alice)"  # in every question alice asks: the fake model knows whose turn it is
SECRET_QUESTION = "What is the confidential floor price of the Springlake SL-500 printer for distributors?"
PUBLIC_QUESTION = "How long may customers return a Springlake printer after delivery?"


def log(msg: str) -> None:
    """Progress on the real stderr (stdout is kept for the table or the JSON)."""
    print(msg, file=sys.__stderr__, flush=True)


# -- counting --------------------------------------------------------------------------------
@dataclass
class Tally:
    number: int
    name: str
    tried: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # measurements worth printing
    seconds: float = 0.0

    def check(self, ok: bool, what: str) -> bool:
        """One attempt; ``what`` says what got through when ``ok`` is false."""
        self.tried += 1
        if not ok:
            self.failures.append(what)
        return ok

    def note(self, text: str) -> None:
        self.notes.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.number, "name": self.name, "tried": self.tried, "failed": len(self.failures),
                "failures": self.failures, "notes": self.notes, "seconds": round(self.seconds, 1)}


# -- what the server logs --------------------------------------------------------------------
class LogCapture(logging.Handler):
    """Every warning or error the server logs, and everything written to ``sys.stderr`` (Gradio
    prints handler tracebacks there), labelled with the attack class running at the time."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.label = "setup"
        self.records: list[tuple[str, str]] = []     # (label, formatted record)
        self.stderr: list[tuple[str, str]] = []      # (label, text)
        self._lock = threading.Lock()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is still counted
            text = f"{record.levelname} {record.name}: {record.msg!r}"
        with self._lock:
            self.records.append((self.label, text))

    def install(self) -> None:
        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.asgi"):
            logging.getLogger(name).addHandler(self)
        sys.stderr = _Tee(sys.stderr, self)

    def uninstall(self) -> None:
        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.asgi"):
            logging.getLogger(name).removeHandler(self)
        if isinstance(sys.stderr, _Tee):
            sys.stderr = sys.stderr.inner

    def problems(self) -> list[tuple[str, str]]:
        """(label, first line) of each traceback or "No response returned" in the captured output."""
        found = []
        for label, text in self.records + self.stderr:
            if "Traceback (most recent call last)" in text or "No response returned" in text:
                lines = [ln for ln in text.strip().splitlines() if ln.strip()]
                found.append((label, f"{lines[0][:160]} … {lines[-1][:200]}" if len(lines) > 1 else lines[0][:300]))
        return found


class _Tee:
    def __init__(self, inner, capture: LogCapture) -> None:
        self.inner, self.capture = inner, capture
        self._buf = ""

    def write(self, text: str) -> int:
        self.inner.write(text)
        with self.capture._lock:
            self._buf += text
            # one entry per blank-line-free block, so a traceback stays in one piece
            while "\n\n" in self._buf or len(self._buf) > 1 << 16:
                block, _, self._buf = self._buf.partition("\n\n")
                self.capture.stderr.append((self.capture.label, block))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()
        with self.capture._lock:
            if "Traceback" in self._buf or "No response returned" in self._buf:
                self.capture.stderr.append((self.capture.label, self._buf))
                self._buf = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# -- the fake model --------------------------------------------------------------------------
_RESPONSE = re.compile(r"<tool_response>(.*?)</tool_response>", re.S)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def turn_of(request: dict) -> tuple[str, list[str]]:
    """The question of this turn and the tool results the model was given since it."""
    msgs = request.get("messages") or []
    start, question = 0, ""
    for i, m in enumerate(msgs):
        if m.get("role") == "user" and "<tool_response>" not in _text(m.get("content")):
            start, question = i, _text(m.get("content"))
    results = []
    for m in msgs[start + 1:]:
        text = _text(m.get("content"))
        if m.get("role") in ("tool", "function"):
            results.append(text)
        elif m.get("role") == "user":
            results += _RESPONSE.findall(text)
    return question, results


class GreedyModel:
    """tests/fakellm.FakeLLM scripted as described in the module docstring."""

    def __init__(self, forbidden: Callable[[], list[str]], label: Callable[[], str]) -> None:
        from tests.fakellm import Call, FakeLLM, Say

        self._call, self._say = Call, Say
        self.forbidden, self.label = forbidden, label
        self.leaks: list[tuple[str, str]] = []   # (class label, what alice's turn showed the model)
        self.llm = FakeLLM(chunk_chars=256)
        self.llm.default = self.reply

    def plan(self, question: str) -> list:
        Call = self._call
        for prefix, tool, arg in (("glossary:", "glossary_lookup", "term"), ("fact:", "fact_query", "question"),
                                  ("doc:", "doc_retrieve", "query")):
            if question.startswith(prefix):
                return [Call(tool, {arg: question[len(prefix):].strip()})]
        return [Call("glossary_lookup", {"term": question}), Call("fact_query", {"question": question}),
                Call("doc_retrieve", {"query": question}),
                Call("doc_retrieve", {"query": question, "top_k": 20, "filters": {"folders": ["finance"]}})]

    def reply(self, request: dict):
        question, results = turn_of(request)
        if ALICE_TAG in question:
            shown = json.dumps(request.get("messages"), ensure_ascii=False)
            for secret in self.forbidden():
                if secret in shown:
                    self.leaks.append((self.label(), f"alice's turn {question[:60]!r} showed the model {secret}"))
        plan = self.plan(question)
        if len(results) < len(plan):
            return plan[len(results)]
        return self._say("Tool said: " + "\n\n".join(results))

    def start(self) -> "GreedyModel":
        self.llm.start()
        return self

    def stop(self) -> None:
        self.llm.stop()

    @property
    def url(self) -> str:
        return self.llm.url


# -- the world and the server ----------------------------------------------------------------
def mark(kind: str) -> str:
    return f"{kind}SECRET{secrets.token_hex(4)}"


class Env:
    """Everything the attack classes share. ``prepare`` hooks of the classes add files to the
    tree before :meth:`start` ingests it and starts the server."""

    def __init__(self, quick: bool, seed: int, keep: bool = False) -> None:
        self.quick, self.seed, self.keep = quick, seed, keep
        self.root = Path(tempfile.mkdtemp(prefix="kb-adversarial-"))
        self.outside_dir = Path(tempfile.mkdtemp(prefix="kb-adv-outside-"))   # beside, not under, the tree
        self.gradio_tmp = Path(tempfile.mkdtemp(prefix="kb-adv-gradio-"))
        self.docs = self.root / "docs"
        self.data = self.root / "data"
        self.glossary_dir = self.root / "glossary"
        self.facts_dir = self.root / "facts"
        self.marks = {k: mark(k.upper()) for k in ("finance", "finance2", "outside", "config", "fact")}
        self.forbidden: list[str] = [self.marks["finance"], self.marks["finance2"], self.marks["outside"],
                                     self.marks["config"], self.marks["fact"], "root:x:0:0"]
        self.logs = LogCapture()
        self.model = GreedyModel(lambda: list(self.forbidden), lambda: self.logs.label)
        self.ctx = None
        self.app = None
        self.initial_report = None
        self._clients: list[httpx.Client] = []
        self._build_tree()

    # files ---------------------------------------------------------------------------------
    def _build_tree(self) -> None:
        os.environ["GRADIO_TEMP_DIR"] = str(self.gradio_tmp)
        os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
        for name in list(os.environ):
            if name.startswith(("KB_AGENT_", "DASHSCOPE_", "QWEN_AGENT_")):
                del os.environ[name]
        (self.docs / "public").mkdir(parents=True)
        (self.docs / "finance" / "sub").mkdir(parents=True)
        write(self.docs / "public" / "guide.md",
              "# Printer returns\n\n## Return window\n\nCustomers may return a Springlake printer within thirty "
              "days of delivery. The account manager files the return request in the service portal and "
              "arranges the pickup with the logistics team.\n")
        write(self.docs / "finance" / "_access.yaml", "groups: [finance]\n")
        write(self.docs / "finance" / "floor_prices.md",
              "# Floor prices\n\n## SL-500\n\nThe confidential floor price of the Springlake SL-500 printer is "
              f"{self.marks['finance']} yuan per unit for distributors.\n")
        write(self.docs / "finance" / "sub" / "doc.md",
              f"# Budget memo\n\nThe confidential budget memo code is {self.marks['finance2']}.\n")
        self.outside_secret = self.outside_dir / "outside_secret.md"
        write(self.outside_secret, f"# Outside\n\nThe outside secret of the server is {self.marks['outside']}.\n")
        shutil.copytree(REPO / "glossary", self.glossary_dir)
        self.facts_dir.mkdir()
        write(self.facts_dir / "restricted.yaml",
              "facts:\n  - id: finance-margin\n    questions:\n      - What is the distributor margin target?\n"
              "      - 经销商毛利目标是多少？\n"
              f"    answer: The distributor margin target is {self.marks['fact']}.\n"
              "    source: {person: Finance}\n    access_groups: [finance]\n")
        self.config_file = self.root / "kb_agent.yaml"   # a config file in the working directory
        write(self.config_file, f"# server configuration; {self.marks['config']}\nweb:\n  title: kb-agent\n")

    # server --------------------------------------------------------------------------------
    def start(self) -> None:
        from kb_agent.config import load_settings
        from kb_agent.ui.app import build_context, create_app
        from tests.ui.conftest import PASSWORDS, RunningApp

        os.chdir(self.root)
        self.logs.install()
        self.model.start()
        self.settings = load_settings(
            data_dir=self.data, llm="openai", openai={"model_server": self.model.url, "model": "fake"},
            glossary={"dir": self.glossary_dir, "reload_check_s": 0},
            facts={"dir": self.facts_dir, "reload_check_s": 0},
            embedder={"backend": "sentence-transformers"},   # as tests/ui/conftest.py start_app: fast
            web={"admin_password": PASSWORDS["admin"], "ingest_sample_kb": False})
        self.passwords = dict(PASSWORDS)
        ctx = build_context(self.settings)
        ctx.auth.ensure_first_admin()
        ctx.auth.users.add("alice", PASSWORDS["alice"])
        ctx.auth.users.add("fiona", PASSWORDS["fiona"], groups=["finance"])
        self.initial_report = ctx.kb.ingest([self.docs])
        ctx.kb.warm_up()
        self.ctx = ctx
        self.app = RunningApp(ctx, create_app(ctx)).start()
        self.url = self.app.url
        self.port = self.app.port

    def stop(self) -> None:
        for c in self._clients:
            c.close()
        if self.app is not None:
            self.app.stop()
        self.model.stop()
        self.logs.uninstall()
        os.chdir(REPO)
        if not self.keep:
            for d in (self.root, self.outside_dir, self.gradio_tmp):
                shutil.rmtree(d, ignore_errors=True)

    # clients -------------------------------------------------------------------------------
    def client(self, user: str, **kw) -> httpx.Client:
        """A signed-in client (session cookie), closed when the run ends."""
        from tests.ui.gradio_wire import sign_in

        c = sign_in(self.url, user, self.passwords[user])
        self._clients.append(c)
        return c

    def anon(self, **kw) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=30, follow_redirects=False, **kw)
        self._clients.append(c)
        return c

    def ask(self, client: httpx.Client, question: str, user: str) -> tuple[int, str]:
        """POST /api/ask; (status, the whole response text)."""
        if user == "alice":
            question = f"{question} {ALICE_TAG}"
        r = client.post("/api/ask", json={"question": question}, timeout=120)
        return r.status_code, r.text

    def chat(self, client: httpx.Client, question: str, user: str) -> tuple[bool, str]:
        """One turn through the chat's own Gradio endpoint; (completed, every string sent back)."""
        from tests.ui.gradio_wire import call, strings_in

        if user == "alice":
            question = f"{question} {ALICE_TAG}"
        msgs = call(client, self.chat_endpoint(client), [question, None], timeout=120)
        done = any(m.get("msg") == "process_completed" and m.get("success", True) for m in msgs)
        return done, "\n".join(strings_in(msgs))

    def chat_endpoint(self, client: httpx.Client):
        from tests.ui.gradio_wire import endpoints

        if not hasattr(self, "_chat_ep"):
            eps = [e for e in endpoints(client, "/chat") if e.inputs == ("textbox", "state") and e.queue]
            self._chat_ep = eps[0]
        return self._chat_ep

    def console(self, client: httpx.Client, fn_name: str, data: list, timeout: float = 600) -> tuple[list | None, list]:
        """Run the console's handler ``fn_name`` (its Gradio api_name) as the signed-in ``client``;
        (its output values, or None when it did not complete; every message)."""
        from tests.ui.gradio_wire import call, endpoints

        eps = [e for e in endpoints(client, "/admin") if e.api_name == fn_name]
        if not eps:
            raise LookupError(f"the console has no handler {fn_name!r}")
        msgs = call(client, eps[0], data, timeout=timeout)
        done = [m for m in msgs if m.get("msg") == "process_completed"]
        if not done or not done[-1].get("success", True):
            return None, msgs
        return done[-1].get("output", {}).get("data"), msgs

    def upload(self, client: httpx.Client, name: str, content: bytes) -> tuple[int, dict | None]:
        """Upload one file to the console as the browser does; (status, a FileData for handlers)."""
        r = client.post("/admin/gradio_api/upload", files={"files": (name, content)}, timeout=120)
        if r.status_code != 200:
            return r.status_code, None
        path = r.json()[0]
        return r.status_code, {"path": path, "orig_name": name, "size": len(content),
                               "meta": {"_type": "gradio.FileData"}}

    def ingest_via_console(self, folder: Path, timeout: float = 900) -> tuple[list[list] | None, str, list]:
        """The console's "Ingest folder" as admin: (report rows, summary HTML, messages)."""
        admin = self.client("admin")
        out, msgs = self.console(admin, "ingest_folder", [str(folder)], timeout=timeout)
        if out is None:
            return None, "", msgs
        table = out[1] if len(out) > 1 else {}
        rows = table.get("data") if isinstance(table, dict) else table
        return [r for r in rows or [] if any(r)], str(out[0]), msgs

    def found(self, text: str | bytes, secrets_: Iterable[str] | None = None) -> list[str]:
        """The forbidden strings present in ``text``."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return [s for s in (self.forbidden if secrets_ is None else secrets_) if s in text]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))]
