"""Real files generated for the ingestion tests, and a cheap deterministic embedder for the
pipeline tests where the embedding model itself is not under test."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


class HashEmbedder:
    """Character-bigram hashing into 64 dims; counts the texts it embedded."""

    model_id = "test-hash-64"
    dim = 64

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for a, b in zip(text, text[1:] + " "):
            v[int(hashlib.md5((a + b).encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts):
        self.calls += list(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text):
        return self._vec(text)


def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = "售后手册"
    d.add_heading("售后手册", level=1)
    d.add_paragraph("总则段落。")
    d.add_heading("AM职责", level=2)
    d.add_paragraph("AM 在 24 小时内联系客户。")
    d.add_paragraph("接收报修请求", style="List Number")
    d.add_paragraph("协调 FSE 上门", style="List Number")
    d.add_heading("细则", level=3)
    d.add_paragraph("RMA 跟踪细则。")
    d.add_heading("FSE职责", level=2)
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "角色", "时限"
    t.cell(1, 0).text, t.cell(1, 1).text = "FSE", "4 小时"
    d.save(path)
    return path


def make_pptx(path: Path) -> Path:
    from pptx import Presentation

    prs = Presentation()
    for i, (title, body, notes) in enumerate([("Intro 介绍", "Springlake line", "Say hello"),
                                              ("Specs 参数", "40 pages/min", "讲解硒鼓寿命6000页")]):
        s = prs.slides.add_slide(prs.slide_layouts[1])
        s.shapes.title.text = title
        s.placeholders[1].text = body
        s.notes_slide.notes_text_frame.text = notes
    prs.save(path)
    return path


def make_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Offices"
    ws["A1"] = "办公室清单"
    ws.merge_cells("A1:C1")
    ws.append([])
    ws.append(["城市", "楼层", "电话"])
    ws.append(["上海", "8F", "021-5555-0100"])
    ws.append(["北京", "12F", "010-5555-0200"])
    ws["A6"] = "深圳"
    ws["B6"] = "6F"
    ws["C6"] = "0755-5555-0300"
    ws.merge_cells("B6:B7")  # a merged data cell spanning two rows
    ws["A7"] = "深圳(二期)"
    ws["C7"] = "0755-5555-0301"
    ws2 = wb.create_sheet("Notes")
    ws2.append(["key", "value"])
    ws2.append(["owner", "HR"])
    wb.save(path)
    return path


def make_pdf(path: Path, pages: list[str], *, fontname: str = "china-s", encrypt_password: str | None = None) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        y = 72
        for line in text.split("\n"):
            page.insert_text((72, y), line, fontname=fontname, fontsize=11)
            y += 18
    kwargs = {}
    if encrypt_password:
        kwargs = dict(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=encrypt_password, owner_pw=encrypt_password)
    doc.save(path, **kwargs)
    return path


def render_text_image(lines: list[str], size=(800, 260), font_size=36):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(CJK_FONT, font_size)
    for k, line in enumerate(lines):
        draw.text((30, 30 + int(k * font_size * 1.6)), line, fill="black", font=font)
    return img


def make_scanned_pdf(path: Path, lines: list[str]) -> Path:
    """A PDF page that is only an image (no text layer)."""
    import io

    import pymupdf

    buf = io.BytesIO()
    render_text_image(lines).save(buf, format="PNG")
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_image(pymupdf.Rect(36, 36, 576, 211), stream=buf.getvalue())
    doc.save(path)
    return path


def make_wav(path: Path, seconds: float = 4.0, sr: int = 16000, pause=(1.5, 2.5)) -> Path:
    import wave

    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 300 * t)
    y[int(sr * pause[0]):int(sr * pause[1])] = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((y * 32767).astype("<i2").tobytes())
    return path


def make_video(path: Path, slides: list[list[str]], seconds_each: int = 2, fps: int = 2) -> Path:
    import cv2

    w, h = 640, 360
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for lines in slides:
        frame = np.ascontiguousarray(np.array(render_text_image(lines, size=(w, h), font_size=40))[:, :, ::-1])
        for _ in range(seconds_each * fps):
            out.write(frame)
    out.release()
    return path
