"""kb-agent: a knowledge-base assistant that looks company knowledge up instead of inventing it."""

__version__ = "0.1.0"
