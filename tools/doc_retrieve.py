"""doc_retrieve: cited passages from the company documents (hybrid FAISS + BM25 search)."""

from qwen_agent.tools.base import register_tool

from kb_agent.errors import ToolArgumentError
from kb_agent.index.filters import SearchFilters
from kb_agent.index.present import doc_output
from kb_agent.tooling import KBTool, ToolOutput

MAX_TOP_K = 20


@register_tool("doc_retrieve")
class DocRetrieve(KBTool):
    description = (
        "Search the company documents (policies, processes, product guides, training, spreadsheets) and "
        "get the most relevant passages, numbered [1], [2], each with its source file, exact location "
        "(page, slide, sheet!range, heading, time) and score. Company acronyms in the query are expanded "
        "automatically. Use it for questions about how things work, who does what, rules and details; "
        "answer only from the passages and cite them as [1], [2]. If it says no relevant passage was "
        "found, say you don't know. 检索公司文档，返回带出处（文件、页码/幻灯片/表格区域）的原文段落。"
    )
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "The question or keywords, in the user's language."},
            "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K,
                      "description": "How many passages to return (default 5)."},
            "filters": {
                "type": "object",
                "description": "Optional: restrict the search.",
                "properties": {
                    "folders": {"type": "array", "items": {"type": "string"},
                                "description": "Source folders, e.g. [\"products\", \"hr\"]."},
                    "file_types": {"type": "array", "items": {"type": "string"},
                                   "description": "File types, e.g. [\"pdf\", \"pptx\"]."},
                },
            },
        },
        "required": ["query"],
    }

    def run(self, args: dict) -> ToolOutput:
        query = str(args["query"]).strip()
        top_k = args.get("top_k")
        if top_k is not None:
            try:
                top_k = int(top_k)
            except (TypeError, ValueError):
                raise ToolArgumentError("top_k must be an integer") from None
            if not 1 <= top_k <= MAX_TOP_K:
                raise ToolArgumentError(f"top_k must be between 1 and {MAX_TOP_K}")
        try:
            filters = SearchFilters.from_dict(args.get("filters"))
        except ValueError as exc:
            raise ToolArgumentError(str(exc)) from None
        result = self.kb.retrieve(query, self.principal, top_k=top_k, filters=filters)
        return doc_output(result, self.kb.settings.retrieval.max_passage_chars)
