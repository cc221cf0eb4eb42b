"""32 clients at once against the chat launched with the real models: every request answered, as if alone.

The figures (latency, throughput at 1, 8 and 32 clients) come from ``benchmarks/load.py``; this test
only checks that the load is held.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.slow
gradio_client = pytest.importorskip("gradio_client")

CLIENTS = 32
REQUESTS_EACH = 3
TIMEOUT = 120
_ID = re.compile(r"^p[0-9a-f]{7,}$")


def _as_chat(assistant, question: str) -> dict:  # type: ignore[no-untyped-def]
    """The answer asked in-process, shaped as ``/chat`` returns it (JSON, with ``section_path``)."""
    answer = assistant.ask(question, k=5)
    data = answer.to_dict()
    for citation, item in zip(answer.citations, data["citations"], strict=True):
        item["section_path"] = citation.section_path
    return json.loads(json.dumps(data))


def test_32_clients_at_once_all_get_the_answer_they_would_get_alone(real_chat_url, real_assistant, dev_questions):
    questions = [q["question"] for q in dev_questions]
    assert {q["lang"] for q in dev_questions} == {"zh-Hant", "zh-Hans", "en"}
    serial = {q: _as_chat(real_assistant, q) for q in questions}
    clients = [gradio_client.Client(real_chat_url, verbose=False) for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def run(n: int) -> list[tuple[str, dict]]:
        start.wait(TIMEOUT)  # every client starts together
        asked = [questions[(n * REQUESTS_EACH + i) % len(questions)] for i in range(REQUESTS_EACH)]
        return [(q, clients[n].predict(q, [], 5, api_name="/chat")) for q in asked]

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [pair for future in [pool.submit(run, n) for n in range(CLIENTS)] for pair in future.result(TIMEOUT)]

    assert len(results) == CLIENTS * REQUESTS_EACH
    assert len({q for q, _ in results}) == min(len(questions), CLIENTS * REQUESTS_EACH)
    for question, data in results:
        ids = [c["id"] for c in data["citations"]]
        assert len(ids) == 5 and all(_ID.match(i) for i in ids), data
        for c in data["citations"]:
            assert real_assistant.cite(c["id"]).text == c["text"]
        assert {q["citation_id"] for q in data["quotes"]} <= set(ids)
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["text"])}
        assert markers <= set(range(1, len(ids) + 1))
        assert data["abstained"] or markers, data["text"]
        assert data == serial[question], question
