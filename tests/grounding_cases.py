"""Answers with known grounding, shared by tests/test_grounding.py and bench/grounding_bench.py.

EVIDENCE is one turn's numbered evidence (passages, a glossary entry, a table row, a curated
fact, a slide). FAITHFUL answers only say what the evidence says (paraphrased, in either
language, with figures written differently); FABRICATED ones each invent one thing, tagged
with the failure kind that must catch it.
"""

from __future__ import annotations

from kb_agent.grounding import Evidence

EVIDENCE = (
    Evidence(1, "passage", "hr/ess_training_notice.pdf", "p. 1",
             "ESS（员工自助服务系统）培训通知\n"
             "培训频次：每月两次，分别在每月第一个和第三个星期三 14:00–16:00\n"
             "地点：总部 3 楼培训室 A\n"
             "报名方式：发送邮件至 training@huayin-imaging.com，或登录 https://ess.huayin-imaging.com/training 报名。\n"
             "首期培训日期：2026年1月7日。"),
    Evidence(2, "term", "glossary/company.yaml", "line 31", "AM = Account Manager / 客户经理（销售部）"),
    Evidence(3, "row", "tables/office_directory.xlsx", "办公室!A4:F4",
             "办公室: 上海分公司; 地址: 浦东新区张江路 1,200 号; 电话: 021-5080-1234; 负责人: 王芳; "
             "邮箱: sh-office@huayin-imaging.com"),
    Evidence(4, "passage", "policies/travel_policy.docx", "Travel Policy > Hotel limits",
             "Hotel costs are reimbursed up to CNY 2,000 per night in tier-1 cities (Beijing, Shanghai, "
             "Shenzhen) and CNY 800 elsewhere. Claims must be filed within 30 days via the expense portal "
             "at https://expense.huayin-imaging.com."),
    Evidence(5, "fact", "products/sl500_datasheet.pdf", "p. 3",
             "The SL-500 printer supports a maximum print width of 1,600 mm and firmware version 2.4.1; "
             "the MD5 checksum of the firmware image is 3f2a9c1b7e4d5a6f8091b2c3d4e5f607."),
    Evidence(6, "passage", "training/onboarding.pptx", "slide 4",
             "新员工入职第一周需完成 3 门必修课：信息安全、ESS 使用、报销流程。"),
    Evidence(7, "passage", "finance/year_end_closing.pdf", "p. 2",
             "All 2025 invoices must be submitted by 2026-01-05. Late submissions are processed in February."),
)

FAITHFUL: tuple[str, ...] = (
    "ESS 培训每月 2 次，在每月第一个和第三个星期三的 14:00–16:00 举行 [1]。",
    "员工自助服务系统的培训一个月两次，时间是第1个和第3个星期三下午2点到4点，地点在总部3楼培训室A [1]。",
    "ESS training sessions happen twice per month, on the first and third Wednesday from 14:00 to 16:00 [1].",
    "AM stands for Account Manager (客户经理) in the Sales department [2].",
    "在销售部，AM 指客户经理（Account Manager）[2]。",
    "上海分公司位于浦东新区张江路1200号，电话 021 5080 1234，负责人是王芳 [3]。",
    "上海办公室的邮箱是 sh-office@huayin-imaging.com（office_directory.xlsx!办公室!F4）[3]。",
    "In tier-1 cities such as Shanghai, hotels are reimbursed up to CNY 2000 per night, and up to 800 elsewhere [4].",
    "Submit claims within 30 days through https://expense.huayin-imaging.com/ [4].",
    "The SL-500 prints up to 1600 mm wide (sl500_datasheet.pdf, p. 3) [5], and hotel costs in Beijing "
    "are capped at 2,000 CNY per night [4].",
    "固件 v2.4.1 的 MD5 校验值为 3F2A9C1B7E4D5A6F8091B2C3D4E5F607 [5]。",
    "根据 onboarding.pptx 第4张幻灯片，新员工第一周要上三门必修课：信息安全、ESS 使用和报销流程 [6]。",
    "2025 年的发票须在 2026年1月5日前提交 [7]。",
    "Invoices for 2025 are due by January 5, 2026; late ones are processed in February [7].",
    "Deadline for 2025 invoices: 2026/1/5 [7].",
    "ESS 培训安排如下：\n1. 频次：每月两次 [1]\n2. 时间：第一个和第三个星期三 14:00-16:00 [1]\n"
    "3. 报名：发邮件到 training@huayin-imaging.com [1]",
    "培训时间为１４:００至１６:００ [1]。",
    "首期培训在2026年1月7日举行，地点是总部3楼培训室A。",
    "客户经理（AM）[2]和其他员工都可以通过邮件 training@huayin-imaging.com 报名 ESS 培训【1】。",
    "See page 1 of hr/ess_training_notice.pdf for the schedule [1].",
    "一线城市酒店每晚最高报销 2千元，其他城市 800 元 [4]。",
    "可拨打 021-50801234 联系上海分公司 [3]。",
    "- **频次**：每月两次（见 ess_training_notice.pdf p. 1）[1]\n- **报名**：https://ess.huayin-imaging.com/training [1]",
    "Yes [1].",
    "ESS 培训每月两次。[1] 报名请登录 ess.huayin-imaging.com/training。[1]",
)

FABRICATED: tuple[tuple[str, str], ...] = (
    ("ESS 培训每月两次 [8]。", "citation"),
    ("AM 是客户经理 [2, 9]。", "citation"),
    ("报名网址是 https://ess.huayin-imaging.com/signup [1]。", "url"),
    ("Claims go through the [expense portal](https://expenses.huayin.cn) [4].", "url"),
    ("培训安排见 ess_training_notice.pdf 第 2 页 [1]。", "locator"),
    ("See slide 7 of onboarding.pptx for the required courses [6].", "locator"),
    ("上海分公司电话见 office_directory.xlsx!办公室!F9 [3]。", "locator"),
    ("The SL-500 maximum print width is given on p. 5 of the datasheet [5].", "locator"),
    ("详细规定见《差旅管理办法》travel_rules_2026.pdf [4]。", "file"),
    ("The full schedule is in ess_schedule.xlsx [1].", "file"),
    ("ESS 培训每月三次 [1]。", "number"),
    ("Hotels in tier-1 cities are reimbursed up to CNY 2,500 per night [4].", "number"),
    ("2025 年发票须在 2026年1月15日前提交 [7]。", "number"),
    ("培训时间是每月第一个和第三个星期三 15:00–17:00 [1]。", "number"),
    ("The SL-700 supports a print width of 1,600 mm [5].", "number"),
    ("最新固件版本为 v2.5.0 [5]。", "number"),
    ("上海分公司电话 021-5080-9999 [3]。", "number"),
    ("首期培训定于2026年2月4日。", "number"),
    ("新员工第一周需完成 5 门必修课 [6]。", "number"),
    ("Claims must be filed within 60 days [4].", "number"),
    ("报名请发邮件至 ess-training@huayin-imaging.com [1]。", "email"),
    ("Contact travel@huayin-imaging.com for exceptions to the hotel limits [4].", "email"),
    ("员工食堂提供免费午餐，用餐时间为中午 [1]。", "unsupported"),
    ("Employees may work remotely up to two days a week after approval by their manager [4].", "unsupported"),
    ("Our printers are sold through distributors across Southeast Asia [5].", "unsupported"),
)

#: Written after the checks were tuned on the cases above (only the row-reference check was added
#: for them), to estimate the rates on answers the checks were not fitted to. KNOWN_MISSES are the
#: cases the check gets wrong today, kept visible in the bench.
HELD_OUT_FAITHFUL: tuple[str, ...] = (
    "根据《ESS培训通知》（hr/ess_training_notice.pdf，第1页）[1]，ESS 培训每个月举办两次，时间为每月第一、第三个周三的"
    "14:00至16:00，地点在总部三楼培训室A。",
    "**ESS 培训安排**\n\n| 项目 | 内容 |\n|---|---|\n| 频次 | 每月2次 [1] |\n| 时间 | 14:00–16:00 [1] |",
    "您可以通过以下两种方式报名 [1]：\n1. 发送邮件至 training@huayin-imaging.com\n2. 登录 https://ess.huayin-imaging.com/training",
    "AM（Account Manager，客户经理）是销售部的岗位 [2]。",
    "The first ESS session is on 7 January 2026 [1].",
    "The first session takes place on 2026-01-07 in training room A, 3rd floor of HQ [1].",
    "Per the travel policy [4], hotel reimbursement is capped at CNY 2,000/night in tier-1 cities and CNY 800 in other "
    "cities; file claims within 30 days.",
    "上海分公司（负责人：王芳）的电话是 021-5080-1234，邮箱 sh-office@huayin-imaging.com，见 office_directory.xlsx 的"
    "“办公室”工作表第4行 [3]。",
    "SL-500 的最大打印宽度为 1.6 米 [5]。",
    "SL-500 的最大打印宽度为 1,600 毫米，固件版本 2.4.1 [5]。",
    "新员工在入职第一周要完成3门必修课（信息安全、ESS使用、报销流程），详见 onboarding.pptx 第 4 张幻灯片 [6]。",
    "2025年的所有发票须在2026年1月5日前提交，逾期的将在2月处理 [7]。",
    "All invoices from 2025 have to be in by 5 Jan 2026 [7]. Anything later is handled in February [7].",
    "ESS training: twice a month (1st and 3rd Wednesday), 2–4 pm [1].",
    "Yes — AM means Account Manager here, in the Sales department [2].",
    "I could not find the cafeteria hours in the knowledge base; please ask HR.",
    "ESS 培训每月两次 [1]；酒店报销一线城市每晚不超过 2000 元 [4]。",
)
HELD_OUT_FABRICATED: tuple[tuple[str, str], ...] = (
    ("ESS 培训每月两次，每次 3 小时 [1]。", "number"),
    ("报名截止时间为每月 10 日 [1]。", "number"),
    ("详见 ESS 培训手册第 12 页 [1]。", "locator"),
    ("SL-500 的售价为 12,800 元 [5]。", "number"),
    ("请联系 IT 服务台 it-helpdesk@huayin-imaging.com 获取 ESS 账号 [1]。", "email"),
    ("See the training calendar at https://intranet.huayin-imaging.com/calendar [1].", "url"),
    ("Details are in training_calendar_2026.xlsx, sheet 日历 [1].", "file"),
    ("AM 负责大客户的合同谈判与回款管理 [2]。", "unsupported"),
    ("Hotel costs in tier-2 cities are reimbursed up to CNY 1,000 per night [4].", "number"),
    ("新员工需在入职后 30 天内完成必修课 [6]。", "number"),
    ("上海分公司位于浦东新区张江路 1,300 号 [3]。", "number"),
    ("The firmware can be updated over Wi-Fi using the mobile app [5].", "unsupported"),
)
KNOWN_MISSES: dict[str, str] = {
    "SL-500 的最大打印宽度为 1.6 米 [5]。": "false alarm: no unit conversion (1.6 m = 1,600 mm)",
    "ESS 培训每月两次，每次 3 小时 [1]。": "missed: '3' occurs in the passage (3 楼); 小时 is not counted there",
}
