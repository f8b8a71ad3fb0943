"""Class 4: symbolic links in the document tree.

Before the first ingestion the public folder gets links to the restricted document, to a file
outside the tree, to /etc/passwd, to the restricted folder, to a folder outside, a dangling
link, a loop and a hidden link. After it, an ingested public file is replaced by a link to the
restricted document (and another by a link outside), and an ingested public folder by a link
to the restricted folder — first without ingesting again, then after an ingestion.
Alice must never get the restricted or outside marker through /api/ask, the chat endpoint or
/files; every link gets a line in the ingestion report, and a link that is indexed carries its
target's access groups."""

from __future__ import annotations

import os

from bench.adversarial.harness import SECRET_QUESTION, Env, Tally, mark, write

NUMBER, NAME = 4, "symlinks"

LINKS = {  # link name in public/ -> what it points at (relative to the tree, or absolute)
    "link_to_secret.md": "../finance/floor_prices.md",
    "link_outside.md": "{outside}",
    "link_passwd.txt": "/etc/passwd",
    "link_dir": "../finance",
    "link_dir_outside": "{outside_dir}",
    "dangling.md": "no_such_file.md",
    "loop.md": "loop.md",
    ".hidden_link.md": "../finance/floor_prices.md",
    "link_access.yaml": "../finance/_access.yaml",
}
OUTSIDE_Q = "What is the outside secret of the server?"
MEMO_Q = "What is the confidential budget memo code?"


def prepare(env: Env) -> None:
    pub = env.docs / "public"
    for name, target in LINKS.items():
        os.symlink(target.format(outside=env.outside_secret, outside_dir=env.outside_dir), pub / name)
    write(pub / "replaced.md", "# Shipping note\n\nPrinters ship from the Suzhou warehouse on weekdays.\n")
    write(pub / "replaced_out.md", "# Packing note\n\nPrinters are packed in recycled cartons.\n")
    write(pub / "swap" / "doc.md", "# Canteen memo\n\nThe canteen opens at half past eleven.\n")
    write(env.docs / "finance" / "swap_target" / "doc.md",
          f"# Budget memo\n\nThe confidential budget memo code is {env.marks['finance2']}.\n")
    # A hard link is the same file under a second name: nothing tells ingestion which folder it
    # "belongs" to. Known and left alone (docs/security.md); measured, with a marker of its own
    # that is not among the forbidden ones (it would count as a leak in every class after).
    env.hardlink_mark = mark("HARDLINK")
    target = write(env.docs / "finance" / "hardlink_target.md",
                   f"# Hard link memo\n\nThe hard link memo code of the audit is {env.hardlink_mark}.\n")
    os.link(target, pub / "hardlink.md")


def _alice_sees(env: Env, t: Tally, alice, phase: str) -> None:
    sources = [f"public/{n}" for n in LINKS] + ["public/replaced.md", "public/replaced_out.md", "public/swap/doc.md"]
    for src in sources:
        r = alice.get("/files", params={"source": src})
        t.check(not env.found(r.content), f"{phase}: /files?source={src} → {r.status_code} with {env.found(r.content)}")
    for q in (SECRET_QUESTION, OUTSIDE_Q, MEMO_Q, "Printers ship from the Suzhou warehouse"):
        status, text = env.ask(alice, q, "alice")
        t.check(status == 200 and not env.found(text), f"{phase}: /api/ask {q[:40]!r} → {status} {env.found(text)}")
        done, text = env.chat(alice, q, "alice")
        t.check(done and not env.found(text), f"{phase}: chat {q[:40]!r} → completed={done} {env.found(text)}")


def run(env: Env, t: Tally) -> None:
    report = {f.path: f for f in env.initial_report.files}
    for name in LINKS:
        line = report.get(f"public/{name}")
        t.check(line is not None, f"no ingestion report line for the link public/{name}")
        if line is not None and line.status in ("ok", "unchanged"):
            rec = env.ctx.kb.chunk_store.source(f"public/{name}")
            t.check(rec is not None and tuple(rec.access_groups) == ("finance",),
                    f"link public/{name} indexed with groups {rec and rec.access_groups}, not its target's (finance)")
    alice, fiona = env.client("alice"), env.client("fiona")
    status, text = env.ask(fiona, SECRET_QUESTION, "fiona")
    t.check(env.marks["finance"] in text, f"control: fiona does not get the finance marker ({status})")
    _alice_sees(env, t, alice, "after ingestion")
    status, text = env.ask(alice, "doc: What is the hard link memo code of the audit?", "alice")
    rec = env.ctx.kb.chunk_store.source("public/hardlink.md")
    t.note("hard links (known, not detected): public/hardlink.md, a hard link to a finance file, is indexed "
           f"for {rec and list(rec.access_groups)}; alice {'got' if env.hardlink_mark in text else 'did not get'} "
           "its text")

    pub = env.docs / "public"
    (pub / "replaced.md").unlink()
    os.symlink("../finance/floor_prices.md", pub / "replaced.md")
    (pub / "replaced_out.md").unlink()
    os.symlink(env.outside_secret, pub / "replaced_out.md")
    (pub / "swap").rename(env.root / "swap_moved")
    os.symlink("../finance/swap_target", pub / "swap")
    _alice_sees(env, t, alice, "replaced by links, not re-ingested")

    again = {f.path: f for f in env.ctx.kb.ingest([env.docs]).files}
    for src in ("public/replaced.md", "public/replaced_out.md", "public/swap"):
        t.check(src in again or any(p.startswith(src + "/") for p in again),
                f"re-ingestion: no report line for {src} (now a link)")
    _alice_sees(env, t, alice, "replaced by links, re-ingested")
