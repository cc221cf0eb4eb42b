"""The launched chat survives faults: clients that leave mid-answer, a question that raises inside retrieval.

The server, its queue and the HTTP protocol are real; the assistant runs over the fake embedder,
wrapped in :class:`FaultyFakeEmbedder` so one question can raise and another can be held mid-answer.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, FakeHashEmbedder, running, served

from corpus import default_document_path
from qa import Assistant, Settings
from ui.app import ANSWERED_AT_ONCE, FAILED_REPLY, NOT_UPLOADED, create_app

gradio_client = pytest.importorskip("gradio_client")

FAIL = "請讓檢索出錯"
"""A question containing this raises inside retrieval (see :class:`FaultyFakeEmbedder`)."""
HOLD = "請在回答途中等待"
"""A question containing this is held inside retrieval until the test releases it."""
QUESTIONS = [
    "駐韓美軍的人數是多少？",
    "萨德系统部署在哪里？",
    "What did Russia propose for the North Korean nuclear issue?",
    "《平壤共同宣言》是哪天簽署的？",
    "北韓迄今共進行幾次核試？",
    "When was the Panmunjom Declaration signed?",
    "文在寅在光复节讲话中提出了什么构想？",
    "川金會在哪一天舉行？",
]
CONCURRENCY = ANSWERED_AT_ONCE
"""``ChatApp.launch``'s ``default_concurrency_limit``: requests answered at once."""
TIMEOUT = 30


class FaultyFakeEmbedder(FakeHashEmbedder):
    """Test double: the fake hash embedder, except for two marked questions.

    A query containing :data:`FAIL` raises ``RuntimeError`` (an unexpected error inside retrieval);
    one containing :data:`HOLD` counts itself in ``held`` and blocks until ``release`` is set, so a
    client can leave while its answer is being computed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.held = 0
        self._lock = threading.Lock()

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        if any(FAIL in t for t in texts):
            raise RuntimeError("the test double failed inside retrieval")
        if any(HOLD in t for t in texts):
            with self._lock:
                self.held += 1
            if not self.release.wait(TIMEOUT):
                raise RuntimeError("the test never released a held question")
        return super().embed_queries(texts)

    def wait_held(self, n: int, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.held < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.held} of {n} held questions reached retrieval")
            time.sleep(0.02)


@pytest.fixture(scope="module")
def embedder() -> FaultyFakeEmbedder:
    return FaultyFakeEmbedder()


@pytest.fixture(scope="module")
def assistant(chapter, embedder) -> Assistant:
    return Assistant([chapter], Settings(cache_dir=None, progress=False), embedders=[embedder])


@pytest.fixture(scope="module")
def serial(assistant) -> dict[str, dict]:
    """Each question's answer asked in-process, one at a time, as ``/chat`` returns it."""
    return {q: _as_chat(assistant, q) for q in QUESTIONS}


@pytest.fixture(scope="module")
def chat_url(assistant) -> Iterator[str]:
    with running(create_app(assistant=assistant)) as url:
        yield url


@pytest.fixture
def fresh(embedder) -> Iterator[FaultyFakeEmbedder]:
    """The double with nothing held; anything still held is released at the end."""
    embedder.release.clear()
    embedder.held = 0
    yield embedder
    embedder.release.set()


def _as_chat(assistant: Assistant, question: str) -> dict:
    answer = assistant.ask(question, k=5)
    data = answer.to_dict()
    for citation, item in zip(answer.citations, data["citations"], strict=True):
        item["section_path"] = citation.section_path
    return json.loads(json.dumps(data))


def _ask_all(url: str, questions: list[str]) -> list[dict]:
    """Each question from its own ``gradio_client`` client, all at once; fails if a slot never frees."""

    def ask(question: str) -> dict:
        return gradio_client.Client(url, verbose=False).predict(question, [], 5, api_name="/chat")

    pool = ThreadPoolExecutor(len(questions))
    try:
        futures = [pool.submit(ask, q) for q in questions]
        return [f.result(TIMEOUT) for f in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class ErrorRecords(logging.Handler):
    """Collects ERROR records from the root logger and uvicorn's own (which does not propagate)."""

    LOGGERS = ("", "uvicorn")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> ErrorRecords:
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]


# -- a question that raises inside retrieval -----------------------------------------------------
def test_a_question_that_raises_gets_one_line_while_the_others_are_answered(chat_url, serial):
    """Over ``/chat``: the failing caller gets the one-line reply, concurrent and later callers their answers."""

    def failing() -> str:
        try:
            gradio_client.Client(chat_url, verbose=False).predict(f"駐韓美軍 {FAIL}", [], 5, api_name="/chat")
        except Exception as exc:
            return str(exc)
        return "answered"

    with ErrorRecords() as log, ThreadPoolExecutor(2) as pool:
        error = pool.submit(failing)
        others = pool.submit(_ask_all, chat_url, QUESTIONS)
        message, answers = error.result(TIMEOUT), others.result(TIMEOUT)
    assert message == FAILED_REPLY and "\n" not in message and "Traceback" not in message
    assert answers == [serial[q] for q in QUESTIONS]
    assert _ask_all(chat_url, QUESTIONS[:2]) == [serial[q] for q in QUESTIONS[:2]]
    # the server's log keeps the traceback, once, for whoever runs it
    assert [r.name for r in log.records] == ["ui.app"], log.messages()
    assert "failed inside retrieval" in str(log.records[0].exc_info[1])  # type: ignore[index]


def _page_event(url: str, question: str) -> tuple[str, str]:
    """Join the queue as the page's Ask button does; returns (session hash, path of its event stream)."""
    parts = urlsplit(url)
    config = json.loads(_http(parts, "GET", "/config"))
    ask = next(d for d in config["dependencies"] if d["api_name"].startswith("respond") and d["targets"])
    chosen = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "pqa-documents")
    session = uuid.uuid4().hex
    body = {
        "data": [question, [], None, chosen["props"]["value"]],  # the documents ticked when the page opens
        "fn_index": ask["id"],
        "trigger_id": ask["targets"][0][0],
        "session_hash": session,
        "event_data": None,
    }
    json.loads(_http(parts, "POST", "/gradio_api/queue/join", body))
    return session, f"/gradio_api/queue/data?session_hash={session}"


def _http(parts, method: str, path: str, body: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8")
        assert response.status == 200, f"{method} {path}: {response.status} {text}"
        return text
    finally:
        conn.close()


def test_the_page_gets_one_line_when_retrieval_raises(chat_url):
    """The Ask button's handler, over the page's own queue protocol: a one-line reply, no traceback."""
    parts = urlsplit(chat_url)
    _, stream_path = _page_event(chat_url, f"北韓核試 {FAIL}")
    stream = _http(parts, "GET", stream_path)
    messages = [json.loads(line[len("data: ") :]) for line in stream.splitlines() if line.startswith("data: ")]
    done = [m for m in messages if m["msg"] == "process_completed"]
    assert len(done) == 1 and done[0]["success"], messages
    assert "Something went wrong while answering" in stream
    assert "Traceback" not in stream and "RuntimeError" not in stream and "failed inside retrieval" not in stream


# -- requests the chat cannot serve ---------------------------------------------------------------
def _api_call(url: str, data: list) -> tuple[str, object]:
    """Call ``/chat`` over the plain HTTP API (JSON as Python writes it: ``NaN``, ``Infinity``, ``"\\ud800"``);
    returns the result stream's last event and its data."""
    parts = urlsplit(url)
    event = json.loads(_http(parts, "POST", "/gradio_api/call/chat", {"data": data}))["event_id"]
    lines = _http(parts, "GET", f"/gradio_api/call/chat/{event}").splitlines()
    kind = [line[len("event: ") :] for line in lines if line.startswith("event: ")][-1]
    return kind, json.loads([line[len("data: ") :] for line in lines if line.startswith("data: ")][-1])


@pytest.mark.parametrize("k", ["abc", None, float("nan"), float("inf"), float("-inf"), 2.5, "3", True, [3]])
def test_a_k_that_is_not_a_whole_number_gets_one_clear_line(chat_url, k):
    with ErrorRecords() as log:
        kind, data = _api_call(chat_url, ["駐韓美軍的人數是多少？", [], k])
    assert kind == "error" and data["error"] == f"k must be a whole number, not {k!r}", data  # type: ignore[index]
    assert log.records == [], log.messages()


def test_a_lone_surrogate_in_the_question_is_answered_or_refused_cleanly(chat_url, serial):
    question = QUESTIONS[0]
    with ErrorRecords() as log:
        answered = _api_call(chat_url, [question[:3] + "\ud800" + question[3:], [], 5])
        refused = _api_call(chat_url, ["\udc00", [], 5])
        with_history = _api_call(chat_url, [question, ["\ud83d"], 5])
        not_a_list = _api_call(chat_url, [question, 5, 5])
        _, stream_path = _page_event(chat_url, "北韓\ud800核試")
        stream = _http(urlsplit(chat_url), "GET", stream_path)
    assert answered == ("complete", [serial[question]])
    assert refused == ("error", {**refused[1], "error": "the question is empty; type a question about the document"})  # type: ignore[dict-item]
    assert with_history == ("complete", [serial[question]])
    assert not_a_list[0] == "error" and "history must be a list" in not_a_list[1]["error"]  # type: ignore[index]
    messages = [json.loads(line[len("data: ") :]) for line in stream.splitlines() if line.startswith("data: ")]
    done = [m for m in messages if m["msg"] == "process_completed"]
    assert len(done) == 1 and done[0]["success"], messages
    assert "北韓\ufffd核試" in stream and "went wrong" not in stream
    assert log.records == [], log.messages()


# -- no network, no files from elsewhere ---------------------------------------------------------
PROBE_URL = "http://peninsula-qa-probe.invalid/notes.md"


class OutgoingConnections:
    """Test double for the network: records every host name looked up and every address connected
    to beyond 127.0.0.1, and fails them as an offline machine would."""

    def __init__(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        self.attempts: list[str] = []
        real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

        def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
            if host not in ("127.0.0.1", "localhost", "::1", None):
                self.attempts.append(f"lookup {host}")
                raise socket.gaierror(socket.EAI_NONAME, "offline")
            return real_getaddrinfo(host, *args, **kwargs)

        def connect(sock, address):  # type: ignore[no-untyped-def]
            if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
                self.attempts.append(f"connect {address}")
                raise OSError("offline")
            return real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)


def _file_data(path: str, url: str | None = None) -> dict:
    return {"path": path, "url": url, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


def _join(url: str, elem_id: str, event: str, data: list) -> str:
    """Join the queue as the page does for ``event`` on the component ``elem_id``; returns the event stream."""
    config = json.loads(_http(urlsplit(url), "GET", "/config"))
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    dependency = next(d for d in config["dependencies"] if [component, event] in d["targets"])
    return _join_dependency(url, dependency, data)


def _join_dependency(url: str, dependency: dict, data: list) -> str:
    parts = urlsplit(url)
    session = uuid.uuid4().hex
    body = {
        "data": data,
        "fn_index": dependency["id"],
        "trigger_id": dependency["targets"][0][0] if dependency["targets"] else None,
        "session_hash": session,
        "event_data": None,
    }
    json.loads(_http(parts, "POST", "/gradio_api/queue/join", body))
    return _http(parts, "GET", f"/gradio_api/queue/data?session_hash={session}")


def _outcome(stream: str) -> dict:
    messages = [json.loads(line[len("data: ") :]) for line in stream.splitlines() if line.startswith("data: ")]
    [done] = [m for m in messages if m["msg"] == "process_completed"]
    return done


def test_no_input_route_makes_the_server_fetch_a_url_or_take_a_file_from_its_disk(chat_url, monkeypatch, tmp_path):
    """Every handler of the page, each input given a file by URL; the upload given a path on the
    server; ``/chat`` given both: all refused, no host looked up, nothing read from the disk."""
    secret = tmp_path / "secret.md"
    secret.write_text("# 機密\n\n不該被讀取的內容。\n", "utf-8")
    network = OutgoingConnections(monkeypatch)
    config = json.loads(_http(urlsplit(chat_url), "GET", "/config"))
    kinds = {c["id"]: c["type"] for c in config["components"]}
    # every handler that takes input from the client (a gr.State input stays on the server)
    dependencies = [d for d in config["dependencies"] if any(kinds.get(i) != "state" for i in d["inputs"])]
    with ErrorRecords() as log:
        by_url = {
            d["api_name"]: _outcome(
                _join_dependency(chat_url, d, [_file_data(PROBE_URL, PROBE_URL)] * len(d["inputs"]))
            )
            for d in dependencies
        }
        path_on_server = _outcome(_join(chat_url, "pqa-upload", "upload", [[_file_data(str(secret))], []]))
        api = _api_call(chat_url, [_file_data(PROBE_URL, PROBE_URL), [_file_data(str(secret))], 5])
    assert network.attempts == []
    assert {"upload", "respond", "show_citation", "show_section", "load_example", "chat"} <= set(by_url)
    assert {name: (done["success"], done["output"]["error"]) for name, done in by_url.items()} == {
        name: (False, NOT_UPLOADED) for name in by_url
    }
    # a path that is not a URL Gradio itself refuses on the page's routes, before our check ("not uploaded by a user")
    assert not path_on_server["success"]
    assert api == ("error", {**api[1], "error": NOT_UPLOADED})  # type: ignore[dict-item]
    assert "機密" not in json.dumps([by_url, path_on_server, api], ensure_ascii=False)
    assert log.records == [], log.messages()


def _upload(url: str, name: str, data: bytes) -> str:
    """POST a file to Gradio's upload route, as the page does before its upload event; returns its path."""
    import httpx

    response = httpx.post(f"{url}gradio_api/upload", files={"files": (name, data)}, timeout=TIMEOUT)
    response.raise_for_status()
    [path] = response.json()
    return path


def test_uploaded_files_are_deleted_when_qa_serve_is_stopped(tmp_path):
    uploads = tmp_path / "uploads"
    document = tmp_path / "notes.md"
    document.write_text("# 會議筆記\n\n## 預算\n\n二〇二五年度的海洋觀測預算為四千三百萬元。\n", "utf-8")
    argv = ["--embedders", "use", "--cache-dir", str(tmp_path / "cache"), "--doc", str(document)]
    with served(*argv, env={"GRADIO_TEMP_DIR": str(uploads)}) as (url, proc):
        uploaded = [_upload(url, name, document.read_bytes() + name.encode()) for name in ("a.md", "b.md")]
        assert all(Path(p).is_file() and Path(p).is_relative_to(uploads) for p in uploaded)
        proc.terminate()  # SIGTERM, as a service manager stops it
        assert proc.wait(30) == 0, proc.stdout.read() if proc.stdout else ""
    assert [p for p in uploads.rglob("*") if p.is_file()] == []


# -- clients that leave mid-answer ---------------------------------------------------------------
class SSEStream:
    """A raw event-stream request on its own socket, to be dropped before the answer arrives."""

    def __init__(self, url: str, path: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.head = self.sock.recv(65536).decode("utf-8", "replace")

    def drop(self, *, reset: bool) -> None:
        """Close the socket: an orderly FIN, or (``reset``) an abortive RST, as a crashed client would."""
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def _api_event(url: str, question: str) -> str:
    """Submit a ``/chat`` request over Gradio's plain HTTP API; returns the path of its result stream."""
    parts = urlsplit(url)
    event = json.loads(_http(parts, "POST", "/gradio_api/call/chat", {"data": [question, [], 5]}))["event_id"]
    return f"/gradio_api/call/chat/{event}"


def test_clients_that_leave_mid_answer_do_not_stop_the_others(chat_url, serial, fresh, capfd):
    """More clients than answering slots leave while held; once released, every slot serves others again."""
    leaving = CONCURRENCY + 2
    streams = []
    for i in range(leaving):
        question = f"{QUESTIONS[i % len(QUESTIONS)]} {HOLD}"
        if i % 2:  # half through the page's queue, half through the HTTP API
            streams.append(SSEStream(chat_url, _page_event(chat_url, question)[1]))
        else:
            streams.append(SSEStream(chat_url, _api_event(chat_url, question)))
    assert all(s.head.startswith("HTTP/1.1 200") for s in streams)
    fresh.wait_held(CONCURRENCY)  # every slot busy with a held answer, the rest waiting in the queue
    with ErrorRecords() as log:
        for i, stream in enumerate(streams):
            stream.drop(reset=bool(i % 3 == 0))
        time.sleep(0.5)
        fresh.release.set()
        started = time.monotonic()
        answers = _ask_all(chat_url, QUESTIONS * 2)
        elapsed = time.monotonic() - started
    assert answers == [serial[q] for q in QUESTIONS * 2]
    assert elapsed < 15, f"the others waited {elapsed:.1f} s"
    assert fresh.held <= leaving
    assert not log.records, log.messages()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception in ASGI application" not in err, err


def test_a_cancelled_client_job_mid_answer_leaves_the_server_serving(chat_url, serial, fresh, capfd):
    """``gradio_client``'s ``Job.cancel`` while the answer is being computed; that client asks again."""
    client = gradio_client.Client(chat_url, verbose=False)
    job = client.submit(f"駐韓美軍 {HOLD}", [], 5, api_name="/chat")
    fresh.wait_held(1)
    with ErrorRecords() as log:
        assert job.cancel()
        fresh.release.set()
        assert client.predict(QUESTIONS[0], [], 5, api_name="/chat") == serial[QUESTIONS[0]]
        assert _ask_all(chat_url, QUESTIONS) == [serial[q] for q in QUESTIONS]
    assert not log.records, log.messages()
    err = capfd.readouterr().err
    assert "Traceback" not in err, err


# -- a served index whose files change underneath ------------------------------------------------


def test_a_served_index_survives_every_file_of_it_being_cut_short(tmp_path):
    """The index files are read into memory, never mapped: cutting them short under a running
    ``qa serve`` (another process rebuilding, a careless ``truncate``) changes nothing it answers."""
    document = tmp_path / "chapter.txt"
    document.write_text(default_document_path().read_text("utf-8")[:12_000], "utf-8")
    common = ["--embedders", "use", "--cache-dir", str(tmp_path / "cache"), "--doc", str(document)]
    built = subprocess.run(
        [sys.executable, "-m", "qa", "index", *common],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert built.returncode == 0, built.stderr
    cache = tmp_path / "cache"
    question = "川金會在哪一天舉行？"
    with served(*common) as (url, proc):  # the server loads the index saved by the first run
        client = gradio_client.Client(url, verbose=False)
        before = client.predict(question, [], 5, api_name="/chat")
        cut = [p for p in (cache / "indexes").rglob("*") if p.is_file() and p.stat().st_size > 100]
        assert any(p.suffix == ".faiss" and p.name.startswith("sentence-dense") for p in cut)
        assert any(p.suffix == ".faiss" and p.name.startswith("dense") for p in cut)
        for path in cut:
            os.truncate(path, 100)
        after = [client.predict(question, [], 5, api_name="/chat") for _ in range(2)]
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
    assert after == [before, before]
