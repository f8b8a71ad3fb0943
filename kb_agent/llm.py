"""LLM backend configuration for Qwen-Agent, and the one clear error when a backend fails.

``offline`` has no LLM (the deterministic router answers); ``dashscope`` talks to Qwen models
on DashScope; ``openai`` to any OpenAI-compatible server (vLLM, Ollama, …) in either tool-call
mode: tool schemas in the prompt (default) or native ``tools`` (``use_raw_api``).
"""

from __future__ import annotations

from typing import Any

from kb_agent.config import Settings
from kb_agent.errors import ConfigError, LLMUnavailableError

DASHSCOPE_URL = "https://dashscope.aliyuncs.com"


def backend_url(settings: Settings) -> str | None:
    if settings.llm == "openai":
        return settings.openai.model_server
    if settings.llm == "dashscope":
        return DASHSCOPE_URL
    return None


def llm_config(settings: Settings) -> dict[str, Any]:
    """The ``llm`` dict for a Qwen-Agent agent. Raises ConfigError naming what to set."""
    temperature = settings.agent.temperature
    if settings.llm == "dashscope":
        key = settings.dashscope.api_key.get_secret_value() if settings.dashscope.api_key else ""
        if not key:
            raise ConfigError("LLM backend 'dashscope' is selected but no API key is set.",
                              hint="Set DASHSCOPE_API_KEY (or KB_AGENT_DASHSCOPE__API_KEY), "
                                   "or run without a model: KB_AGENT_LLM=offline.")
        return {"model": settings.dashscope.model, "model_type": "qwen_dashscope", "api_key": key,
                "generate_cfg": {"temperature": temperature}}
    if settings.llm == "openai":
        server = settings.openai.model_server
        if not server:
            raise ConfigError("LLM backend 'openai' is selected but no model server URL is set.",
                              hint="Set KB_AGENT_OPENAI__MODEL_SERVER, e.g. http://localhost:8000/v1 "
                                   "(vLLM) or http://localhost:11434/v1 (Ollama), or KB_AGENT_LLM=offline.")
        return {"model": settings.openai.model, "model_type": "oai", "model_server": server,
                "api_key": settings.openai.api_key.get_secret_value() or "EMPTY",
                "generate_cfg": {"use_raw_api": settings.openai.use_raw_api, "temperature": temperature,
                                 "request_timeout": settings.openai.request_timeout_s}}
    raise ConfigError("The offline backend has no language model to configure.")


def unavailable(settings: Settings, exc: BaseException) -> LLMUnavailableError:
    """Turn a model-service failure into one readable error: which backend, which URL, what to do."""
    cause = getattr(exc, "exception", None) or exc
    detail = " ".join(str(cause).split())[:300] or type(cause).__name__
    url = backend_url(settings)
    if settings.llm == "openai":
        hint = (f"Check that the server at {url} is running and serves model '{settings.openai.model}' "
                "(KB_AGENT_OPENAI__MODEL_SERVER, KB_AGENT_OPENAI__MODEL), or set KB_AGENT_LLM=offline.")
    else:
        hint = ("Check DASHSCOPE_API_KEY and network access to DashScope "
                f"(model '{settings.dashscope.model}'), or set KB_AGENT_LLM=offline.")
    return LLMUnavailableError(f"The language model ({settings.llm} backend at {url}) failed: {detail}",
                               backend=settings.llm, url=url, hint=hint)
