"""Images (OCR), audio (librosa: duration, speech segments, optional ASR) and video (OpenCV:
duration, scene-change keyframes with OCR; the audio track through ffmpeg to the audio path
when ASR is configured). Locators: whole file for images, time span for audio and video."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.asr import NoTranscriber, create_transcriber
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section

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


def _segments(y: np.ndarray, sr: int) -> list[tuple[float, float]]:
    import librosa

    if y.size == 0:
        return []
    intervals = librosa.effects.split(y, top_db=35)
    spans: list[list[float]] = []
    for a, b in intervals:
        s, e = a / sr, b / sr
        if spans and (e - spans[-1][0] <= SEGMENT_S):
            spans[-1][1] = e
        else:
            spans.append([s, e])
    return [(s, e) for s, e in spans]


def audio_sections(y: np.ndarray, sr: int, options: ParseOptions, label: str, notes: list[str]) -> list[Section]:
    duration = len(y) / sr if sr else 0.0
    spans = _segments(y, sr)
    try:
        asr = create_transcriber(options)
    except NoTranscriber as exc:
        asr, reason = None, str(exc)
    else:
        reason = NO_ASR
    if asr is None:
        notes.append(reason)
        speech = sum(e - s for s, e in spans)
        return [Section(Locator.for_time(0.0, duration),
                        f"{label}, duration {duration:.1f} s, {len(spans)} speech segment(s), "
                        f"{speech:.1f} s of sound. ({reason})")]
    out = []
    for s, e in spans:
        text = asr.transcribe(y[int(s * sr):int(e * sr)], sr)
        if text:
            out.append(Section(Locator.for_time(s, e), text))
    if not out:
        notes.append("no speech recognised")
    return out


class AudioParser:
    suffixes = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".aac", ".wma")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        y, sr = load_audio(path)
        out = ParsedDoc(title=path.stem)
        out.sections = audio_sections(y, sr, options, f"Audio recording {path.name}", out.notes)
        return out


def load_audio(path: Path) -> tuple[np.ndarray, int]:
    try:
        import librosa
    except ImportError as exc:
        raise ParseError(str(path), "audio needs librosa (pip install 'kb-agent[media]')") from exc
    try:
        y, sr = librosa.load(str(path), sr=16000, mono=True)
    except Exception as exc:  # noqa: BLE001 - audioread/soundfile raise many types
        raise ParseError(str(path), f"cannot decode audio ({type(exc).__name__})") from exc
    return y, int(sr)


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
        out.sections += self._audio(path, options, duration, out.notes)
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
    def _audio(path: Path, options: ParseOptions, duration: float, notes: list[str]) -> list[Section]:
        if options.asr_backend == "none":
            notes.append(NO_ASR)
            return []
        ffmpeg = shutil.which("ffmpeg")
        if not ffmpeg:
            notes.append("audio track skipped: ffmpeg not installed")
            return []
        fd, tmp = tempfile.mkstemp(suffix=".wav")
        os.close(fd)
        try:
            proc = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(path), "-vn", "-ac", "1",
                                   "-ar", "16000", tmp], capture_output=True, timeout=600)
            if proc.returncode != 0 or os.path.getsize(tmp) <= 44:
                notes.append("audio track could not be decoded" if b"does not contain any stream" not in proc.stderr
                             else "no audio track")
                return []
            y, sr = load_audio(Path(tmp))
            return audio_sections(y, sr, options, "Audio track", notes)
        except subprocess.TimeoutExpired:
            notes.append("audio track extraction timed out")
            return []
        finally:
            os.unlink(tmp)
