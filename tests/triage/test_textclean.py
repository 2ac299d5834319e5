"""Mail-thread cleaning, log collapsing and sentence splitting (all texts written for these tests)."""

from __future__ import annotations

import pytest

from triage.textclean import clean_thread, collapse_logs, split_sentences, thread_messages

EN_OUTLOOK_FORWARD = """Hi team,

The VPN client fails with error 809 since this morning. I cannot reach the file server.
Could you please check?

Best regards,
Alex Turner
Senior Analyst | Finance Operations
Tel: +44 20 7946 0958

CONFIDENTIALITY NOTICE: This email and any attachments are confidential and intended solely for the addressee.

-----Original Message-----
From: Service Desk <desk@example.com>
Sent: Monday, March 4, 2024 9:12 AM
To: Alex Turner <alex@example.com>
Subject: RE: VPN

Hello Alex, please reinstall the client and reboot.
"""

EN_GMAIL_REPLY = """Dear IT,

The reinstall did not help, the printer on floor 2 still prints blank pages.

Thanks,
Maria

On Tue, Mar 5, 2024 at 10:02 AM Helpdesk <help@example.com>
wrote:
> Please reinstall the driver from the portal.
> Kind regards, Helpdesk
"""

ZH_FORWARD = """各位好，

OA系统从昨天下午开始无法登录，提示用户名或密码错误，但密码没有修改过。

此致
敬礼
张三
电话：13800138000

本邮件及其附件含有保密信息，仅供指定收件人使用。如果您不是本邮件的收件人，请立即删除。

------------------ 原始邮件 ------------------
发件人: "IT服务台"<it@example.com>
发送时间: 2024年3月4日(星期一) 上午9:12
收件人: "张三"
主题: 回复：OA登录

您好，请先清除浏览器缓存再试。
"""

ZH_HEADER_ONLY = """您好，

财务系统导出报表时提示“内存不足”，导出失败。
谢谢！
李四

发件人: 王五
发送时间: 2024年5月6日 14:30
收件人: 李四
主题: 报表

请把上个月的报表发我一下。
"""


@pytest.mark.parametrize(
    ("mail", "kept", "gone"),
    [
        (
            EN_OUTLOOK_FORWARD,
            ["error 809", "Could you please check?"],
            [
                "Hi team",
                "Best regards",
                "Alex Turner",
                "+44",
                "CONFIDENTIAL",
                "Original Message",
                "reinstall",
            ],
        ),
        (
            EN_GMAIL_REPLY,
            ["still prints blank pages"],
            ["Dear IT", "Thanks", "Maria", "wrote:", "reinstall the driver", "Helpdesk"],
        ),
        (
            ZH_FORWARD,
            ["OA系统从昨天下午开始无法登录"],
            ["各位好", "此致", "敬礼", "张三", "13800138000", "保密", "原始邮件", "清除浏览器缓存"],
        ),
        (
            ZH_HEADER_ONLY,
            ["导出失败"],
            ["您好", "谢谢", "李四", "发件人", "上个月的报表"],
        ),
    ],
    ids=["en-outlook", "en-wrote", "zh-forward", "zh-header"],
)
def test_clean_thread_keeps_only_newest_message(mail: str, kept: list[str], gone: list[str]) -> None:
    cleaned = clean_thread(mail)
    for text in kept:
        assert text in cleaned
    for text in gone:
        assert text not in cleaned


@pytest.mark.parametrize(
    ("mail", "count"),
    # The quoted Gmail message is all "> " lines, so nothing of it is left.
    [(EN_OUTLOOK_FORWARD, 2), (EN_GMAIL_REPLY, 1), (ZH_FORWARD, 2), (ZH_HEADER_ONLY, 2)],
)
def test_thread_messages_lists_newest_first(mail: str, count: int) -> None:
    messages = thread_messages(mail)
    assert len(messages) == count
    assert messages[0] == clean_thread(mail)


def test_clean_thread_drops_quoted_lines_anywhere() -> None:
    mail = "> old question\nThe backup job failed again tonight.\n> another quote"
    assert clean_thread(mail) == "The backup job failed again tonight."


@pytest.mark.parametrize("mail", ["Hi,\nThanks!", "您好，\n谢谢"])
def test_clean_thread_returns_original_when_nothing_would_remain(mail: str) -> None:
    assert clean_thread(f"  {mail}\n") == mail


@pytest.mark.parametrize("blank", ["", "   ", "\n\t\n"])
def test_clean_thread_empty_input_gives_empty_string(blank: str) -> None:
    assert clean_thread(blank) == ""
    assert thread_messages(blank) == []


@pytest.mark.parametrize(
    "body",
    [
        "Thanks to the update, Outlook crashes on start.",
        "Hi printer in room 4 is jammed",
        "时间：2024-03-01 上午\n问题：三楼打印机无法打印",
        "系统运行状态良好，但报表导出失败",
    ],
)
def test_clean_thread_keeps_content_that_looks_like_boilerplate(body: str) -> None:
    assert clean_thread(body) == body


def test_clean_thread_uses_next_message_when_newest_is_empty() -> None:
    mail = "-----Original Message-----\nFrom: A\nSent: today\nSubject: x\n\nScanner cannot send to email."
    assert clean_thread(mail) == "Scanner cannot send to email."


JAVA_LOG = """The nightly import stopped.
2024-03-04 01:00:01 INFO  Starting import
2024-03-04 01:00:02 INFO  Loading config
2024-03-04 01:00:03 ERROR Import failed
java.lang.RuntimeException: wrapper
    at com.acme.Import.run(Import.java:42)
    at com.acme.Main.main(Main.java:10)
Caused by: java.lang.IllegalStateException: queue closed
    at com.acme.Queue.take(Queue.java:7)
    ... 2 more
Please help."""

PY_TRACEBACK = """Script crashes on start:
Traceback (most recent call last):
  File "sync.py", line 3, in <module>
    main()
  File "sync.py", line 2, in main
    raise ValueError("bad token")
ValueError: bad token
Started after the upgrade."""

ZH_LOG = """接口调用报错：
2024-05-01 10:00:01 开始同步订单
2024-05-01 10:00:02 连接数据库失败
2024-05-01 10:00:03 重试中
请协助排查。"""


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        (JAVA_LOG, "[log: 9 lines] Caused by: java.lang.IllegalStateException: queue closed"),
        (PY_TRACEBACK, "[log: 6 lines] ValueError: bad token"),
        (ZH_LOG, "[log: 3 lines] 2024-05-01 10:00:02 连接数据库失败"),
    ],
    ids=["java", "python", "zh"],
)
def test_collapse_logs_keeps_key_line(text: str, marker: str) -> None:
    lines = collapse_logs(text).split("\n")
    assert len(lines) == 3
    assert lines[1] == marker
    assert lines[0] == text.split("\n")[0]
    assert lines[2] == text.split("\n")[-1]


def test_collapse_logs_leaves_short_runs_and_prose() -> None:
    text = "Outlook shows error 0x800CCC0E.\n2024-03-04 09:00 ERROR sync failed\nIt started today."
    assert collapse_logs(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Please install a browser, e.g. Chrome v2.3.1 on host 10.0.0.12. Dr. Smith asked for it!",
            ["Please install a browser, e.g. Chrome v2.3.1 on host 10.0.0.12.", "Dr. Smith asked for it!"],
        ),
        ("The build v10.2.0 fails. Is it the proxy? i.e. the one at 192.168.1.1", None),
        ("Steps:\n1. open the app\n2. click export", ["Steps:", "open the app", "click export"]),
        ("the server is down. users cannot log in", ["the server is down.", "users cannot log in"]),
        (
            "The reinstall did not help and the printer on floor two still prints pages that\n"
            "are blank. Next one.\nshort line\nanother line",
            [
                "The reinstall did not help and the printer on floor two still prints pages that\nare blank.",
                "Next one.",
                "short line",
                "another line",
            ],
        ),
    ],
)
def test_split_sentences_english_rules(text: str, expected: list[str] | None) -> None:
    sentences = split_sentences(text, "en")
    if expected is None:
        expected = ["The build v10.2.0 fails.", "Is it the proxy?", "i.e. the one at 192.168.1.1"]
    assert sentences == expected


@pytest.mark.parametrize("language", ["zh", "mixed"])
def test_split_sentences_chinese_punctuation(language: str) -> None:
    text = "打印机无法打印。已经重启过！还是不行？请尽快处理；服务器10.1.2.3版本v2.3.1无法访问\n谢谢"
    assert split_sentences(text, language) == [
        "打印机无法打印。",
        "已经重启过！",
        "还是不行？",
        "请尽快处理；",
        "服务器10.1.2.3版本v2.3.1无法访问",
        "谢谢",
    ]


@pytest.mark.parametrize("language", ["zh", "en", "mixed", "other"])
def test_split_sentences_returns_substrings(language: str) -> None:
    text = "Hi. The SAP login fails with error 401! 系统无法登录，请处理。\n\n- item one\n- item two"
    sentences = split_sentences(text, language)
    assert sentences
    assert all(sentence in text for sentence in sentences)


@pytest.mark.parametrize("blank", ["", "  ", "\n\n", "...!!!"])
def test_split_sentences_empty_input(blank: str) -> None:
    assert split_sentences(blank, "en") == []
    assert split_sentences(blank, "zh") == []
