"""Tables of contents, indexes and lists of figures are recognised from their text alone."""

from __future__ import annotations

import pytest

from kb_agent.index.navigation import is_navigation


@pytest.mark.parametrize("text", [
    "目录\n1.1. 本 FAQ 文档是什么？1.2. 什么是 Debian GNU/Linux？1.3. 什么是 Linux？1.4. Debian 只做 GNU/Linux 吗？",
    "Table of Contents\n8.1. What programs does Debian provide?8.1.1. dpkg8.1.2. APT8.1.3. aptitude",
    "Contents\nIntroduction ........ 1\nInstallation ........ 5\nConfiguration ....... 12\nIndex ........ 40",
    "安装步骤 …… 3\n网络配置 …… 7\n用户管理 …… 15\n常见问题 …… 21",
    "2.1. Debian package management prerequisites 2.1.1. Package configuration 2.1.2. Basic precautions "
    "2.1.3. Life with eternal upgrades 2.1.4. Debian archive basics",
])
def test_navigation_is_recognised(text):
    assert is_navigation(text)


@pytest.mark.parametrize("text", [
    "ESS员工自助服务培训每月两次，在每月第一个和第三个星期三14:00–16:00举行。",
    "1. 打开控制面板。\n2. 选择网络设置。\n3. 输入静态 IP 地址并保存。",
    "Debian Edu 5.0.6+edu1 代号 Lenny，发布于2010-10-05。\nDebian Edu 5.0.4+edu0，发布于2010-02-08。",
    "Version 2.1.3 fixed the login bug; version 2.1.4 adds single sign-on for all users of the portal.",
    "",
])
def test_content_is_not_navigation(text):
    assert not is_navigation(text)
