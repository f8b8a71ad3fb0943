"""Build the held-out corpus: documents of the same Debian packages as the development corpus
(bench/devcorpus/build.py) that it does *not* hold, with its own questions
(bench/devcorpus/heldout_questions.jsonl). Nothing was tuned on it: it checks the relevance
decision's defaults, which were calibrated on the development corpus (it was used once, to choose
between two points of that calibration's curve: docs/benchmarks.md).

    python bench/devcorpus/heldout.py [--out DIR] [--cache DIR]

What it holds (folders name the kind and language):

- ``reference/en``: the Debian Reference chapters 5–8 in English, ``reference/zh``: chapters 1–4
  in Chinese (the development corpus has the other halves);
- ``man/zh``: Chinese manual pages of commands the development corpus does not have;
- ``man/en``: English manual pages of sections 4, 5 and 7 it does not have.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import EN_MAN5, EN_MAN7, REFERENCE_EN, REFERENCE_ZH, ZH_MAN1, add_man_pages, copy, run_build  # noqa: E402

ZH_MAN1_HELDOUT = """uniq wc xargs touch timeout truncate uname timedatectl nproc realpath who whoami uptime
tty printenv pr link unlink mknod stdbuf factor xxd sha1sum zcat networkctl test tsort yes""".split()
EN_MAN = {"man4": "null random zero full loop tty".split(),
          "man5": "services protocols networks host.conf nsswitch.conf tzfile utmp core tmpfs".split(),
          "man7": "arp icmp ipv6 fifo credentials keyrings mailaddr netdevice".split()}
REFERENCE_EN_HELDOUT = ["ch05", "ch06", "ch07", "ch08"]
REFERENCE_ZH_HELDOUT = ["ch01", "ch02", "ch03", "ch04"]

assert not set(ZH_MAN1_HELDOUT) & set(ZH_MAN1)
assert not set(EN_MAN["man5"]) & set(EN_MAN5) and not set(EN_MAN["man7"]) & set(EN_MAN7)
assert not set(REFERENCE_EN_HELDOUT) & set(REFERENCE_EN) and not set(REFERENCE_ZH_HELDOUT) & set(REFERENCE_ZH)


def build(root: Path, out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    ref = root / "usr/share/debian-reference"
    for lang, chapters, suffix in (("en", REFERENCE_EN_HELDOUT, "en"), ("zh", REFERENCE_ZH_HELDOUT, "zh-cn")):
        for ch in chapters:
            copy(ref / f"{ch}.{suffix}.html", out / f"reference/{lang}" / f"{ch}.{suffix}.html")
            counts[f"reference/{lang}"] = counts.get(f"reference/{lang}", 0) + 1
    pages = [("man/zh", "zh_CN/man1", n) for n in ZH_MAN1_HELDOUT]
    pages += [("man/en", section, n) for section, names in EN_MAN.items() for n in names]
    add_man_pages(root, out, pages, counts)
    return counts


def main(argv: list[str] | None = None) -> int:
    return run_build(build, __doc__, Path("/tmp/kb-heldout/docs"), argv)


if __name__ == "__main__":
    sys.exit(main())
