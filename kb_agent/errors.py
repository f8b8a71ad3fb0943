"""The error family of kb-agent.

Every error meant for a person derives from :class:`KBError`. Each audience renders it its
own way: the CLI prints ``str(err)`` (one clean line plus the hint), the web UI shows
``err.user_text()``, a tool returns ``err.for_llm()`` to the model, and the log keeps the
traceback. Nothing here imports the rest of the package.
"""

from __future__ import annotations


class KBError(Exception):
    """Base class. ``message`` says what went wrong, ``hint`` what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def user_text(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message

    def for_llm(self) -> str:
        """Short text a tool hands back to the model: no traceback, no internals."""
        return f"Error: {self.message}"

    def __str__(self) -> str:
        return self.user_text()


class ConfigError(KBError):
    """Settings could not be loaded or are inconsistent."""


class LLMError(KBError):
    """The language model backend failed."""

    def __init__(self, message: str, *, backend: str, url: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.backend = backend
        self.url = url


class LLMUnavailableError(LLMError):
    """The configured model server cannot be reached or refuses the request."""


class ToolLoadError(KBError):
    """A tool named in the settings could not be found, imported or registered."""

    def __init__(self, message: str, *, module: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.module = module


class ToolArgumentError(KBError):
    """A tool was called with arguments it cannot use; the model may correct and retry."""

    def for_llm(self) -> str:
        return f"Invalid arguments: {self.message}"


class GlossaryError(KBError):
    """The glossary (or one of its files) is invalid or cannot be imported."""


class IngestError(KBError):
    """Ingestion of documents failed as a whole (single bad files are reported, not raised)."""


class ParseError(IngestError):
    """One document could not be parsed; ``reason`` goes into the ingestion report."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class OcrTimeout(ParseError):
    """OCR of one page or image ran past ``ingest.ocr_page_timeout_s``; the engine is left busy
    with it, so this process does no more OCR (a parser worker is then replaced)."""


class EmbeddingError(KBError):
    """An embedding backend is misconfigured or failed."""


class StoreError(KBError):
    """An index or database in the data directory is missing, corrupt or unusable."""


class FactError(KBError):
    """The fact store or a table query failed."""


class AuthError(KBError):
    """Sign-in failed or the session is no longer valid."""


class ThrottledError(AuthError):
    """Too many failed sign-ins (passwords or API keys) from one address or for one user."""

    def __init__(self, message: str, *, retry_after_s: float, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s


class AccessDenied(KBError):
    """The signed-in user may not see or do this."""


class InputError(KBError):
    """A caller's input cannot be used as it is (an empty or over-long question)."""
