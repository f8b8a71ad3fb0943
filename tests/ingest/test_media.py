"""OCR (scanned PDF page, image), audio and video, on real generated files. OCR is slow on
CPU (seconds per image), so this file keeps to a handful of small images."""

from __future__ import annotations

import pytest

from kb_agent.ingest.model import ParseOptions
from kb_agent.ingest.parsers import parser_for
from kb_agent.ingest.parsers.media import NO_ASR
from tests.ingest import helpers

pytestmark = pytest.mark.slow


def test_scanned_pdf_page_is_ocred(tmp_path):
    path = helpers.make_scanned_pdf(tmp_path / "scan.pdf", ["ESS培训每月两次", "Training Room 3"])
    doc = parser_for(".pdf").parse(path, ParseOptions())
    assert [s.locator.page for s in doc.sections] == [1]
    text = doc.sections[0].text.replace(" ", "")
    assert "ESS培训每月两次" in text and "TrainingRoom3" in text
    off = parser_for(".pdf")
    from kb_agent.errors import ParseError

    with pytest.raises(ParseError, match="no extractable text"):
        off.parse(path, ParseOptions(ocr=False))


def test_image_ocr_mixed_chinese_english(tmp_path):
    path = tmp_path / "photo.png"
    helpers.render_text_image(["MPS 服务等级协议", "4小时内现场响应"]).save(path)
    doc = parser_for(".png").parse(path, ParseOptions())
    assert doc.sections[0].locator.kind == "file"
    lines = [ln.replace(" ", "") for ln in doc.sections[0].text.split("\n")]
    assert lines == ["MPS服务等级协议", "4小时内现场响应"]


def test_audio_without_asr_is_recorded_with_metadata(tmp_path):
    path = helpers.make_wav(tmp_path / "talk.wav", seconds=4.0)
    doc = parser_for(".wav").parse(path, ParseOptions())
    assert doc.notes == [NO_ASR]
    (sec,) = doc.sections
    assert (sec.locator.kind, sec.locator.start_s, sec.locator.end_s) == ("time", 0.0, 4.0)
    assert "duration 4.0 s" in sec.text


def test_audio_local_asr_without_model_dir_says_why(tmp_path):
    path = helpers.make_wav(tmp_path / "talk.wav", seconds=2.0)
    doc = parser_for(".wav").parse(path, ParseOptions(asr_backend="local"))
    assert doc.notes == ["no transcript: ingest.asr_model_dir is not set"]


def test_video_keyframes_are_ocred_with_time_spans(tmp_path):
    path = helpers.make_video(tmp_path / "clip.mp4", [["Springlake SL-500"], ["硒鼓寿命 6000 页"]])
    doc = parser_for(".mp4").parse(path, ParseOptions())
    got = [(s.locator.start_s, s.locator.end_s, s.text.replace(" ", "")) for s in doc.sections]
    assert got == [(0.0, 2.0, "SpringlakeSL-500"), (2.0, 4.0, "硒鼓寿命6000页")]
    assert doc.notes == [NO_ASR]


def test_phone_photo_with_exif_rotation_is_turned_upright(tmp_path):
    from PIL import Image

    upright = helpers.render_text_image(["报销单 Expense form", "金额 600 元"])
    sideways = upright.rotate(90, expand=True)  # how the camera stored it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    path = tmp_path / "IMG_0001.JPG"
    sideways.save(path, format="JPEG", quality=90, exif=exif)
    doc = parser_for(".jpg").parse(path, ParseOptions())
    text = doc.sections[0].text.replace(" ", "")
    assert "报销单" in text and "600元" in text


def test_video_without_audio_track_when_asr_is_configured(tmp_path):
    """With ASR on, the audio track goes through ffmpeg; a video without one says so."""
    import shutil

    assert shutil.which("ffmpeg"), "ffmpeg is not installed (make test / scripts/system-deps.sh installs it)"
    path = helpers.make_video(tmp_path / "silent.mp4", [["GWS 工卡释放"]])
    doc = parser_for(".mp4").parse(path, ParseOptions(asr_backend="local", asr_model_dir=str(tmp_path)))
    assert doc.notes == ["no audio track"]
    assert [s.text.replace(" ", "") for s in doc.sections] == ["GWS工卡释放"]


def test_video_whose_audio_track_cannot_be_decoded(tmp_path):
    """The keyframes are still read; the report says the audio could not be decoded."""
    import shutil
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is not installed (make test / scripts/system-deps.sh installs it)"
    silent = helpers.make_video(tmp_path / "v.mp4", [["eSign 电子签章"]])
    muxed = tmp_path / "av.mp4"
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(silent), "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=2", "-c:v", "copy", "-c:a", "aac", "-shortest", str(muxed)], check=True)
    broken = tmp_path / "broken_audio.mp4"
    # Unknown audio codec tag and no decoder config: ffmpeg finds no decoder for the stream.
    data = bytearray(muxed.read_bytes())
    entry = data.index(b"mp4a")  # the audio sample entry; its own esds box follows it
    cfg = data.index(b"esds", entry)
    data[entry:entry + 4] = data[cfg:cfg + 4] = b"xxxx"
    broken.write_bytes(bytes(data))
    doc = parser_for(".mp4").parse(broken, ParseOptions(asr_backend="local", asr_model_dir=str(tmp_path)))
    assert doc.notes == ["audio track could not be decoded"]
    assert [s.text.replace(" ", "") for s in doc.sections] == ["eSign电子签章"]
