"""Build the development corpus: real public documents nobody on the team wrote, in Chinese
and English, from Debian packages (downloaded with ``apt-get download``, unpacked with
``dpkg-deb``; nothing is installed). It is rebuilt, not committed: the questions about it are
in bench/devcorpus/questions.jsonl.

    python bench/devcorpus/build.py [--out DIR] [--cache DIR]

What it holds (about 330 files; folders name the kind and language):

- ``faq/zh``, ``faq/en``: the Debian FAQ as HTML pages, and the English FAQ as one PDF
  (with a table of contents, which is what issue #11's navigation detection is about);
- ``maint-guide/zh``, ``maint-guide/en``: the Debian New Maintainers' Guide (HTML);
- ``edu/zh``: the Debian Edu manual in Chinese (a long PDF with a table of contents);
- ``reference/en``, ``reference/zh``: chapters of the Debian Reference (HTML), different
  chapters in each language so that a question is not answered twice by translations;
- ``man/zh``, ``man/en``: manual pages rendered to text with ``man -l`` (manpages-zh, manpages).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

PACKAGES = ["debian-faq", "debian-faq-zh-cn", "maint-guide", "maint-guide-zh-cn", "debian-edu-doc-zh-cn",
            "debian-reference-en", "debian-reference-zh-cn", "manpages", "manpages-zh"]

ZH_MAN1 = """ar at base64 basename bzip2 cal cat chattr chgrp chmod chown chroot cksum comm cp cpio cut date dd
df diff dig dirname du echo env expand expr file find fmt fold free ftp grep groups gzip head host hostname
hostnamectl iconv id install journalctl kill killall last ldd ln localectl loginctl ls lsattr md5sum mkdir
mkfifo mktemp more mv nice nl nohup od paste pg_dump printf psql pwd readlink rm rmdir scp sed seq
sha256sum shuf sleep sort split ssh stat strings stty sync systemctl tac tail tar tee""".split()
ZH_MAN8 = """adduser chpasswd cron fdisk groupadd ifconfig insmod lsmod mkfs modprobe mount netstat ping route
shutdown useradd userdel usermod visudo""".split()
EN_MAN7 = """bootparam boot capabilities cgroups charsets environ epoll glob hier hostname inotify ip locale
man mount_namespaces namespaces pipe regex signal socket standards suffixes symlink tcp time udp unix uri
utf-8 ascii""".split()
EN_MAN5 = """crontab filesystems fstab group hosts issue motd nologin passwd resolv.conf securetty shells
""".split()
REFERENCE_EN = ["ch01", "ch02", "ch03", "ch04"]
REFERENCE_ZH = ["ch05", "ch06", "ch07", "ch08"]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def download(cache: Path) -> Path:
    """The packages unpacked under ``cache/x`` (downloaded once)."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        run(["apt-get", "download", *missing], cwd=debs)
    root = cache / "x"
    if not root.exists():
        tmp = Path(tempfile.mkdtemp(dir=cache))
        for deb in sorted(debs.glob("*.deb")):
            run(["dpkg-deb", "-x", str(deb), str(tmp)])
        tmp.rename(root)
    return root


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix == ".gz":
        with gzip.open(src) as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    else:
        shutil.copyfile(src, dst)


def render_man(src: Path, dst: Path) -> bool:
    """A manual page as plain UTF-8 text (False when it does not render)."""
    try:
        out = subprocess.run(["man", "-l", "-Tutf8", str(src)], capture_output=True, stdin=subprocess.DEVNULL,
                             timeout=30, env={"MANWIDTH": "100", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired:
        return False
    if out.returncode != 0 or not out.stdout.strip():
        return False
    text = subprocess.run(["col", "-bx"], input=out.stdout, capture_output=True).stdout.decode("utf-8", "replace")
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")
    return True


def build(root: Path, out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}

    def add(folder: str, src: Path, name: str | None = None) -> None:
        copy(src, out / folder / (name or src.name.removesuffix(".gz")))
        counts[folder] = counts.get(folder, 0) + 1

    faq = root / "usr/share/doc/debian/FAQ"
    for page in sorted((faq / "zh-cn").glob("*.html")):
        add("faq/zh", page)
    for page in sorted(faq.glob("*.en.html")):
        add("faq/en", page)
    add("faq/en", faq / "debian-faq.en.pdf.gz")
    for lang, pkg in (("en", "maint-guide"), ("zh", "maint-guide-zh-cn")):
        for page in sorted((root / f"usr/share/doc/{pkg}/html").glob("*.html")):
            add(f"maint-guide/{lang}", page)
    add("edu/zh", root / "usr/share/doc/debian-edu-doc-zh-cn/debian-edu-bookworm-manual.pdf",
        "debian-edu-bookworm-manual.zh-cn.pdf")
    ref = root / "usr/share/debian-reference"
    for ch in REFERENCE_EN:
        add("reference/en", ref / f"{ch}.en.html")
    for ch in REFERENCE_ZH:
        add("reference/zh", ref / f"{ch}.zh-cn.html")
    pages = [("man/zh", "zh_CN/man1", n) for n in ZH_MAN1] + [("man/zh", "zh_CN/man8", n) for n in ZH_MAN8]
    pages += [("man/en", "man7", n) for n in EN_MAN7] + [("man/en", "man5", n) for n in EN_MAN5]
    add_man_pages(root, out, pages, counts)
    return counts


def add_man_pages(root: Path, out: Path, pages: list[tuple[str, str, str]], counts: dict[str, int]) -> None:
    """Render ``(folder, section, name)`` manual pages into ``out/folder``, counting them."""
    for folder, section, name in pages:
        suffix = section[-1]
        src = root / "usr/share/man" / section / f"{name}.{suffix}.gz"
        if src.exists() and render_man(src, out / folder / f"{name}.{suffix}.txt"):
            counts[folder] = counts.get(folder, 0) + 1


def run_build(build_corpus: Callable[[Path, Path], dict[str, int]], doc: str, default_out: Path,
              argv: list[str] | None = None) -> int:
    """The command line of a corpus script: download (once), rebuild ``--out``, print the counts."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=default_out, help="where the corpus is written")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/kb-agent/devcorpus",
                    help="downloaded packages (kept between runs, shared by the corpus scripts)")
    args = ap.parse_args(argv)
    root = download(args.cache)
    if args.out.exists():
        shutil.rmtree(args.out)
    counts = build_corpus(root, args.out)
    for folder, n in sorted(counts.items()):
        print(f"{folder:16} {n:4d} files")
    print(f"{sum(counts.values())} files in {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_build(build, __doc__, Path("/tmp/kb-devcorpus/docs"), argv)


if __name__ == "__main__":
    sys.exit(main())
