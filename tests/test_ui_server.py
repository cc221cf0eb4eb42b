"""The chat launched on 127.0.0.1 with the real models, called through ``gradio_client`` and ``qa serve``."""

from __future__ import annotations

import re
import socket
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from conftest import served

pytestmark = pytest.mark.slow
gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def client(real_chat_url):
    return gradio_client.Client(real_chat_url, verbose=False)


def _norm(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize(
    ("question", "language", "gold"),
    [
        ("「川金會」是在哪一天舉行的？", "zh-Hant", "6月12日舉行"),
        ("文在寅在光复节73周年讲话中提出了什么经济构想？", "zh-Hans", "兩韓統一經濟特區"),
        ("How much did South Korea contribute to USFK costs in 2018?", "en", "9600億韓元"),
    ],
)
def test_chat_endpoint_answers_with_citations_that_cite_resolves(client, real_assistant, question, language, gold):
    data = client.predict(question, [], 5, api_name="/chat")
    assert data["language"] == language and not data["abstained"]
    assert re.search(r"\[\d\]", data["text"])
    assert len(data["citations"]) == 5
    assert any(gold in _norm(c["text"]) for c in data["citations"])
    for c in data["citations"]:
        cited = real_assistant.cite(c["id"])
        assert cited.text == c["text"] and cited.section_path == c["section_path"]
    for quote in data["quotes"]:
        assert quote["citation_id"] in {c["id"] for c in data["citations"]}


def test_only_the_chat_endpoint_is_public(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/chat"]


def test_history_carries_a_follow_up(client):
    alone = client.predict("第二次是哪一天？", [], 5, api_name="/chat")
    follow = client.predict("第二次是哪一天？", ["文金會舉行了幾次？"], 5, api_name="/chat")
    rank = [
        next((i for i, c in enumerate(d["citations"]) if "文金會" in c["section_path"]), 99) for d in (alone, follow)
    ]
    assert rank[1] <= rank[0] and rank[1] < 3


def test_bad_input_gets_a_clear_error_or_an_answer(client):
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("   ", [], 5, api_name="/chat")
    with pytest.raises(Exception, match="k must be at least 1"):
        client.predict("駐韓美軍", [], 0, api_name="/chat")
    long = client.predict("駐韓美軍的人數是多少？" + "半島" * 50_000, [], 3, api_name="/chat")
    assert len(long["question"]) <= 2_000 and long["citations"]
    odd = client.predict("<script>alert(1)</script>\x00 북한 🙂", [], 3, api_name="/chat")
    assert odd["citations"]


def test_several_people_chat_at_once(client, real_chat_url, real_assistant):
    questions = [
        "駐韓美軍的人數是多少？",
        "What did Russia propose?",
        "萨德系统部署在哪里？",
        "北韓迄今共進行幾次核試？",
        "駐韓美軍的人數是多少？" + "半島" * 5_000,  # a slow, long question among them
        "When was the Panmunjom Declaration signed?",
    ]
    expected = [[c.id for c in real_assistant.ask(q, k=5).citations] for q in questions]

    def ask(question: str) -> list[str]:
        own = gradio_client.Client(real_chat_url, verbose=False)
        return [c["id"] for c in own.predict(question, [], 5, api_name="/chat")["citations"]]

    with ThreadPoolExecutor(len(questions)) as pool:
        got = list(pool.map(ask, questions))
    assert got == expected


def _other_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent; this picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_qa_serve_starts_the_chat_behind_a_login_on_loopback_only(real_cache_dir, real_assistant):
    """``qa serve`` in a new process, on the index the session built, with the login taken from
    the environment: the page and /chat answer a logged-in client only, on 127.0.0.1 only."""
    login = {"PENINSULA_QA_AUTH": "reader:s3cret pass"}
    with served("--cache-dir", str(real_cache_dir), env=login) as (url, _):
        port = urlsplit(url).port
        with urllib.request.urlopen(url, timeout=2) as response:
            assert response.status == 200  # the login page
        with pytest.raises(Exception, match=r"(?i)login|auth|401|403"):
            gradio_client.Client(url, verbose=False).predict("北韓迄今共進行幾次核試？", [], 3, api_name="/chat")
        with pytest.raises(Exception, match=r"(?i)login|auth|401|403|incorrect"):
            gradio_client.Client(url, auth=("reader", "wrong"), verbose=False)
        client = gradio_client.Client(url, auth=("reader", "s3cret pass"), verbose=False)
        data = client.predict("北韓迄今共進行幾次核試？", [], 3, api_name="/chat")
        assert [c["id"] for c in data["citations"]] == [
            c.id for c in real_assistant.ask("北韓迄今共進行幾次核試？", k=3).citations
        ]
        other = _other_address()
        if other is not None:  # listening on loopback only: another address of this machine refuses
            with pytest.raises(OSError), socket.create_connection((other, port), timeout=2):
                pass


@pytest.mark.parametrize("value", ["reader", ":pass", "reader:", "  :  "])
def test_a_malformed_login_is_a_clear_error(capsys, monkeypatch, value):
    from ui.cli import AUTH_VARIABLE, main

    monkeypatch.delenv(AUTH_VARIABLE, raising=False)
    assert main(["serve", "--auth", value]) == 1
    assert "USER:PASSWORD" in capsys.readouterr().err


def test_qa_serve_rejects_a_bad_port(capsys):
    from ui.cli import main

    assert main(["serve", "--port", "70000"]) == 1
    assert "--port must be between 1 and 65535" in capsys.readouterr().err
