"""Spreadsheet tables: read sheets (read.py), find header and types (detect.py), keep them in
SQLite (db.py) and receive them from the ingestion pipeline (hook.py)."""
