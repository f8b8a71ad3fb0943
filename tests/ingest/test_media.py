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
    doc = parser_for(".wav").parse(path, ParseOptions(asr_backend="none"))
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
    doc = parser_for(".mp4").parse(path, ParseOptions(asr_backend="none"))
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


def _spoken_wav(path, text: str, lead_s: float = 0.0):
    """English speech from flite (a Debian package; scripts/system-deps.sh installs it), 16 kHz
    mono, after ``lead_s`` seconds of silence."""
    import shutil
    import subprocess
    import wave

    import librosa
    import numpy as np

    flite = shutil.which("flite")
    assert flite, "flite is not installed (make test / scripts/system-deps.sh installs it)"
    raw = path.with_suffix(".flite.wav")
    subprocess.run([flite, "-t", text, "-o", str(raw)], check=True)
    y, _ = librosa.load(str(raw), sr=16000)
    y = np.concatenate([np.zeros(int(16000 * lead_s), np.float32), y, np.zeros(8000, np.float32)])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_spoken_english_is_transcribed_offline_by_default(tmp_path):
    """The default recogniser (pocketsphinx, model inside the wheel) needs no setting and no
    network; the section's time span is where the speech is, the report names the language."""
    from kb_agent.config import load_settings

    assert load_settings(data_dir=tmp_path).ingest.asr_backend == "pocketsphinx"
    assert ParseOptions.from_settings(load_settings(data_dir=tmp_path).ingest).asr_backend == "pocketsphinx"
    path = _spoken_wav(tmp_path / "intro.wav", "welcome to the training", lead_s=1.5)
    doc = parser_for(".wav").parse(path, ParseOptions())
    (sec,) = doc.sections
    assert {"welcome", "training"} <= set(sec.text.split())
    assert sec.locator.kind == "time" and 1.3 <= sec.locator.start_s <= 1.7 and sec.locator.end_s <= 3.5
    assert doc.notes == [f"transcript (pocketsphinx, en): 1 speech segment(s), {sec.locator.label()}"]


def test_sound_without_speech_keeps_its_metadata(tmp_path):
    """pocketsphinx 'hears' a word in a pure tone: a sound whose loudness does not move like
    syllables is not sent to it."""
    path = helpers.make_wav(tmp_path / "tone.wav", seconds=3.0)
    doc = parser_for(".wav").parse(path, ParseOptions())
    assert doc.notes == ["no speech recognised (pocketsphinx)"]
    (sec,) = doc.sections
    assert (sec.locator.start_s, sec.locator.end_s) == (0.0, 3.0)
    assert "duration 3.0 s" in sec.text and "no speech recognised by pocketsphinx" in sec.text


def test_steady_sounds_are_not_speech_and_speech_is(tmp_path):
    import numpy as np
    import librosa

    from kb_agent.ingest.parsers.media import is_steady

    sr = 16000
    t = np.arange(sr * 3) / sr
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(2 * np.pi * 300 * t)
    chord = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 660 * t)
    hum = 0.05 * rng.standard_normal(len(t))
    speech, _ = librosa.load(str(_spoken_wav(tmp_path / "s.wav", "please call the service desk before friday")), sr=sr)
    assert [is_steady(y.astype(np.float32)) for y in (tone, chord, hum, speech)] == [True, True, True, False]


def test_asr_time_budget_keeps_what_was_transcribed_and_says_how_far(tmp_path):
    """Two speech segments (the recording is longer than one); a budget that the first one
    spends: the first is kept, the report says where ASR stopped, of how long a recording."""
    text = ("the quarterly service review is on tuesday. technicians must reply to every ticket "
            "within four hours. welcome to the training. ") * 6
    path = _spoken_wav(tmp_path / "long.wav", text)
    doc = parser_for(".wav").parse(path, ParseOptions(asr_file_budget_s=0.5))
    (sec,) = doc.sections
    assert sec.locator.start_s < 1.0 and 20.0 <= sec.locator.end_s - sec.locator.start_s <= 30.0
    assert "service" in sec.text
    assert doc.notes[0] == f"transcript (pocketsphinx, en): 1 speech segment(s), {sec.locator.label()}"
    assert doc.notes[1].startswith(f"transcribed up to {sec.locator.label().split('–')[1]} of 00:00:")
    assert doc.notes[1].endswith("the ASR time budget (ingest.asr_file_budget_s = 0.5 s) was spent; "
                                 "the rest is not indexed")


def test_speech_the_recogniser_is_unsure_of_is_reported_not_indexed(tmp_path):
    """pocketsphinx knows English only: other speech comes out as English words it is unsure
    of. Here Mandarin (pinyin read by flite) stands for it: not indexed, and the report says
    which backend hears other languages."""
    path = _spoken_wav(tmp_path / "zh.wav", "ni hao, wo men jin tian kai hui, tao lun xia ge yue de xiao shou ji hua")
    doc = parser_for(".wav").parse(path, ParseOptions())
    (note,) = doc.notes
    assert note.startswith("1 speech segment(s) in 00:00:00–00:00:0") and "pocketsphinx is unsure of the words" in note
    assert "knows English only; ingest.asr_backend 'local' (faster-whisper) or 'dashscope' hears others" in note
    (sec,) = doc.sections
    assert sec.text.endswith("(speech not recognised as English)") and sec.locator.start_s == 0.0


def test_silent_recording_is_said_to_be_silent(tmp_path):
    """Digital silence is no sound at all (pocketsphinx would 'hear' a word in it)."""
    import wave

    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000 * 5)
    doc = parser_for(".wav").parse(path, ParseOptions())
    assert doc.notes == ["no sound: the recording is silent"]
    (sec,) = doc.sections
    assert "duration 5.0 s, 0 sound segment(s)" in sec.text


def test_long_recording_is_decoded_block_by_block(tmp_path):
    """Ten minutes of sound through the ffmpeg pipe, block by block: a sound that goes on
    across a block's end is not cut there, segments stay at most 30 s."""
    import shutil
    import subprocess

    from kb_agent.ingest.parsers.media import BLOCK_S, PcmStream

    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is not installed (make test / scripts/system-deps.sh installs it)"
    path = tmp_path / "tone.mp3"
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=600",
                    "-ac", "2", "-b:a", "32k", str(path)], check=True)
    stream = PcmStream(path)
    sizes = [len(b) for b in stream.blocks()]
    assert max(sizes) == int(BLOCK_S * 16000) and len(sizes) >= 2 and abs(stream.seconds - 600) < 0.2
    doc = parser_for(".mp3").parse(path, ParseOptions(asr_backend="none"))
    (sec,) = doc.sections
    assert sec.locator.end_s == pytest.approx(600, abs=0.2)
    assert "20 sound segment(s)" in sec.text  # 600 s of tone in 30-s segments, none cut at a block's end


def test_segments_do_not_break_at_block_ends():
    import numpy as np

    from kb_agent.ingest.parsers.media import Segmenter

    sr = 8000
    t = np.arange(sr * 12) / sr
    y = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    y[sr * 2:sr * 3] = 0  # sound 0-2 s, pause, sound 3-12 s; blocks end at 5 s and 10 s
    whole = [(round(s, 1), round(e, 1)) for s, e, _ in Segmenter(sr).segments([y])]
    blocks = [(round(s, 1), round(e, 1)) for s, e, _ in Segmenter(sr).segments([y[:sr * 5], y[sr * 5:sr * 10],
                                                                               y[sr * 10:]])]
    assert whole == blocks == [(0.0, 12.0)]


def test_long_sound_is_cut_into_segments_of_at_most_30_s():
    import numpy as np

    from kb_agent.ingest.parsers.media import _segments

    sr = 8000
    t = np.arange(sr * 70) / sr
    spans = _segments((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), sr)
    assert len(spans) == 3 and spans[0][0] == 0.0 and abs(spans[-1][1] - 70.0) < 0.1
    assert all(e - s <= 30.0 for s, e in spans)


def test_video_audio_track_is_transcribed_with_its_time_span(tmp_path):
    """A video's speech goes through ffmpeg to the same recogniser; keyframe OCR stays."""
    import shutil
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is not installed (make test / scripts/system-deps.sh installs it)"
    silent = helpers.make_video(tmp_path / "v.mp4", [["GWS 工卡释放"]], seconds_each=4)
    speech = _spoken_wav(tmp_path / "speech.wav", "welcome to the training", lead_s=1.0)
    video = tmp_path / "talk.mp4"
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(silent), "-i", str(speech), "-c:v", "copy",
                    "-c:a", "aac", "-shortest", str(video)], check=True)
    doc = parser_for(".mp4").parse(video, ParseOptions())
    ocr, spoken = doc.sections
    assert ocr.text.replace(" ", "") == "GWS工卡释放"
    assert {"welcome", "training"} <= set(spoken.text.split()) and 0.8 <= spoken.locator.start_s <= 1.3
    assert doc.notes == [f"transcript (pocketsphinx, en): 1 speech segment(s), {spoken.locator.label()}"]
