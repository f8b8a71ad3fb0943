from kb_agent.glossary.index import Glossary
from kb_agent.glossary.model import GlossaryEntry as E
from kb_agent.glossary.terms import understand

G = Glossary([
    E("AM", "Account Manager", "客户经理", scope="销售部"),
    E("PM", "Project Manager", "项目经理", scope="项目部"),
    E("PM", "Product Manager", "产品经理", scope="产品部"),
    E("FSE", "Field Service Engineer", "现场服务工程师"),
])


def test_expansion_adds_full_names_not_already_in_the_question():
    u = understand("AM在售后流程里负责什么", G)
    assert u.expansions == ("Account Manager", "客户经理")
    assert u.expanded_query == "AM在售后流程里负责什么 Account Manager 客户经理"
    assert "AM → Account Manager / 客户经理" in u.describe()


def test_chinese_meaning_expands_to_acronym_and_english():
    u = understand("现场服务工程师多久上门？", G)
    assert "FSE" in u.expansions and "Field Service Engineer" in u.expansions


def test_scope_in_question_picks_the_meaning():
    u = understand("产品部的PM负责什么", G)
    ((_, chosen),) = u.chosen
    assert [e.english for e in chosen] == ["Product Manager"]


def test_without_scope_every_meaning_is_searched():
    u = understand("PM负责什么", G)
    assert {"Project Manager", "Product Manager"} <= set(u.expansions)


def test_unknown_acronyms_are_reported():
    u = understand("XYZ 和 AM 有什么区别？QBR呢", G)
    assert u.unknown == ("XYZ", "QBR")


def test_question_without_terms_is_unchanged():
    u = understand("今天食堂吃什么", G)
    assert u.expanded_query == "今天食堂吃什么" and not u.terms
