"""Text embedders behind one protocol (see base.py)."""
