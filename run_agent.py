#!/usr/bin/env python3
"""Starts the kb-agent web app (chat at /chat, admin console at /admin) with the settings from
the config file and environment — the same code as `kb-agent serve`.

On first start it creates the first admin (credentials printed once, or taken from
``web.admin_password``) and, when the chunk store is empty, ingests the sample knowledge base.
Extra arguments are passed to `kb-agent serve` (e.g. ``--port 8080``, ``--single-user``).
"""

from kb_agent.cli import main

if __name__ == "__main__":
    import sys

    sys.argv = [sys.argv[0], "serve", *sys.argv[1:]]
    main()
