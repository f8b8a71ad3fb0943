"""Turn a :class:`RetrievalResult` into what the model and people see: numbered passages
with source, exact locator and score, structured citations, or an explicit 'no relevant
passage'. Shared by the ``doc_retrieve`` tool, the offline document route and the CLI."""

from __future__ import annotations

from kb_agent.index.result import Hit, RetrievalResult, clip
from kb_agent.results import Citation, ToolOutput


def citation(hit: Hit, max_chars: int) -> Citation:
    return Citation(source=hit.chunk.source, locator=hit.chunk.locator.to_dict(),
                    text=clip(hit.chunk.text, max_chars), score=hit.score, kind="document")


def passage_header(n: int, hit: Hit) -> str:
    return f"[{n}] {hit.chunk.source} — {hit.chunk.locator.label()} (score {hit.score:.2f})"


def no_passage_text(result: RetrievalResult) -> str:
    why = result.reason or "no passage matched"
    return (f"Relevance: NO relevant passage found in the documents for: {result.query} ({why}). "
            "Tell the user the documents do not answer this; do not guess.")


def doc_output(result: RetrievalResult, max_chars: int) -> ToolOutput:
    """The doc_retrieve result: text for the model, citations and payload for people."""
    lines = [] if not result.found else [f"Relevance: passages found ({result.reason})." if result.reason
                                         else "Relevance: passages found."]
    if result.expansion:
        lines.append(f"Query expansion (company terms): {result.expansion}")
        lines.append(f"Searched for: {result.expanded_query}")
    for note in result.notes:
        lines.append(f"Note: {note}")
    payload = result.to_dict(max_chars)
    if not result.found:
        lines.insert(0, no_passage_text(result))      # the decision first, then how it searched
        return ToolOutput("\n".join(lines), payload=payload, found=False)

    def numbered(first: int) -> str:
        body = list(lines)
        for n, hit in enumerate(result.relevant, first):
            body += ["", passage_header(n, hit), clip(hit.chunk.text, max_chars)]
        last = first + len(result.relevant) - 1
        body += ["", f"Answer only from these passages and cite them as [{first}]…[{last}] with source and location."]
        return "\n".join(body)

    return ToolOutput(numbered(1), citations=[citation(h, max_chars) for h in result.relevant],
                      payload=payload, found=True, numbered_text=numbered)
