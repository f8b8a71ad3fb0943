"""One Milvus client per URI and process, the scope as a filter expression, and the meta record.

- pymilvus is imported here only, lazily, with a :class:`StoreError` naming the ``milvus``
  extra when it is missing.
- milvus-lite opens its database file in one process at a time, so the client for a URI is
  shared by every index of the process (the dense and the text index of one knowledge base).
- Filter expressions are built from JSON string literals (Milvus accepts their ``\\"`` and
  ``\\\\`` escapes; raw UTF-8, not ``\\u`` escapes), so a group or folder name can never
  change the expression's meaning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kb_agent.errors import StoreError
from kb_agent.index.backend import Scope

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'kb-agent[milvus]' (pymilvus, milvus-lite, jieba)"
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def pymilvus():
    try:
        import pymilvus as module
    except ImportError as exc:
        raise StoreError(f"retrieval backend milvus needs the pymilvus package ({exc})", hint=EXTRA_HINT) from exc
    return module


def is_local(uri: str) -> bool:
    return "://" not in uri


def resolve_uri(settings, index_dir: Path) -> str:
    """A local file path (relative: inside ``index_dir``) or the server URI unchanged."""
    if not is_local(settings.uri):
        return settings.uri
    path = Path(settings.uri).expanduser()
    if not path.is_absolute():
        path = Path(index_dir) / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path.resolve())


def client_for(settings, index_dir: Path):
    """The shared ``MilvusClient`` for ``settings.uri`` (StoreError when it cannot connect)."""
    uri = resolve_uri(settings, index_dir)
    key = f"{uri}|{settings.db_name or ''}|{settings.user or ''}"
    with _clients_lock:
        client = _clients.get(key)
        if client is not None:
            return client
        milvus = pymilvus()
        kwargs: dict[str, Any] = {"uri": uri, "timeout": settings.timeout_s}
        if settings.token is not None:
            kwargs["token"] = settings.token.get_secret_value()
        if settings.user:
            kwargs["user"] = settings.user
        if settings.password is not None:
            kwargs["password"] = settings.password.get_secret_value()
        if settings.db_name:
            kwargs["db_name"] = settings.db_name
        logging.getLogger("pymilvus").setLevel(logging.WARNING)
        if is_local(uri):
            # milvus-lite's in-process gRPC servicer logs a traceback for every call it does not
            # implement (AllocTimestamp, …) although pymilvus falls back and nothing fails; the
            # CLI would print them to the user.
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        try:
            client = milvus.MilvusClient(**kwargs)
        except ImportError as exc:      # milvus-lite missing for a local file
            raise StoreError(f"retrieval.milvus.uri {uri} is a local file, which needs milvus-lite ({exc})",
                             hint=EXTRA_HINT) from exc
        except Exception as exc:
            raise StoreError(f"cannot connect to Milvus at {uri}: {type(exc).__name__}: {exc}",
                             hint="check retrieval.milvus.uri / token, or use a local file path for milvus-lite"
                             ) from exc
        _clients[key] = client
        return client


def close_clients() -> None:
    """Close every client of this process (shutdown; tests simulating a restart): milvus-lite
    writes its file and lets it go."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception as exc:  # closing is best effort
            log.debug("closing a Milvus client: %s", exc)


def literal(values: Iterable[str]) -> str:
    """A Milvus list literal of strings: ``["a", "b\\"c"]``."""
    return json.dumps([str(v) for v in values], ensure_ascii=False)


def access_key(groups: Iterable[str]) -> str:
    """One short hex string per distinct set of access groups, stored with each row. Hex, not
    the names: milvus-lite's search (not its query) misses ``in`` matches of strings holding an
    escaped quote."""
    canonical = json.dumps(sorted(set(groups)), ensure_ascii=False)
    return hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:20]


def scope_filter(scope: Scope, access_keys: Mapping[str, Sequence[str]]) -> str | None:
    """The scope as a Milvus boolean expression ("" = everything; None = nothing is visible):
    the same rules as :meth:`Principal.can_see <kb_agent.access.Principal.can_see>` and
    :meth:`SearchFilters.matches <kb_agent.index.filters.SearchFilters.matches>`.

    Access is tested on ``access_key`` (the row's group set as one indexed string) against the
    group sets of this collection the principal may see: ``array_contains_any`` over the
    ``access_groups`` array scans every row (measured on milvus-lite at 10k rows: 630 ms a
    dense search, vs 42 ms with ``access_key in [...]``). A group set unknown to this process
    is left out, so a row can only be missed, never shown to the wrong person."""
    parts = []
    p = scope.principal
    if not p.is_admin:
        visible = sorted(k for k, groups in access_keys.items() if p.can_see(tuple(groups)))
        if not visible:
            return None
        parts.append(f"access_key in {literal(visible)}")
    f = scope.filters
    if f is not None and f.folders:
        folders = literal(f.folders)
        parts.append(f"(array_contains_any(folders, {folders}) or source in {folders})")
    if f is not None and f.file_types:
        parts.append(f"file_type in {literal(f.file_types)}")
    return " and ".join(parts)


def failed(what: str, exc: Exception) -> StoreError:
    """A Milvus error as a StoreError naming what failed."""
    return StoreError(f"Milvus {what} failed: {type(exc).__name__}: {exc}",
                      hint="check the Milvus server (retrieval.milvus.uri); the index is rebuilt from the chunk "
                           "store if it is lost")


class MetaRecords:
    """``<prefix>_meta``: one JSON record per index (key = the index's role), saying which
    physical collection is current and what it was built for. Milvus needs a vector field in
    every collection, hence the 2-dim dummy."""

    def __init__(self, client, prefix: str):
        self.client = client
        self.name = f"{prefix}_meta"
        self._ready = False

    def _ensure(self) -> None:
        if self._ready:
            return
        if not self.client.has_collection(self.name):
            DataType = pymilvus().DataType
            schema = self.client.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
            schema.add_field("value", DataType.VARCHAR, max_length=65535)
            schema.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)
            index = self.client.prepare_index_params()
            index.add_index("dummy", index_type="FLAT", metric_type="L2")
            self.client.create_collection(self.name, schema=schema, index_params=index, consistency_level="Strong")
        else:
            self.client.load_collection(self.name)  # a collection from an earlier process starts released
        self._ready = True

    def get(self, key: str) -> dict | None:
        self._ensure()
        rows = self.client.get(self.name, ids=[key], output_fields=["value"])
        if not rows:
            return None
        try:
            return json.loads(rows[0]["value"])
        except (ValueError, KeyError, TypeError):
            log.warning("Milvus meta record %s in %s is unreadable; the index is rebuilt", key, self.name)
            return None

    def put(self, key: str, value: dict) -> None:
        self._ensure()
        self.client.upsert(self.name, [{"key": key, "value": json.dumps(value), "dummy": [0.0, 0.0]}])
