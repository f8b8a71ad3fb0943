"""Class 8: broken admin YAML — the glossary and facts folders the server watches, the console's
editor, and ``_access.yaml`` in a document tree.

Glossary and facts: files with syntax errors, the wrong shapes, missing and repeated fields,
repeated keys, tabs, binary and non-UTF-8 bytes, a ``!!python`` tag that would run a command,
an alias bomb, 20,000 levels of nesting, a file over the size limit; a good file broken in
place. Facts also with ``access_groups: []``, a null or blank group list, groups as a string,
and a repeated id that would publish a restricted fact to everyone. The console's editor as
admin: invalid and oversized saves, names that leave the folder or are not YAML, loading files
that are not glossary files. ``_access.yaml``: broken syntax, empty, null and blank group lists,
a repeated ``groups:`` key that ends in ``everyone``.

A failure: answering stops or waits (a lookup slower than the budget), the last good version
is not kept (the known entries and facts vanish), a problem is not reported, the command runs,
restricted text reaches alice (answers, tool results the model saw, /files), the editor writes
outside its folder or shows a file that is not a glossary file, a broken ``_access.yaml``
opens its folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.adversarial.harness import Env, Tally, mark, write

NUMBER, NAME = 8, "broken admin YAML"

LOOKUP_BUDGET_S = 5.0
_BOMB = "[" + ", ".join(['&l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
                        + [f"&l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]) + "]"


def _glossary_cases(env: Env) -> dict[str, bytes]:
    pwned = env.root / "pwned-glossary"
    big_entry = "  - term: BIG{i}\n    english: Big entry number {i} with padding text\n    chinese: 大\n"
    cases = {
        "syntax.yaml": "entries:\n  - term: [unclosed\n    english: x\n",
        "not_mapping.yaml": "- just\n- a list\n",
        "entries_scalar.yaml": "entries: 5\n",
        "missing_fields.yaml": "entries:\n  - term: NOFIELDS\n",
        "repeated_key.yaml": "entries:\n  - term: RPT\n    term: RPT2\n    english: Repeated key\n",
        "tabs.yaml": "entries:\n\t- term: TAB\n\t  english: Tabbed\n",
        "python_tag.yaml": f"entries:\n  - !!python/object/apply:os.system ['touch {pwned}']\n",
        "alias_bomb.yaml": f"entries:\n  - term: BOMB\n    aliases: {_BOMB}\n    english: *l9\n",
        "deep.yaml": "entries: " + "[" * 20000 + "]" * 20000 + "\n",
        "wrong_types.yaml": "entries:\n  - term: {a: 1}\n    english: [1, 2]\n    updated: not-a-date\n",
    }
    out = {k: v.encode() for k, v in cases.items()}
    out["binary.yaml"] = os.urandom(4000)
    out["latin1.yaml"] = "entries:\n  - term: CAF\n    english: caf\xe9\n".encode("latin-1")
    if not env.quick:
        out["huge.yaml"] = ("entries:\n" + "".join(big_entry.format(i=i) for i in range(70_000))).encode()
    return out


def _lookup_ok(env: Env, alice, t: Tally, where: str) -> None:
    """A known term still answers, quickly, while the bad file is (re)loaded."""
    t0 = time.perf_counter()
    status, text = env.ask(alice, "glossary: AAP", "alice")
    spent = time.perf_counter() - t0
    t.check(status == 200 and "Actual Achieved Price" in text and spent < LOOKUP_BUDGET_S,
            f"{where}: glossary: AAP → {status}, {'found' if 'Actual Achieved Price' in text else 'NOT found'}, "
            f"{spent:.1f} s")


def _wait(store, seconds: float = 30.0) -> None:
    store.current()
    store.wait_reloaded(seconds)


def _glossary(env: Env, t: Tally, alice) -> None:
    store = env.ctx.kb.glossary_store
    _wait(store)
    before = len(store.current())
    for name, data in _glossary_cases(env).items():
        path = env.glossary_dir / name
        path.write_bytes(data)
        _lookup_ok(env, alice, t, f"glossary {name} dropped in")   # starts the reload beside
        t0 = time.perf_counter()
        done = store.wait_reloaded(60)
        t.check(done, f"glossary {name}: the reload did not finish in 60 s")
        if name == "huge.yaml":
            t.note(f"glossary {name} ({len(data):,} bytes): refused and reloaded beside in "
                   f"{time.perf_counter() - t0:.1f} s, answering meanwhile")
        _lookup_ok(env, alice, t, f"glossary {name} loaded")
        issues = [i for i in store.issues if name in str(i)]
        t.check(bool(issues), f"glossary {name}: no problem reported")
        t.check(len(store.current()) >= before, f"glossary {name}: entries went from {before} to {len(store.current())}")
        path.unlink()
    t.check(not (env.root / "pwned-glossary").exists(), "glossary: the !!python tag ran a command")
    # a good file broken in place keeps its last good version
    company = env.glossary_dir / "company.yaml"
    good = company.read_bytes()
    for label, broken in (("truncated", good[: len(good) // 2] + b"\n  - term: [\n"), ("garbage", os.urandom(500)),
                          ("groups of tabs", b"entries:\n\t\t- x\n")):
        company.write_bytes(broken)
        _wait(store)
        _lookup_ok(env, alice, t, f"company.yaml {label}")
        t.check(any("company.yaml" in str(i) for i in store.issues), f"company.yaml {label}: no problem reported")
    company.write_bytes(good)
    _wait(store)
    t.check(not store.issues and len(store.current()) == before,
            f"after the bad files were removed: {len(store.issues)} problem(s), {len(store.current())} entries "
            f"(was {before}): {[str(i) for i in store.issues][:2]}")


def _console(env: Env, t: Tally) -> None:
    admin = env.client("admin")
    company = env.glossary_dir / "company.yaml"
    good = company.read_bytes()
    listing = {p for p in env.root.rglob("*")}
    for fname, text, why in (
            ("company.yaml", "entries:\n  - term: [broken\n", "invalid YAML"),
            ("company.yaml", "entries:\n  - term: NOENG\n", "an entry without english/chinese"),
            ("company.yaml", "entries:\n" + "  - term: PAD\n    english: padding\n" * 40_000, "over the size limit"),
            ("../escape.yaml", "entries:\n  - term: ESC\n    english: Escaped\n", "a name leaving the folder"),
            ("../../../tmp/escape.yaml", "entries:\n  - term: ESC\n    english: Escaped\n", "an absolute-ish name"),
            ("evil.py", "entries:\n  - term: PY\n    english: Python\n", "not a .yaml name"),
            ("company.yaml", f"entries:\n  - !!python/object/apply:os.system ['touch {env.root}/pwned-console']\n",
             "a !!python tag")):
        out, msgs = env.console(admin, "save", [fname, text, ""], timeout=120)
        status = str(out[0]) if out else " ".join(str(m.get("output", m.get("msg")))[:120] for m in msgs[-1:])
        changed = company.read_bytes() != good
        t.check(not changed and "Saved" not in status, f"console save of {why} ({fname}): "
                                                        f"{'company.yaml changed; ' if changed else ''}{status[:160]}")
        company.write_bytes(good)
    stray = [str(p) for p in ({p for p in env.root.rglob("*")} - listing) if "escape" in p.name or "pwned" in p.name]
    stray += [p for p in ("/tmp/escape.yaml",) if Path(p).exists()]
    t.check(not stray, f"console saves wrote outside the glossary folder: {stray}")
    for fname in ("../data/users.sqlite3", str(env.settings.users_db), "/etc/passwd", "../kb_agent.yaml",
                  "../facts/restricted.yaml", "company.yaml/../../kb_agent.yaml"):
        out, msgs = env.console(admin, "load_file", [fname], timeout=60)
        shown = " ".join(str(v) for v in out or [])
        leaked = env.found(shown) + (["SQLite format 3"] if "SQLite format 3" in shown else [])
        t.check(not leaked and not shown.strip().startswith("facts:"),
                f"console load_file({fname!r}) showed {leaked or shown[:80]!r}")


def _facts(env: Env, t: Tally, alice, fiona) -> None:
    store = env.ctx.kb.facts.store
    q = "What is the distributor margin target?"

    def wait():
        env.ctx.kb.facts.store.current()
        store.wait_reloaded(30)

    def restricted_holds(where: str, fiona_too: bool = True) -> None:
        status, text = env.ask(alice, f"fact: {q}", "alice")
        t.check(status == 200 and not env.found(text), f"{where}: alice got {env.found(text)} ({status})")
        if fiona_too:
            status, text = env.ask(fiona, f"fact: {q}", "fiona")
            t.check(env.marks["fact"] in text, f"{where}: fiona lost the restricted fact ({status})")

    wait()
    admin = env.client("admin")
    cases = {}
    for label, groups in (("empty", "[]"), ("null", ""), ("blank", "['']"), ("spaces", "['  ']"),
                          ("string", "finance"), ("nested", "[[finance]]")):
        secret = mark(f"FACT{label.upper()}")
        env.forbidden.append(secret)
        cases[f"groups_{label}.yaml"] = (f"facts:\n  - id: groups-{label}\n    questions:\n"
                                         f"      - What is the {label} group code of the warehouse?\n"
                                         f"    answer: The {label} group code is {secret}.\n"
                                         f"    source: {{person: Finance}}\n    access_groups: {groups}\n",
                                         f"What is the {label} group code of the warehouse?", secret)
    # The restricted fact's id again, for everyone, in a file read before restricted.yaml: the
    # later one is ignored and reported. The public duplicate's own text is public by its
    # author's word; what must hold is that the restricted answer never becomes everyone's.
    cases["repeated_id.yaml"] = ("facts:\n  - id: finance-margin\n    questions:\n      - " + q + "\n"
                                 "    answer: The distributor margin target is public-duplicate-answer.\n"
                                 "    source: {person: Someone}\n    access_groups: [everyone]\n", q, None)
    cases["syntax.yaml"] = ("facts:\n  - id: [broken\n", q, None)
    cases["python_tag.yaml"] = (f"facts:\n  - !!python/object/apply:os.system ['touch {env.root}/pwned-facts']\n",
                                q, None)
    cases["alias_bomb.yaml"] = (f"facts:\n  - id: bomb\n    questions: {_BOMB}\n    answer: *l9\n", q, None)
    if not env.quick:
        cases["huge.yaml"] = ("facts:\n" + "".join(f"  - id: pad-{i}\n    questions: [Padding question {i}?]\n"
                                                   f"    answer: Padding answer {i}.\n" for i in range(40_000)), q, None)
    for name, (text, question, secret) in cases.items():
        path = env.facts_dir / name
        write(path, text)
        wait()
        status, shown = env.ask(alice, f"fact: {question}", "alice")
        t.check(status == 200 and not env.found(shown), f"facts {name}: alice got {env.found(shown)} ({status})")
        if secret is not None and name.startswith("groups_") and "string" not in name:
            status, shown = env.ask(admin, f"fact: {question}", "admin")   # an invalid fact is served to no one
            t.check(secret not in shown, f"facts {name}: the invalid fact was served (to the admin)")
        if name == "groups_string.yaml":   # a single group written without brackets is that group
            fact = next((f for f in store.facts if f.id == "groups-string"), None)
            t.check(fact is not None and fact.access_groups == ("finance",),
                    f"facts {name}: access_groups: finance read as {fact and fact.access_groups}")
        else:
            t.check(any(name in str(i) for i in store.issues), f"facts {name}: no problem reported")
        restricted_holds(f"facts {name}", fiona_too=name != "repeated_id.yaml")
        path.unlink()
    t.check(not (env.root / "pwned-facts").exists(), "facts: the !!python tag ran a command")
    # the restricted fact itself, opened in place: its last good (restricted) version stays
    restricted = env.facts_dir / "restricted.yaml"
    good = restricted.read_text(encoding="utf-8")
    for label, groups in (("[]", "[]"), ("null", ""), ("blank", "['']")):
        restricted.write_text(good.replace("access_groups: [finance]", f"access_groups: {groups}"), encoding="utf-8")
        wait()
        restricted_holds(f"restricted.yaml edited to access_groups: {label}")
    restricted.write_text(good, encoding="utf-8")
    wait()
    t.check(not store.issues, f"facts after the bad files were removed: {[str(i) for i in store.issues][:2]}")
    if not env.quick:
        _facts_index_stall(env, t, alice)


def _facts_index_stall(env: Env, t: Tally, alice) -> None:
    """Known and left alone: the fact matching index (embeddings of every phrasing) is rebuilt
    under the fact service's lock, so fact answers wait while a large new fact file is indexed.
    Measured, not judged."""
    n = 2_000
    path = env.facts_dir / "many.yaml"
    write(path, "facts:\n" + "".join(f"  - id: many-{i}\n    questions: [What is the shelf code of bin {i}?]\n"
                                     f"    answer: Bin {i} is on shelf {i % 97}.\n    source: {{person: Warehouse}}\n"
                                     for i in range(n)))
    env.ctx.kb.facts.store.current()
    env.ctx.kb.facts.store.wait_reloaded(60)
    t0 = time.perf_counter()
    status, _ = env.ask(alice, "fact: What is the distributor margin target?", "alice")
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    env.ask(alice, "fact: What is the distributor margin target?", "alice")
    second = time.perf_counter() - t0
    path.unlink()
    env.ctx.kb.facts.store.current()
    env.ctx.kb.facts.store.wait_reloaded(60)
    env.ask(alice, "fact: What is the distributor margin target?", "alice")   # the index of the smaller set again
    t.note(f"facts index rebuilt under the service lock (known): with {n:,} new facts ({path.name}) the next fact "
           f"question took {first:.1f} s, the one after {second:.1f} s")


def _access_files(env: Env, t: Tally, alice) -> None:
    base = env.root / "acl"
    cases = {"syntax": "groups: [finance\n", "empty": "groups: []\n", "null": "groups:\n", "blank": "groups: ['']\n",
             "repeated": "groups: [finance]\ngroups: [everyone]\n", "not_list": "groups: {finance: true}\n",
             "binary": None, "tabs": "groups:\n\t- finance\n"}
    secrets_ = {}
    for label, text in cases.items():
        folder = base / label
        folder.mkdir(parents=True)
        if text is None:
            (folder / "_access.yaml").write_bytes(os.urandom(300))
        else:
            write(folder / "_access.yaml", text)
        secret = mark(f"ACL{label.upper()}")
        env.forbidden.append(secret)
        secrets_[label] = secret
        write(folder / "memo.md", f"# Memo {label}\n\nThe {label} access memo code of the Heron project is {secret}.\n")
    report = env.ctx.kb.ingest([base])
    lines = {f.path: f for f in report.files}
    for label, secret in secrets_.items():
        src = f"{label}/memo.md"
        rec = env.ctx.kb.chunk_store.source(src)
        opened = rec is not None and rec.status == "ok" and "everyone" in rec.access_groups
        t.check(not opened, f"_access.yaml {label}: {src} indexed for {rec and rec.access_groups}")
        t.check(src in lines or f"{label}/" in lines or f"{label}/_access.yaml" in lines,
                f"_access.yaml {label}: no report line ({sorted(lines)[:6]})")
        status, text = env.ask(alice, f"doc: What is the {label} access memo code of the Heron project?", "alice")
        t.check(status == 200 and not env.found(text), f"_access.yaml {label}: alice got {env.found(text)}")
        r = alice.get("/files", params={"source": src})
        t.check(not env.found(r.content), f"_access.yaml {label}: /files served {src}")


def run(env: Env, t: Tally) -> None:
    alice, fiona = env.client("alice"), env.client("fiona")
    _glossary(env, t, alice)
    _console(env, t)
    _facts(env, t, alice, fiona)
    _access_files(env, t, alice)
