"""The bridge between Qwen-Agent tools and the knowledge base.

- :class:`KBTool` is the base of every kb-agent tool in ``tools/``: it parses the model's
  arguments, calls :meth:`KBTool.run` (a thin adapter over a KnowledgeBase method), turns
  a :class:`~kb_agent.errors.KBError` into a short message the model can act on, and records
  what happened in the turn's :class:`TurnRecorder` (for ``--json`` output and the web UI).
- :func:`load_tools` imports ``tools/<name>.py`` for every name in the settings and returns
  the registered classes; an unknown or broken tool fails at start-up naming its module.

Tools receive ``cfg={"kb": KnowledgeBase, "principal": Principal, "recorder": TurnRecorder,
"work_dir": ...}``. Plain Qwen-Agent ``BaseTool`` subclasses work too: they ignore cfg.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import json5
from qwen_agent.tools.base import TOOL_REGISTRY, BaseTool

from kb_agent.access import EMPLOYEE
from kb_agent.errors import KBError, ToolArgumentError, ToolLoadError
# The result types live in kb_agent/results.py; re-exported here for tool modules in tools/.
from kb_agent.results import Citation, ToolEvent, ToolOutput, TurnRecorder, evidence_legend, numbered  # noqa: F401

log = logging.getLogger(__name__)


class KBTool(BaseTool):
    """Base class for tools backed by the KnowledgeBase. Subclasses implement :meth:`run`."""

    def __init__(self, cfg: dict | None = None):
        super().__init__(cfg)
        self.kb = self.cfg.get("kb")
        # Least privilege when built without one (plain Qwen-Agent use): an employee, never an admin.
        self.principal = self.cfg.get("principal") or EMPLOYEE
        self.recorder: TurnRecorder | None = self.cfg.get("recorder")

    def run(self, args: dict[str, Any]) -> ToolOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def call(self, params: str | dict, **kwargs) -> str:
        try:
            args = self._parse_args(params)
        except ToolArgumentError as exc:
            self._record({}, ToolOutput(exc.for_llm(), found=False), str(exc))
            return exc.for_llm()
        try:
            output = self.run(args)
        except KBError as exc:
            log.warning("tool %s failed: %s", self.name, exc)
            self._record(args, ToolOutput(exc.for_llm(), found=False), str(exc))
            return exc.for_llm()
        except Exception as exc:  # never leak a traceback to the model; keep it in the log
            log.exception("tool %s crashed", self.name)
            msg = f"Error: the {self.name} tool failed internally ({type(exc).__name__})."
            self._record(args, ToolOutput(msg, found=False), repr(exc))
            return msg
        self._record(args, output, None)
        return output.text

    def _parse_args(self, params: str | dict) -> dict[str, Any]:
        if isinstance(params, dict):
            args = params
        else:
            try:
                args = json5.loads(params) if params and params.strip() else {}
            except ValueError as exc:
                raise ToolArgumentError(f"arguments are not valid JSON: {exc}") from exc
        if not isinstance(args, dict):
            raise ToolArgumentError("arguments must be a JSON object")
        schema = self.parameters if isinstance(self.parameters, dict) else {}
        for name in schema.get("required", []):
            if args.get(name) in (None, ""):
                raise ToolArgumentError(f"missing required argument '{name}'")
        known = set(schema.get("properties", {}))
        unknown = set(args) - known if known else set()
        if unknown:
            raise ToolArgumentError(f"unknown argument(s) {sorted(unknown)}; expected {sorted(known)}")
        return args

    def _record(self, args: dict, output: ToolOutput, error: str | None) -> None:
        if self.recorder is not None:
            self.recorder.add(ToolEvent(self.name, dict(args), output, error))


_load_lock = threading.Lock()


def load_tool_class(name: str, tools_dir: Path) -> type[BaseTool]:
    """Import ``tools_dir/<name>.py`` once and return the class registered as ``name``."""
    with _load_lock:
        if name in TOOL_REGISTRY:
            return TOOL_REGISTRY[name]
        path = Path(tools_dir) / f"{name}.py"
        module_name = f"kb_agent_tools.{name}"
        if not path.is_file():
            raise ToolLoadError(f"Tool '{name}' not found: expected module {path}", module=str(path),
                                hint="Check `agent.tools` in the settings or add the module to the tools folder.")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise ToolLoadError(f"Tool module {path} failed to import: {type(exc).__name__}: {exc}",
                                module=str(path)) from exc
        if name not in TOOL_REGISTRY:
            raise ToolLoadError(f"Tool module {path} does not register a tool named '{name}'",
                                module=str(path),
                                hint=f"Decorate its BaseTool subclass with @register_tool('{name}').")
        cls = TOOL_REGISTRY[name]
        if not isinstance(getattr(cls, "parameters", None), dict):
            raise ToolLoadError(f"Tool '{name}' in {path}: `parameters` must be a JSON-schema object",
                                module=str(path))
        return cls


def instantiate_tools(names: list[str], tools_dir: Path, cfg: dict[str, Any]) -> list[BaseTool]:
    return [load_tool_class(name, tools_dir)(dict(cfg)) for name in names]
