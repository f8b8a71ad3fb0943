"""The Milvus search backends: dense vectors (:mod:`.dense`) and Milvus's own BM25 (:mod:`.text`).

``retrieval.milvus.uri`` names a local file (milvus-lite, in this process) or a server
(``http://host:19530``). Each knowledge base gets its collections under one name prefix
(``retrieval.milvus.collection``): ``<prefix>_meta`` records, per index, which physical
collection is current and the chunk-store generation it holds. pymilvus is imported lazily
(:mod:`.connection`), so the default FAISS + bm25s never needs it.
"""
