#!/usr/bin/env python3
"""Starts kb-agent with the settings from the config file and environment.

Until the web chat lands this opens the interactive terminal chat on the embedded defaults.
"""

from kb_agent.cli import main

if __name__ == "__main__":
    import sys

    sys.argv = [sys.argv[0], "chat", *sys.argv[1:]]
    main()
