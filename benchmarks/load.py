"""Load on this machine: the chat server under 1, 8 and 32 concurrent clients.

    python benchmarks/load.py                                    # table on stdout
    python benchmarks/load.py --out benchmarks/results/load.md
    python benchmarks/load.py --cache-dir ~/.cache/peninsula-qa  # reuse a built index
    python benchmarks/load.py --clients 1,8,32,96 --requests 192

``qa serve`` runs in its own process on 127.0.0.1 and a free port (real models, default pipeline).
Once its index is ready, each level starts N clients together (threads), which share a bounded
number of ``/chat`` requests; the questions are ../shared/eval/dev.jsonl's, cycled (zh-Hant,
zh-Hans and en mixed). Each level runs twice: with ``gradio_client`` (one ``Client`` per thread)
and with plain HTTP (Gradio's ``/gradio_api/call/chat``), whose own cost is small, so the
server's share shows. A request is *held* when its answer is well formed and equal to the answer
the same question gets in-process; *rejected* when the queue was full; an *error* otherwise (an
exception, or a malformed or different answer). Beside it, one client asks each question
in-process (``Assistant.ask``, no server), over HTTP and through ``gradio_client`` in turn, so the
ratio shows what the server adds. Clients and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402
from gradio_client.utils import QueueError  # noqa: E402
from report import percentiles, publish  # noqa: E402

from qa import Assistant, Settings  # noqa: E402
from qa.evaluation import load_questions  # noqa: E402
from ui.app import ANSWERED_AT_ONCE, QUEUE_SIZE  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
K = 5
READY_TIMEOUT = 900
"""Seconds to wait for the server's first answer (a first build of the index included)."""
_ID = re.compile(r"^p[0-9a-f]{7,}$")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chat_shape(assistant: Assistant, question: str) -> dict:
    """The in-process answer shaped as ``/chat`` returns it (JSON, citations with ``section_path``)."""
    answer = assistant.ask(question, k=K)
    data = answer.to_dict()
    for citation, item in zip(answer.citations, data["citations"], strict=True):
        item["section_path"] = citation.section_path
    return json.loads(json.dumps(data))


def malformed(data: object, expected: dict) -> str | None:
    """Why a ``/chat`` result is not a valid answer (``None`` if it is)."""
    if not isinstance(data, dict) or not isinstance(data.get("citations"), list):
        return f"not an answer: {str(data)[:80]}"
    ids = [c.get("id") for c in data["citations"] if isinstance(c, dict)]
    if len(ids) != K or not all(isinstance(i, str) and _ID.match(i) for i in ids):
        return f"citations {ids}"
    if any(q.get("citation_id") not in ids for q in data.get("quotes", [])):
        return "a quote cites no returned passage"
    if data != expected:
        return "differs from the in-process answer"
    return None


class ChatServer:
    """``qa serve`` in a child process on 127.0.0.1; ``log`` is its combined output."""

    def __init__(self, cache: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            GRADIO_ANALYTICS_ENABLED="False",
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
        )
        command = [sys.executable, "-m", "ui", "serve", "--port", str(self.port), "--cache-dir", str(cache)]
        self._out = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(command, stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def wait_ready(self, question: str) -> float:
        """Seconds until the page is up and ``/chat`` answers (the index is built in the background)."""
        started = time.perf_counter()
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"qa serve did not come up:\n{self.log.read_text('utf-8')}") from None
                time.sleep(0.5)
        Client(self.url, verbose=False).submit(question, [], K, api_name="/chat").result(READY_TIMEOUT)
        return time.perf_counter() - started

    def errors_logged(self) -> list[str]:
        text = self.log.read_text("utf-8", "replace")
        return [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._out.close()


class Rejected(Exception):
    """The server's queue was full."""


class GradioCaller:
    """One ``gradio_client.Client``; ``ask`` returns the ``/chat`` result."""

    name = "gradio_client"

    def __init__(self, url: str) -> None:
        self.client = Client(url, verbose=False)

    def ask(self, question: str) -> Any:
        try:
            return self.client.predict(question, [], K, api_name="/chat")
        except QueueError as exc:
            raise Rejected(str(exc)) from None

    def close(self) -> None:
        self.client.close()


class HTTPCaller:
    """Gradio's plain HTTP API, as ``curl`` would call it: POST the request, then read its event stream.

    Each request opens its own connection (the server closes connections idle for 5 s, as a
    caller's may be while the others warm up).
    """

    name = "HTTP"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port

    def ask(self, question: str) -> Any:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=READY_TIMEOUT)
        try:
            return self._ask(conn, question)
        finally:
            conn.close()

    def _ask(self, conn: http.client.HTTPConnection, question: str) -> Any:
        body = json.dumps({"data": [question, [], K]})
        conn.request("POST", "/gradio_api/call/chat", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        text = response.read().decode("utf-8")
        if response.status == 503:
            raise Rejected(text)
        if response.status != 200:
            raise RuntimeError(f"POST {response.status}: {text[:120]}")
        conn.request("GET", f"/gradio_api/call/chat/{json.loads(text)['event_id']}")
        response = conn.getresponse()
        stream = response.read().decode("utf-8")
        event = None
        for line in stream.splitlines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event in {"complete", "error"}:
                data = json.loads(line[len("data: ") :])
                if event == "error":
                    raise RuntimeError(f"error event: {str(data)[:120]}")
                return data[0]
        raise RuntimeError(f"no result in the event stream: {stream[:120]}")

    def close(self) -> None:
        pass


CALLERS = {"gradio_client": GradioCaller, "http": HTTPCaller}


@dataclass
class Level:
    """One concurrency level's outcome."""

    transport: str
    clients: int
    requests: int = 0
    held: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0


class LoadRun:
    """``clients`` threads, each with its own caller, sharing ``requests`` ``/chat`` calls; one run()."""

    def __init__(
        self, url: str, questions: list[str], expected: dict[str, dict], clients: int, requests: int, transport: str
    ) -> None:
        if clients < 1 or requests < clients:
            raise ValueError("need at least one client and one request per client")
        if transport not in CALLERS:
            raise ValueError(f"transport must be one of {', '.join(CALLERS)}")
        self.caller = CALLERS[transport]
        self.url = url
        self.questions = questions
        self.expected = expected
        self.clients = clients
        self.each = requests // clients
        self._lock = threading.Lock()

    def run(self) -> Level:
        level = Level(self.caller.name, self.clients)
        clients = [self.caller(self.url) for _ in range(self.clients)]
        for n, client in enumerate(clients):  # one untimed request each: connections and sessions warm
            client.ask(self.questions[n % len(self.questions)])
        start = threading.Barrier(self.clients + 1)

        def drive(n: int) -> None:
            start.wait()
            for i in range(self.each):
                question = self.questions[(n * self.each + i) % len(self.questions)]
                t = time.perf_counter()
                try:
                    data = clients[n].ask(question)
                except Rejected:
                    self._count(level, "rejected")
                    continue
                except Exception as exc:  # every failure is counted; none stops the run
                    self._count(level, f"{type(exc).__name__}: {str(exc)[:120]}")
                    continue
                elapsed = 1000 * (time.perf_counter() - t)
                self._count(level, malformed(data, self.expected[question]), elapsed)

        with ThreadPoolExecutor(self.clients) as pool:
            futures = [pool.submit(drive, n) for n in range(self.clients)]
            start.wait()
            t = time.perf_counter()
            for future in futures:
                future.result()
            level.wall_s = time.perf_counter() - t
        for client in clients:
            client.close()
        return level

    def _count(self, level: Level, problem: str | None, latency_ms: float | None = None) -> None:
        with self._lock:
            level.requests += 1
            if problem == "rejected":
                level.rejected += 1
            elif problem is not None:
                level.errors.append(problem)
            else:
                level.held += 1
                assert latency_ms is not None
                level.latencies_ms.append(latency_ms)


@dataclass
class Overhead:
    """One client, each question asked in-process, then over HTTP, then through ``gradio_client``, in
    turn: the three see the same load on the machine, so their ratio holds while the load drifts."""

    in_process_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    gradio_client_ms: list[float] = field(default_factory=list)

    @classmethod
    def measure(cls, assistant: Assistant, url: str, questions: list[str], rounds: int = 2) -> Overhead:
        out = cls()
        http_caller, gradio_caller = HTTPCaller(url), GradioCaller(url)
        for q in questions[:5]:  # warm all three
            assistant.ask(q, k=K), http_caller.ask(q), gradio_caller.ask(q)
        for _ in range(rounds):
            for q in questions:
                for times, ask in (
                    (out.in_process_ms, lambda q=q: assistant.ask(q, k=K)),
                    (out.http_ms, lambda q=q: http_caller.ask(q)),
                    (out.gradio_client_ms, lambda q=q: gradio_caller.ask(q)),
                ):
                    t = time.perf_counter()
                    ask()
                    times.append(1000 * (time.perf_counter() - t))
        gradio_caller.close()
        return out

    def lines(self) -> list[str]:
        r50, r95 = percentiles(self.in_process_ms)
        rows = [
            "| in-process `Assistant.ask` (no server) | " + f"{r50:.0f} ms | {r95:.0f} ms | 1.0× |",
        ]
        for name, times in (("HTTP", self.http_ms), ("gradio_client", self.gradio_client_ms)):
            p50, p95 = percentiles(times)
            rows.append(f"| {name} to the server | {p50:.0f} ms | {p95:.0f} ms | {p50 / r50:.1f}× |")
        return [
            f"Beside it, one client, each question asked in-process, over HTTP and through `gradio_client` in turn "
            f"({len(self.in_process_ms)} each), so the three share the machine's load:",
            "",
            "| one request | p50 | p95 | p50 / in-process p50 |",
            "|---|---|---|---|",
            *rows,
        ]


def table(levels: list[Level], overhead: Overhead, ready_s: float, server_errors: list[str], command: str) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"# Load, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores (load average {load})",
        "",
        f"`{command}`: `qa serve` (real models, default pipeline; queue: {ANSWERED_AT_ONCE} answered at once,",
        f"up to {QUEUE_SIZE} waiting) in its own process; N clients in threads of another process, sending",
        "`/chat` requests together, through `gradio_client` or plain HTTP (`/gradio_api/call/chat`). *held*:",
        "a well-formed answer equal to the in-process answer to the same question; *rejected*: the queue was",
        "full. Latency per request, as the client sees it.",
        "",
        "| client | concurrent clients | requests | held | errors | rejected | p50 | p95 | throughput |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for lv in levels:
        p50, p95 = percentiles(lv.latencies_ms) if lv.latencies_ms else (float("nan"), float("nan"))
        cells = [
            lv.transport,
            str(lv.clients),
            str(lv.requests),
            str(lv.held),
            str(len(lv.errors)),
            str(lv.rejected),
            f"{p50:.0f} ms",
            f"{p95:.0f} ms",
            f"{lv.held / lv.wall_s:.1f} req/s",
        ]
        lines.append(f"| {' | '.join(cells)} |")
    lines += [
        "",
        *overhead.lines(),
        "",
        f"Server up and first answer (index loaded or built) after {ready_s:.1f} s; "
        f"errors in the server's log: {len(server_errors)}.",
        "",
        "With more clients, latency is mostly time in the queue: every answer shares the same cores. Each",
        "`gradio_client` call also polls its event stream (50 ms steps), which plain HTTP does not. Beyond "
        f"{ANSWERED_AT_ONCE + QUEUE_SIZE} requests in flight the",
        'queue refuses the rest at once (*rejected*, HTTP 503 "Queue is full").',
    ]
    if any(lv.errors for lv in levels) or server_errors:
        lines += ["", "Errors:"]
    for lv in levels:
        for problem in sorted(set(lv.errors)):
            lines.append(f"- {lv.transport}, {lv.clients} clients: {lv.errors.count(problem)} × {problem}")
    lines += [f"- server log: {line}" for line in server_errors[:10]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown here")
    parser.add_argument("--cache-dir", type=Path, help="the index cache (default: a new temporary directory)")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated (default 1,8,32)")
    parser.add_argument("--requests", type=int, default=192, help="requests per level (default 192)")
    parser.add_argument(
        "--transport", choices=[*CALLERS, "both"], default="both", help="how clients call /chat (default both)"
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    if any(n < 1 or n > args.requests for n in levels):
        parser.error("each level needs between 1 and --requests clients")
    questions = [q.question for q in load_questions(EVAL / "dev.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or Path(tmp) / "cache"
        server = ChatServer(cache, Path(tmp) / "server.log")
        try:
            ready_s = server.wait_ready(questions[0])
            assistant = Assistant(settings=Settings(cache_dir=cache, progress=False))
            expected = {q: chat_shape(assistant, q) for q in questions}
            overhead = Overhead.measure(assistant, server.url, questions)
            results = []
            transports = list(CALLERS) if args.transport == "both" else [args.transport]
            for transport in transports:
                for n in levels:
                    level = LoadRun(server.url, questions, expected, n, args.requests, transport).run()
                    results.append(level)
                    print(f"{transport}, {n} clients: {level.held}/{level.requests} held", file=sys.stderr)
            server_errors = server.errors_logged()
        finally:
            server.stop()
    command = f"python benchmarks/load.py --clients {args.clients} --requests {args.requests}"
    publish(table(results, overhead, ready_s, server_errors, command), args.out)


if __name__ == "__main__":
    main()
