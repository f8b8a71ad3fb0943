"""Speech-to-text backends behind one small interface.

``create_transcriber(options)`` returns None when no ASR is configured (the file is then
recorded with its metadata and the report says "no transcript: no ASR configured").
Backends: ``local`` (faster-whisper over a local model directory, optional) and
``dashscope`` (Paraformer file recognition through the ``dashscope`` SDK; needs network and
a key, so it is not exercised by the offline tests).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from kb_agent.errors import ParseError


class Transcriber(Protocol):
    name: str

    def transcribe(self, samples: np.ndarray, sr: int) -> str:
        """Mono float32 samples of one speech segment -> text ('' when nothing was said)."""


class NoTranscriber(Exception):
    """ASR is configured but cannot be used; the message goes into the report note."""


class FasterWhisperTranscriber:
    name = "faster-whisper"

    def __init__(self, model_dir: str):
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise NoTranscriber("no transcript: local ASR needs faster-whisper (pip install faster-whisper)") from exc
        self._model = WhisperModel(model_dir, device="auto", compute_type="int8")

    def transcribe(self, samples: np.ndarray, sr: int) -> str:
        if sr != 16000:
            import librosa

            samples = librosa.resample(samples, orig_sr=sr, target_sr=16000)
        segments, _ = self._model.transcribe(samples.astype(np.float32), vad_filter=False)
        return " ".join(s.text.strip() for s in segments).strip()


class DashScopeTranscriber:
    name = "dashscope-paraformer"

    def __init__(self, api_key: str):
        try:
            import dashscope  # noqa: F401
        except ImportError as exc:
            raise NoTranscriber("no transcript: DashScope ASR needs the dashscope package") from exc
        self.api_key = api_key

    def transcribe(self, samples: np.ndarray, sr: int) -> str:
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
            return " ".join(s.get("text", "") for s in sentences).strip()
        finally:
            os.unlink(tmp)


def create_transcriber(options) -> Transcriber | None:
    """None when ASR is off; raises NoTranscriber (a report note) when it cannot be used."""
    if options.asr_backend == "local":
        if not options.asr_model_dir:
            raise NoTranscriber("no transcript: ingest.asr_model_dir is not set")
        return FasterWhisperTranscriber(options.asr_model_dir)
    if options.asr_backend == "dashscope":
        if not options.asr_api_key:
            raise NoTranscriber("no transcript: DashScope ASR needs dashscope.api_key")
        return DashScopeTranscriber(options.asr_api_key)
    return None
