"""The evaluation harness: `kb-agent eval FILE.jsonl...` (see docs/eval.md)."""
