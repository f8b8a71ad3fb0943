"""Curated facts (YAML, admin-edited) and spreadsheet tables (SQLite), answered exactly with
sources: the store behind the fact_query tool and the offline fact route (docs/facts.md)."""
