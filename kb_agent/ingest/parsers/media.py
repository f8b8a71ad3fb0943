"""Images (OCR), audio (sound segments of at most 30 s, ASR) and video (OpenCV: duration,
scene-change keyframes with OCR; the sound track to the audio path unless ASR is off).
Locators: whole file for images, time span for audio and video.

Audio is decoded by ffmpeg through a pipe, block by block, so memory does not grow with the
recording's length. The report line of a transcribed file names the recogniser, the
language heard and the time spans; segments the recogniser is unsure of (pocketsphinx on
speech that is not English) are reported, not indexed; ASR stops when
``ingest.asr_file_budget_s`` would be spent, keeps what it has and says how far it got."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest import stages
from kb_agent.ingest.asr import NoTranscriber, create_transcriber
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section

log = logging.getLogger(__name__)
NO_ASR = "no transcript: no ASR configured"
SEGMENT_S = 30.0


class ImageParser:
    suffixes = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        if not options.ocr:
            raise ParseError(str(path), "image not OCRed (ingest.ocr is off)")
        from kb_agent.ingest.ocr import ocr_lines

        img = load_image(path)
        lines = ocr_lines(img)
        if not lines:
            raise ParseError(str(path), "no text recognised in image")
        return ParsedDoc(sections=[Section(Locator(kind="file"), "\n".join(lines))])


def load_image(path: Path) -> np.ndarray:
    """BGR array; phone photos are turned upright from their EXIF orientation."""
    try:
        from PIL import Image, ImageOps

        with Image.open(path) as im:
            im.draft("RGB", (3000, 3000))  # JPEG: decode at reduced size when huge
            im = ImageOps.exif_transpose(im).convert("RGB")
            if max(im.size) > 4000:
                im.thumbnail((4000, 4000))
            return np.asarray(im)[:, :, ::-1].copy()
    except ImportError:
        import cv2

        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise ParseError(str(path), "cannot decode image")
        return img
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for broken images
        raise ParseError(str(path), f"cannot decode image ({type(exc).__name__})") from exc


# --- audio ------------------------------------------------------------------------------------

SR = 16000
#: Decoded and cut into speech segments this much at a time (1 min: 4 MB of samples, some
#: 30 MB while its loudness is measured), so a recording of any length needs the same memory.
BLOCK_S = 60.0
#: Without ffmpeg, librosa decodes the whole file at once: at most this much of it.
MAX_LIBROSA_S = 3600.0
#: A frame this far below the loudest one so far is a pause ...
TOP_DB = 35.0
#: ... and so is any frame quieter than this (digital silence, a muted microphone).
SILENCE_DBFS = -60.0
_FRAME, _HOP = 2048, 512
#: Speech rises and falls with its syllables (7-10 dB of spread in frame loudness); a sound
#: steadier than this (a tone, a hum, fan noise) is not speech and is not sent to ASR, which
#: would "hear" a word in it.
STEADY_DB = 3.0
#: A transcript the recogniser is less sure of (Transcript.confidence) is not indexed: with
#: pocketsphinx that is speech in another language, or speech drowned in noise.
MIN_CONFIDENCE = 0.35


#: What ffmpeg/ffprobe may open: local files only, and only the containers of the formats we
#: take (not playlists such as HLS or concat lists, which make ffmpeg read other files or
#: URLs a hostile file names).
_SAFE_INPUT = ["-protocol_whitelist", "file", "-format_whitelist",
               "wav,w64,mp3,mov,flac,ogg,aac,asf,avi,matroska,aiff,caf,amr"]


def is_steady(samples: np.ndarray, sr: int = SR) -> bool:
    """True for a sound whose loudness hardly changes (25-ms frames above the pause level)."""
    import librosa

    rms = librosa.feature.rms(y=samples, frame_length=sr // 40, hop_length=sr // 100)[0]
    on = rms[rms > max(float(rms.max(initial=0.0)) * 10 ** (-TOP_DB / 20), 10 ** (SILENCE_DBFS / 20))]
    return on.size >= 20 and float(np.std(20 * np.log10(on))) < STEADY_DB


def _language(code: str) -> str:
    return {"en": "English"}.get(code, code)


def _clock(seconds: float) -> str:
    return Locator.for_time(seconds, seconds).label().split("–")[0]


class PcmStream:
    """The audio of a file (an audio file or a video's sound track) as mono float32 blocks at
    16 kHz: through an ffmpeg pipe when ffmpeg is installed, else librosa (whole file, at most
    ``MAX_LIBROSA_S``). ``seconds``: how much was decoded; ``no_audio``: the file has no sound
    track; ``problem``: why decoding stopped early, for the report."""

    def __init__(self, path: Path):
        self.path = path
        self.seconds = 0.0
        self.no_audio = False
        self.problem = ""

    def blocks(self):
        ffmpeg = shutil.which("ffmpeg")
        yield from (self._ffmpeg(ffmpeg) if ffmpeg else self._librosa())

    def _ffmpeg(self, ffmpeg: str):
        size = int(BLOCK_S * SR) * 2
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", *_SAFE_INPUT, "-i", f"file:{self.path}",
                                     "-vn", "-ac", "1", "-ar", str(SR), "-f", "s16le", "pipe:1"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
            try:
                while True:
                    data = proc.stdout.read(size)
                    if len(data) < 2:
                        break
                    block = np.frombuffer(data[:len(data) // 2 * 2], "<i2").astype(np.float32) / 32768.0
                    self.seconds += len(block) / SR
                    yield block
                code = proc.wait()
            finally:
                if proc.poll() is None:  # the reader stopped early: ffmpeg is not needed any more
                    proc.kill()
                    proc.wait()
                proc.stdout.close()
            err.seek(0)
            message = err.read(4000).decode("utf-8", "replace")
        if code != 0 or (not self.seconds and message):
            if "does not contain any stream" in message or "matches no streams" in message:
                self.no_audio = True
            elif not self.seconds:
                raise ParseError(str(self.path), "cannot decode audio" + (f" ({_first_line(message)})"
                                                                          if message else ""))
            else:
                self.problem = f"decoding stopped at {_clock(self.seconds)} (damaged file?)"

    def _librosa(self):
        try:
            import librosa
        except ImportError as exc:
            raise ParseError(str(self.path), "audio needs ffmpeg or librosa (pip install 'kb-agent[media]')") from exc
        try:
            y, _ = librosa.load(str(self.path), sr=SR, mono=True, duration=MAX_LIBROSA_S)
        except Exception as exc:  # noqa: BLE001 - audioread/soundfile raise many types
            raise ParseError(str(self.path), f"cannot decode audio ({type(exc).__name__})") from exc
        if len(y) >= MAX_LIBROSA_S * SR:
            self.problem = f"only the first {_clock(MAX_LIBROSA_S)} decoded (install ffmpeg for longer files)"
        step = int(BLOCK_S * SR)
        for k in range(0, len(y), step):
            self.seconds += len(y[k:k + step]) / SR
            yield y[k:k + step]


def _first_line(message: str) -> str:
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    return lines[-1][:150] if lines else ""


def duration_s(path: Path) -> float | None:
    """The recording's length from its header (ffprobe), without decoding it."""
    ffprobe = shutil.which("ffprobe")
    if not ffprobe:
        return None
    try:
        proc = subprocess.run([ffprobe, "-v", "error", *_SAFE_INPUT, "-show_entries", "format=duration",
                               "-of", "csv=p=0", f"file:{path}"], capture_output=True, timeout=30, text=True)
        return float(proc.stdout.strip())
    except (subprocess.TimeoutExpired, ValueError, OSError):
        return None


class Segmenter:
    """Sound segments of at most ``SEGMENT_S`` from blocks of samples, as (start s, end s,
    samples): runs of sound separated by pauses, joined while they fit in one segment; a
    sound without a pause longer than a segment is cut evenly. A sound that reaches the end
    of a block is carried into the next one, so blocks do not cut words."""

    def __init__(self, sr: int = SR):
        self.sr = sr
        self.ref = 0.0  # the loudest frame power so far
        self.floor = 10 ** (SILENCE_DBFS / 10)

    def segments(self, blocks):
        limit = int(SEGMENT_S * self.sr)
        carry, t0 = np.zeros(0, np.float32), 0.0
        for block in blocks:
            buf = np.concatenate([carry, block]) if carry.size else block
            spans = self._joined(self._intervals(buf))
            keep_from = len(buf)
            if spans and spans[-1][1] >= len(buf) - _HOP:  # still sounding: wait for the next block
                a, b = spans.pop()
                whole = (b - a) // limit  # one long sound: its full segments now, the rest later
                if whole:
                    spans.append((a, a + whole * limit))
                    a += whole * limit
                keep_from = a
            yield from self._pieces(buf, spans, t0)
            carry, t0 = buf[keep_from:], t0 + keep_from / self.sr
        if carry.size:
            yield from self._pieces(carry, self._joined(self._intervals(carry)), t0)

    def _intervals(self, y: np.ndarray) -> list[tuple[int, int]]:
        """Runs of sound, in samples."""
        import librosa

        if y.size == 0:
            return []
        power = librosa.feature.rms(y=y, frame_length=_FRAME, hop_length=_HOP)[0] ** 2
        self.ref = max(self.ref, float(power.max(initial=0.0)))
        on = (power > self.ref * 10 ** (-TOP_DB / 10)) & (power > self.floor)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
        return [(int(a) * _HOP, min(len(y), int(b) * _HOP)) for a, b in zip(edges[::2], edges[1::2])]

    def _joined(self, intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Runs of sound joined, pauses included, while they fit in one segment."""
        limit = int(SEGMENT_S * self.sr)
        spans: list[list[int]] = []
        for a, b in intervals:
            if spans and b - spans[-1][0] <= limit:
                spans[-1][1] = b
            else:
                spans.append([a, b])
        return [(a, b) for a, b in spans]

    def _pieces(self, y: np.ndarray, spans: list[tuple[int, int]], t0: float):
        """Each span as segments of at most SEGMENT_S (a longer one cut evenly)."""
        limit = int(SEGMENT_S * self.sr)
        for a, b in spans:
            n = -(-(b - a) // limit) or 1
            for i in range(n):
                s, e = a + (b - a) * i // n, a + (b - a) * (i + 1) // n
                yield t0 + s / self.sr, t0 + e / self.sr, y[s:e]


def _segments(y: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """Sound segments of a whole recording already in memory."""
    return [(s, e) for s, e, _ in Segmenter(sr).segments([y])]


class _Transcription:
    """Transcribes segments until the file's ASR time budget would be spent; counts what it
    kept, what it was unsure of and what it did not reach, for the report."""

    def __init__(self, asr, options: ParseOptions):
        self.asr, self.budget = asr, options.asr_file_budget_s
        self.sections: list[Section] = []
        self.languages: Counter[str] = Counter()
        self.unsure: list[tuple[float, float, float]] = []  # (start, end, confidence)
        self.stopped_at: float | None = None
        self.failure = ""
        self._spent, self._heard = 0.0, 0.0  # seconds in the recogniser, seconds of sound it had

    def add(self, s: float, e: float, samples: np.ndarray) -> bool:
        """False once the budget is spent (or the recogniser failed): stop feeding segments."""
        spent = self._spent
        # seconds of work per second of sound, once measured: a segment that would end past
        # the budget is not started (the first one is, unless the budget is spent already)
        pace = spent / self._heard if self._heard else 0.0
        if spent >= self.budget or spent + pace * (e - s) > self.budget:
            self.stopped_at = s
            return False
        if is_steady(samples):
            return True  # a tone or a hum: no words in it
        t0 = time.monotonic()
        try:
            with stages.timed("asr", reserve_s=max(0.0, self.budget - spent)):
                got = self.asr.transcribe(samples, SR)
        except Exception as exc:  # noqa: BLE001 - a backend failing (network, model) keeps what it did
            log.warning("ASR failed at %.1f s", s, exc_info=True)
            self.stopped_at, self.failure = s, f"{type(exc).__name__}: {exc}"[:200]
            return False
        finally:
            self._spent += time.monotonic() - t0
        self._heard += e - s
        if not got.text:
            return True
        if got.confidence is not None and got.confidence < MIN_CONFIDENCE:
            self.unsure.append((s, e, got.confidence))
            return True
        self.sections.append(Section(Locator.for_time(s, e), got.text))
        self.languages[got.language or "language not reported"] += e - s
        return True

    def report(self, notes: list[str], duration: float) -> None:
        asr = self.asr
        if self.sections:
            lang = ", ".join(lang for lang, _ in self.languages.most_common())
            span = Locator.for_time(self.sections[0].locator.start_s or 0.0,
                                    self.sections[-1].locator.end_s or 0.0).label()
            notes.append(f"transcript ({asr.name}, {lang}): {len(self.sections)} speech segment(s), {span}")
        if self.unsure:
            span = Locator.for_time(self.unsure[0][0], self.unsure[-1][1]).label()
            mean = sum(c for *_, c in self.unsure) / len(self.unsure)
            only = getattr(asr, "language", None)
            why = (f"speech in another language? {asr.name} knows {_language(only)} only; "
                   "ingest.asr_backend 'local' (faster-whisper) or 'dashscope' hears others") if only else "noise?"
            notes.append(f"{len(self.unsure)} speech segment(s) in {span} not indexed: {asr.name} is unsure "
                         f"of the words (confidence {mean:.2f} < {MIN_CONFIDENCE}; {why})")
        if self.failure:
            notes.append(f"ASR failed at {_clock(self.stopped_at or 0.0)} ({self.failure}); the rest not transcribed")
        elif self.stopped_at is not None:
            notes.append(f"transcribed up to {_clock(self.stopped_at)} of {_clock(duration)}: the ASR time budget "
                         f"(ingest.asr_file_budget_s = {self.budget:g} s) was spent; the rest is not indexed")
        if not (self.sections or self.unsure or self.stopped_at is not None):
            notes.append(f"no speech recognised ({asr.name})")


def audio_sections(path: Path, options: ParseOptions, label: str, notes: list[str],
                   metadata_if_silent: bool = True) -> list[Section]:
    """Transcribed speech segments of ``path``'s audio with their time spans; without ASR (or
    when nothing is kept and ``metadata_if_silent``) one section that describes the recording.
    Raises ParseError when the audio cannot be decoded at all."""
    try:
        asr = create_transcriber(options)
        reason = "" if asr else NO_ASR
    except NoTranscriber as exc:
        asr, reason = None, str(exc)
    stream = PcmStream(path)
    spans: list[tuple[float, float]] = []
    work = _Transcription(asr, options) if asr else None
    blocks = stream.blocks()
    for s, e, samples in Segmenter().segments(blocks):
        spans.append((s, e))
        if work is not None and not work.add(s, e, samples):
            break  # what is left is neither transcribed nor counted: stop decoding it
    blocks.close()  # stops ffmpeg when the loop ended early
    if stream.no_audio:
        raise ParseError(str(path), "no audio track")
    duration = stream.seconds
    if work is not None and work.stopped_at is not None:
        duration = max(duration, duration_s(path) or 0.0)
    if stream.problem:
        notes.append(f"audio {stream.problem}")
    if work is None:
        notes.append(reason)
    elif not spans:
        notes.append("no sound: the recording is silent")
        reason = "silent"
    else:
        work.report(notes, duration)
        if work.sections:
            return work.sections
        reason = ("not transcribed: the ASR time budget was spent" if work.stopped_at is not None and not work.unsure
                  else f"speech not recognised as {_language(asr.language)}" if work.unsure
                  and getattr(asr, "language", None)
                  else f"no speech recognised by {asr.name}")
    if not metadata_if_silent:
        return []
    sound = sum(e - s for s, e in spans)
    more = "+" if work is not None and work.stopped_at is not None else ""
    return [Section(Locator.for_time(0.0, duration),
                    f"{label}, duration {duration:.1f} s, {len(spans)}{more} sound segment(s), "
                    f"{sound:.1f} s of sound. ({reason})")]


class AudioParser:
    suffixes = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".aac", ".wma")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        out = ParsedDoc(title=path.stem)
        out.sections = audio_sections(path, options, f"Audio recording {path.name}", out.notes)
        return out


#: Mean absolute grey-level change (0..1) that marks a new slide even when colours stay the same.
PIXEL_CHANGE = 0.01


def _signature(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    small = cv2.resize(frame, (160, 90), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    h = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    return cv2.normalize(h, h).flatten(), grey


def scene_changed(a, b, threshold: float) -> bool:
    import cv2

    return (cv2.compareHist(a[0], b[0], cv2.HISTCMP_BHATTACHARYYA) > threshold
            or float(np.abs(a[1] - b[1]).mean()) > PIXEL_CHANGE)


class VideoParser:
    suffixes = (".mp4", ".avi", ".mov", ".mkv", ".wmv", ".webm", ".m4v")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        try:
            import cv2
        except ImportError as exc:
            raise ParseError(str(path), "video needs OpenCV (pip install 'kb-agent[media]')") from exc
        cap = cv2.VideoCapture(str(path))
        try:
            if not cap.isOpened():
                raise ParseError(str(path), "cannot decode video")
            fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
            frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            if fps <= 0 or frames <= 0:
                raise ParseError(str(path), "cannot decode video (no frames)")
            duration = frames / fps
            keyframes = self._keyframes(cap, fps, frames, options)
        finally:
            cap.release()
        if not keyframes:
            raise ParseError(str(path), "cannot decode video (no readable frames)")
        out = ParsedDoc(title=path.stem)
        starts = [t for t, _ in keyframes] + [duration]
        if options.ocr:
            from kb_agent.ingest.ocr import ocr_lines

            last = None
            for k, (t, frame) in enumerate(keyframes):
                text = "\n".join(ocr_lines(frame))
                if text and text != last:
                    out.sections.append(Section(Locator.for_time(t, starts[k + 1]), text))
                    last = text
                elif text and out.sections:  # same slide still showing: extend its span
                    prev = out.sections[-1]
                    out.sections[-1] = Section(Locator.for_time(prev.locator.start_s, starts[k + 1]), prev.text)
        else:
            out.notes.append("keyframes not OCRed (ingest.ocr is off)")
        out.sections += self._audio(path, options, out.notes)
        return out

    @staticmethod
    def _keyframes(cap, fps: float, frames: int, options: ParseOptions) -> list[tuple[float, np.ndarray]]:
        import cv2

        duration = frames / fps
        step_s = max(0.5, duration / (options.video_max_keyframes * 4))
        picked: list[tuple[float, np.ndarray]] = []
        last_hist = None
        t = 0.0
        while t < duration:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(t * fps))
            ok, frame = cap.read()
            if not ok:
                break
            h = _signature(frame)
            if last_hist is None or scene_changed(last_hist, h, options.video_scene_threshold):
                picked.append((t, frame))
                last_hist = h
            t += step_s
        if len(picked) > options.video_max_keyframes:  # keep an even spread
            idx = np.linspace(0, len(picked) - 1, options.video_max_keyframes).round().astype(int)
            picked = [picked[i] for i in sorted(set(idx))]
        return picked

    @staticmethod
    def _audio(path: Path, options: ParseOptions, notes: list[str]) -> list[Section]:
        if options.asr_backend == "none":
            notes.append(NO_ASR)
            return []
        if not shutil.which("ffmpeg"):
            notes.append("audio track skipped: ffmpeg not installed")
            return []
        try:
            return audio_sections(path, options, "Audio track", notes, metadata_if_silent=False)
        except ParseError as exc:
            notes.append("no audio track" if exc.reason == "no audio track" else "audio track could not be decoded")
            return []
