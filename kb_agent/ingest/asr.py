"""Speech-to-text backends behind one small interface.

``create_transcriber(options)`` returns None when ASR is off (the file is then recorded with
its metadata and the report says "no transcript: no ASR configured"). Backends:
``pocketsphinx`` (the default: English, offline, its model ships inside the PyPI package),
``local`` (faster-whisper over a local model directory, optional; detects the language) and
``dashscope`` (Paraformer through the ``dashscope`` SDK; needs network and a key, so it is not
exercised by the offline tests). A faster-whisper model loads once per worker process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kb_agent.errors import KBError, ParseError


@dataclass(frozen=True)
class Transcript:
    text: str
    #: ISO 639-1 code of the language heard ("en"), None when the backend does not say.
    language: str | None = None
    #: How sure the recogniser is of the words (0..1), None when it does not say. Speech in
    #: a language a single-language model does not know comes out as words it is unsure of.
    confidence: float | None = None


class Transcriber(Protocol):
    name: str

    def transcribe(self, samples: np.ndarray, sr: int) -> Transcript:
        """Mono float32 samples of one speech segment -> its text ('' when nothing was said)."""


class NoTranscriber(KBError):
    """ASR is configured but cannot be used; the message goes into the report note."""


def _at_16k(samples: np.ndarray, sr: int) -> np.ndarray:
    if sr == 16000:
        return samples.astype(np.float32, copy=False)
    import librosa

    return librosa.resample(samples.astype(np.float32), orig_sr=sr, target_sr=16000)


class PocketSphinxTranscriber:
    """CMU PocketSphinx with the US-English model bundled in the ``pocketsphinx`` wheel. It
    knows English only: speech in another language comes out as English-sounding words, with
    a low confidence (the words' posterior probabilities, weighted by their length).

    One decoder per file (0.3 s to load): a decoder adapts to what it heard, so a reused one
    would score a file differently depending on the files before it."""

    name = "pocketsphinx"
    language = "en"

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise NoTranscriber("no transcript: the default ASR needs pocketsphinx "
                                "(pip install 'kb-agent[media]')") from exc
        self._decoder = Decoder(loglevel="FATAL")

    def transcribe(self, samples: np.ndarray, sr: int) -> Transcript:
        pcm = (np.clip(_at_16k(samples, sr), -1.0, 1.0) * 32767).astype("<i2").tobytes()
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        words = [(seg.prob, seg.end_frame - seg.start_frame + 1) for seg in d.seg()
                 if not seg.word.startswith(("<", "["))]  # not <s>, <sil>, [NOISE]
        frames = sum(n for _, n in words)
        confidence = sum(p * n for p, n in words) / frames if frames else None
        return Transcript(" ".join((hyp.hypstr if hyp else "").split()), self.language, confidence)


class FasterWhisperTranscriber:
    name = "faster-whisper"

    def __init__(self, model_dir: str):
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise NoTranscriber("no transcript: local ASR needs faster-whisper (pip install faster-whisper)") from exc
        try:
            self._model = WhisperModel(model_dir, device="auto", compute_type="int8")
        except Exception as exc:  # noqa: BLE001 - a missing or broken model directory
            raise NoTranscriber(f"no transcript: the faster-whisper model in {model_dir} could not be "
                                f"loaded ({type(exc).__name__})") from exc

    def transcribe(self, samples: np.ndarray, sr: int) -> Transcript:
        segments, info = self._model.transcribe(_at_16k(samples, sr), vad_filter=False)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text, getattr(info, "language", None))


class DashScopeTranscriber:
    name = "dashscope-paraformer"

    def __init__(self, api_key: str):
        try:
            import dashscope  # noqa: F401
        except ImportError as exc:
            raise NoTranscriber("no transcript: DashScope ASR needs the dashscope package") from exc
        self.api_key = api_key

    def transcribe(self, samples: np.ndarray, sr: int) -> Transcript:
        import os
        import tempfile
        import wave

        from dashscope.audio.asr import Recognition

        with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as fh:
            tmp = fh.name
        try:
            with wave.open(tmp, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sr)
                w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
            rec = Recognition(model="paraformer-realtime-v2", format="wav", sample_rate=sr, callback=None,
                              api_key=self.api_key)
            result = rec.call(tmp)
            if getattr(result, "status_code", 200) != 200:
                raise ParseError(tmp, f"DashScope ASR failed: {getattr(result, 'message', result)}")
            sentences = result.get_sentence() or []
            return Transcript(" ".join(s.get("text", "") for s in sentences).strip())
        finally:
            os.unlink(tmp)


def create_transcriber(options) -> Transcriber | None:
    """None when ASR is off; raises NoTranscriber (a report note) when it cannot be used."""
    if options.asr_backend == "pocketsphinx":
        return PocketSphinxTranscriber()
    if options.asr_backend == "local":
        if not options.asr_model_dir:
            raise NoTranscriber("no transcript: ingest.asr_model_dir is not set")
        return _loaded("local", options.asr_model_dir)
    if options.asr_backend == "dashscope":
        if not options.asr_api_key:
            raise NoTranscriber("no transcript: DashScope ASR needs dashscope.api_key")
        return DashScopeTranscriber(options.asr_api_key)
    return None


@functools.lru_cache(maxsize=2)
def _loaded(backend: str, model_dir: str | None) -> Transcriber:
    """A local model loads once per worker process (a failure is not cached: it raises)."""
    return FasterWhisperTranscriber(model_dir or "")
