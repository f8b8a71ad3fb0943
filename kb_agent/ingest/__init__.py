"""Document ingestion: parsers -> sections -> chunks -> embeddings -> ChunkStore (see docs/ingestion.md)."""
