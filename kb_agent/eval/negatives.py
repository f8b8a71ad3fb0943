"""Questions from other domains, for calibrating the relevance decision where an admin has
written few unanswerable questions of their own (`kb-agent eval --calibrate`).

General knowledge, cooking, sport, travel and consumer tech, in both languages: what an
employee may type into a company assistant that a company's documents do not answer. A
question whose specific words do occur in the knowledge base is left out (it may well be
answerable there), so the set adapts to the corpus it is used on.
"""

from __future__ import annotations

from typing import Callable, Sequence

from kb_agent.eval.dataset import EvalItem
from kb_agent.i18n import language_of

QUESTIONS = [
    "黄金的熔点是多少度？", "长城有多长？", "明天北京的天气怎么样？", "红烧肉怎么做？", "2018年世界杯冠军是哪个国家？",
    "珠穆朗玛峰有多高？", "如何在 macOS 上安装 Homebrew？", "澳大利亚的首都是哪里？", "怎样给 iPhone 备份到 iCloud？",
    "光速是每秒多少公里？", "怎么包饺子？", "西瓜什么季节最甜？", "马拉松全程是多少公里？", "熊猫主要吃什么？",
    "What is the melting point of gold?", "Who won the 2018 football World Cup?", "What is the capital of Australia?",
    "How tall is Mount Everest?", "What is a good recipe for pancakes?", "How do I back up my iPhone to iCloud?",
    "How far is the Moon from the Earth?", "What do giant pandas eat?", "How long is a marathon?",
    "When was the Eiffel Tower built?", "How do I make sourdough bread at home?", "Which planet has the most moons?",
    "What is the boiling point of water on Mount Everest?", "Who painted the Mona Lisa?",
]


def negatives(occurs: Callable[[str], bool], exclude: Sequence[str] = ()) -> list[EvalItem]:
    """The questions above as unanswerable doc items, less those ``occurs`` says the corpus
    mentions (``occurs(question)``: do its specific words appear in the knowledge base?) and
    those already in ``exclude``."""
    seen = {q.strip() for q in exclude}
    items = []
    for n, q in enumerate(QUESTIONS, 1):
        if q in seen or occurs(q):
            continue
        items.append(EvalItem(id=f"generated-negative-{n}", question=q, kind="doc", expected_source=None,
                              lang=language_of(q), origin="generated"))
    return items
