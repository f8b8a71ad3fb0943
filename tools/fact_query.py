"""fact_query: curated company facts (exact, with source and validity) and spreadsheet tables."""

from qwen_agent.tools.base import register_tool

from kb_agent.facts.answer import fact_output
from kb_agent.tooling import KBTool, ToolOutput

MAX_TABLES_LISTED = 20


@register_tool("fact_query")
class FactQuery(KBTool):
    description = (
        "Answer a factual company question from curated facts (schedules, rules, limits, contacts, dates) "
        "with its source and validity, or query a spreadsheet table exactly. Call it before searching "
        "documents for any factual question; curated facts win over document passages. For a table, give "
        "`table` and `filters` (column/op/value; ops = != < <= > >= contains between) and optionally the "
        "`columns` wanted; for totals give `aggregate` (count, sum, avg… of a column, optionally grouped). "
        "查询公司事实（培训安排、报销规定、办公室信息等）或按条件查询表格。"
    )
    parameters = {
        "type": "object",
        "properties": {
            "question": {"type": "string", "description": "The user's question, in their words."},
            "table": {"type": "string", "description": "Optional: a table name from the list below."},
            "filters": {
                "type": "array",
                "description": "Optional row filters for the table, all must hold.",
                "items": {
                    "type": "object",
                    "properties": {
                        "column": {"type": "string"},
                        "op": {"type": "string", "enum": ["=", "!=", "<", "<=", ">", ">=", "contains", "between"]},
                        "value": {"description": "A string or number; for 'between' a [low, high] list. "
                                                 "Dates as YYYY-MM-DD or a month YYYY-MM."},
                    },
                    "required": ["column", "value"],
                },
            },
            "columns": {"type": "array", "items": {"type": "string"},
                        "description": "Optional: only these columns in the result."},
            "aggregate": {
                "type": "object",
                "description": "Optional: compute over the filtered rows instead of listing them.",
                "properties": {
                    "function": {"type": "string", "enum": ["count", "count_distinct", "sum", "avg", "min", "max"]},
                    "column": {"type": "string", "description": "Column to aggregate (count: optional, rows)."},
                    "group_by": {"type": "array", "items": {"type": "string"}, "maxItems": 2,
                                 "description": "One or two columns."},
                    "order_by": {"type": "string", "description": "'value', 'rows' or a group_by column."},
                    "order": {"type": "string", "enum": ["asc", "desc"]},
                    "limit": {"type": "integer", "minimum": 1, "description": "Groups to return."},
                },
                "required": ["function"],
            },
        },
        "required": ["question"],
    }

    def __init__(self, cfg: dict | None = None):
        super().__init__(cfg)
        if self.kb is not None:
            tables = self.kb.fact_tables(self.principal)
            if tables:
                listed = "\n".join(f"- {t}" for t in tables[:MAX_TABLES_LISTED])
                more = f"\n(and {len(tables) - MAX_TABLES_LISTED} more)" if len(tables) > MAX_TABLES_LISTED else ""
                self.description = f"{self.description}\nAvailable tables (name [rows]: columns (type)):\n{listed}{more}"

    def run(self, args: dict) -> ToolOutput:
        result = self.kb.query_facts(str(args["question"]), self.principal,
                                     table=args.get("table") or None, filters=args.get("filters"),
                                     columns=args.get("columns") or None, aggregate=args.get("aggregate") or None)
        return fact_output(result)
