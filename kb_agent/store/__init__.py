"""Persistent stores of ingested content (chunks, manifest, embedding cache)."""
