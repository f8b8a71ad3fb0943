"""glossary_lookup: company terms and acronyms, looked up — never guessed."""

from qwen_agent.tools.base import register_tool

from kb_agent.glossary.route import glossary_output
from kb_agent.tooling import KBTool, ToolOutput


@register_tool("glossary_lookup")
class GlossaryLookup(KBTool):
    description = (
        "Look up a company term or acronym (e.g. AM, AAP, AIP, ESS) in the company glossary and get its "
        "English full name, Chinese meaning, scope and description. Also finds the acronym for a full name "
        "('Actual Achieved Price', '客户经理'). Use it for every company term; never guess meanings. "
        "查询公司术语/缩略语的英文全称、中文含义和适用部门。"
    )
    parameters = {
        "type": "object",
        "properties": {
            "term": {"type": "string", "description": "The term, acronym, full name or Chinese meaning to look up."},
        },
        "required": ["term"],
    }

    def run(self, args: dict) -> ToolOutput:
        return glossary_output(str(args["term"]), self.kb.lookup_term)
