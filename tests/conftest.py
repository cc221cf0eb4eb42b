"""Shared fixtures: the chapter, a deterministic fake embedder, and the real models loaded once."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import pytest

from corpus import Document, load_default_document
from index.tokenize import tokenize

IN_CI = bool(os.environ.get("CI"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
EVAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "eval"


def require_module(name: str, install: str) -> None:
    """Skip on a developer machine without ``name``; fail in CI, where everything must be installed."""
    if importlib.util.find_spec(name) is None:
        message = f"{name} is not installed: {install}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


class FakeHashEmbedder:
    """Test double for an embedding model: hashed bag of tokens, deterministic and instant.

    Stands in for the real models where the model is beside the point (persistence, caching,
    the command line). ``calls`` counts embedded texts so tests can see what was re-embedded.
    """

    def __init__(self, dim: int = 64, name: str = "fake/hash-64") -> None:
        self.name = name
        self._dim = dim
        self.calls = 0

    @property
    def dim(self) -> int:
        return self._dim

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in tokenize(text):
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little")
                out[i, h % self._dim] += 1.0
            out[i, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)


@pytest.fixture(scope="session")
def chapter() -> Document:
    return load_default_document()


@pytest.fixture
def fake_embedder() -> FakeHashEmbedder:
    return FakeHashEmbedder()


@pytest.fixture(scope="session")
def real_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qa-cache")


@pytest.fixture(scope="session")
def real_assistant(real_cache_dir: Path):  # type: ignore[no-untyped-def]
    """The default pipeline with the real bundled models, built once per session."""
    from qa import Assistant, Settings

    return Assistant(settings=Settings(cache_dir=real_cache_dir, progress=False))


@pytest.fixture(scope="session")
def dev_questions() -> list[dict]:
    import json

    path = EVAL_DIR / "dev.jsonl"
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing: CI must run beside ../shared/eval")
        pytest.skip(f"{path} is missing")
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# -- the chat app: launched servers and a headless browser ---------------------------------
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("PQA_ARTIFACTS", ROOT / "tests" / "artifacts"))
"""Where browser tests save their screenshots."""
CHROMIUM = Path(os.environ.get("PQA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Launch a ``ui.app.ChatApp`` on 127.0.0.1 and a free port; yield its URL; close it."""
    url = app.launch("127.0.0.1", free_port(), block=False, quiet=True)
    try:
        yield url
    finally:
        app.blocks.close()


@pytest.fixture(scope="session")
def real_chat_url(real_assistant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The chat over the real models, launched once per session."""
    from ui.app import create_app

    with running(create_app(assistant=real_assistant)) as url:
        yield url


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's headless Chromium driven by Playwright (skips on a developer machine without it)."""
    require_module("playwright", "pip install playwright (the browser itself comes from the system)")
    if not CHROMIUM.exists():
        message = (
            f"no Chromium at {CHROMIUM}: install it (Debian/Ubuntu: sudo apt-get install chromium) "
            "or point PQA_CHROMIUM at a Chromium binary"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def served(*argv: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``qa serve ARGV…`` in a new process on a free port; yields its URL and the process, then stops it."""
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT), **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui", "serve", "--port", str(port), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"qa serve did not come up: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        with suppress(subprocess.TimeoutExpired):
            proc.wait(30)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def open_chat(browser, url: str, width: int, height: int, timeout: int):  # type: ignore[no-untyped-def]
    """A new browser context on the chat at ``url``, once it is ready: ``(context, page, errors)``,
    ``errors`` collecting the page's JavaScript errors."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("#pqa-question textarea")
    page.wait_for_function("document.querySelector('#pqa-status')?.innerText.includes('Ready')")
    return context, page, errors
