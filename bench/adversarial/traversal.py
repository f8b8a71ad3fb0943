"""Class 3: path tricks on /files as alice (and as nobody). Relative and absolute escapes,
percent-encoded and double-encoded dots and slashes, backslashes, NUL, Unicode look-alike
dots, overlong UTF-8, long names, repeated parameters, the restricted folder's own sources
and its _access.yaml → never restricted or outside content, and every refusal the same page
(a crafted URL must not tell "exists but forbidden" from "does not exist")."""

from __future__ import annotations

from bench.adversarial.harness import Env, Tally

NUMBER, NAME = 3, "/files traversal"


def tricks(env: Env) -> list[str]:
    """Raw query strings after ``source=`` (sent as written: the encodings are the attack)."""
    secret = "finance/floor_prices.md"
    absolute = str(env.docs / secret)
    return [
        secret, "finance%2Ffloor_prices.md", "./finance/floor_prices.md", "public/../finance/floor_prices.md",
        "public/..%2Ffinance%2Ffloor_prices.md", "public%2F..%2Ffinance%2Ffloor_prices.md",
        "public/%2e%2e/finance/floor_prices.md", "public/%2E%2E%2Ffinance/floor_prices.md",
        "public/%252e%252e/finance/floor_prices.md", "public%252F..%252Ffinance%252Ffloor_prices.md",
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd", "../../../../../../etc/passwd", "/etc/passwd", "%2Fetc%2Fpasswd",
        "//etc/passwd", "file:///etc/passwd", absolute, "%2F" + absolute.lstrip("/").replace("/", "%2F"),
        str(env.outside_secret), "../" + "../" * 8 + str(env.outside_secret).lstrip("/"),
        "public\\..\\finance\\floor_prices.md", "public%5C..%5Cfinance%5Cfloor_prices.md", "finance\\floor_prices.md",
        "public/guide.md%00../finance/floor_prices.md", "finance/floor_prices.md%00.txt", "public/guide.md%00",
        "public/%E2%80%A5/finance/floor_prices.md",              # U+2025 two dot leader
        "public/%EF%BC%8E%EF%BC%8E/finance/floor_prices.md",     # fullwidth full stops
        "public/%E2%80%A4%E2%80%A4/finance/floor_prices.md",     # one dot leaders
        "public/%C0%AE%C0%AE/finance/floor_prices.md",           # overlong UTF-8 dots
        "public/..%c0%af../finance/floor_prices.md", "public/..;/finance/floor_prices.md",
        "finance/./floor_prices.md", "finance//floor_prices.md", "FINANCE/FLOOR_PRICES.MD", "finance/floor_prices.md.",
        "finance/floor_prices.md%20", "finance/floor_prices.md/", "finance/_access.yaml", "finance/", "finance",
        "finance/sub/doc.md", ".", "..", "", "a" * 5000, "public/" + "../" * 400 + "etc/passwd", "x/" * 3000,
        "public/guide.md/../../finance/floor_prices.md", "public/guide.md&source=" + secret,
        secret + "&source=public/guide.md", "../data/users.sqlite3", "../data/kb.sqlite3", "../kb_agent.yaml",
        "%2e%2e/kb_agent.yaml", "../glossary/company.yaml", "../facts/restricted.yaml",
    ]


def run(env: Env, t: Tally) -> None:
    alice, fiona, anon = env.client("alice"), env.client("fiona"), env.anon()
    # controls: the attack can see what it is looking for
    ok = alice.get("/files", params={"source": "public/guide.md"})
    t.check(ok.status_code == 200 and b"thirty days" in ok.content, f"control: alice's public download {ok.status_code}")
    ok = fiona.get("/files", params={"source": "finance/floor_prices.md"})
    t.check(ok.status_code == 200 and env.marks["finance"].encode() in ok.content,
            f"control: fiona's finance download {ok.status_code}")
    refusal = alice.get("/files", params={"source": "finance/no_such_file.md"})
    cases = tricks(env)
    if env.quick:
        cases = cases[::2]
    for raw in cases:
        for who, c in (("alice", alice), ("nobody", anon)):
            if who == "nobody" and raw not in cases[:8]:
                continue
            try:
                r = c.get(f"{env.url}/files?source={raw}")
            except Exception as exc:  # noqa: BLE001 - an invalid URL the client refuses to send
                t.check(True, f"{who}: {raw[:60]!r} not sendable ({type(exc).__name__})")
                continue
            leaked = env.found(r.content) + (["SQLite format 3"] if b"SQLite format 3" in r.content else [])
            t.check(not leaked, f"{who}: /files?source={raw[:80]} → {r.status_code} with {leaked}")
            if who == "alice" and r.status_code != 200:
                t.check((r.status_code, r.content) == (refusal.status_code, refusal.content),
                        f"alice: /files?source={raw[:80]} → a refusal unlike the one for a missing file "
                        f"({r.status_code}, {len(r.content)} bytes vs {refusal.status_code}, {len(refusal.content)})")
    # Methods and headers around the same route.
    for method in ("HEAD", "POST"):
        r = alice.request(method, "/files", params={"source": "finance/floor_prices.md"})
        t.check(not env.found(r.content) and r.status_code != 200, f"alice: {method} /files finance → {r.status_code}")
    r = alice.get("/files", params={"source": "finance/floor_prices.md"},
                  headers={"range": "bytes=0-100", "x-forwarded-user": "fiona", "x-remote-user": "admin"})
    t.check(not env.found(r.content), f"alice with Range and identity headers → {r.status_code}")
