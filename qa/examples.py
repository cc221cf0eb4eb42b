"""The example questions the README, the docs and the chat show, each with the fact its answer must hold.

``tests/test_examples.py`` asks every one of them with the real models over the bundled chapter and
checks that the short answer and the first citation hold the fact, so what a newcomer tries first is
kept right.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """A question, the chapter's words that answer it (whitespace aside; where the chapter says it in
    two places, either), and earlier chat questions."""

    question: str
    facts: tuple[str, ...]
    history: tuple[str, ...] = ()


CHAT_EXAMPLES = (
    Example("川金會在哪一天舉行？", ("6月12日",)),
    Example("北韩在2018年4月宣布停止哪些试验？", ("暫停核試", "停止發射飛彈")),
    Example("What did Russia propose for resolving the North Korean nuclear issue?", ("三階段",)),
    Example("駐韓美軍的人數大約是多少？", ("28,500",)),
    Example("When did Trump and Kim Jong-un meet in Singapore?", ("6月12日",)),
)
"""The chat's example buttons, in order."""

README_EXAMPLES = (
    Example("When did the Trump–Kim summit take place?", ("6月12日",)),
    Example("How much did South Korea pay for US forces in 2018?", ("9600億韓元",)),
    Example("蓬佩奥希望朝鲜最迟在什么时候之前完成无核化？", ("2021年1月",)),
    Example("駐韓美軍有多少人？", ("28,500",)),
    Example("What did Russia propose?", ("三階段",)),
    Example("那是哪一年決定的？", ("7月29日",), history=("薩德系統部署在哪裡？",)),
)
"""The questions README.md and docs/ ask besides the chat's."""

EXAMPLES = CHAT_EXAMPLES + README_EXAMPLES
