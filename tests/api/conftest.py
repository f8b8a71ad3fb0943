"""API-test fixtures: the real web app (tests/ui/conftest.py's start_app: users admin, alice
the employee and fiona in finance; a public guide and a finance-only price sheet), and keys."""

from __future__ import annotations

import pytest

from tests.ui.conftest import make_docs, start_app  # noqa: F401  (fixtures used by the API tests)


@pytest.fixture
def key_for():
    """key_for(app, user) -> a new API key of that user on a running app."""

    def make(app, user: str, **kw) -> str:
        return app.ctx.auth.keys.create(user, **kw)[1]

    return make
