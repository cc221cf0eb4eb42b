"""README.md, CONTRIBUTING.md and docs/ cannot drift from the code: every Python block runs as written,
every figure in a table that links a results file is in that file, every relative link leads to a
file, and README's test command is the one CI runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
"""Every page a reader is sent to."""
README_MAX_BYTES = 10_240
CHAT_URL = "http://127.0.0.1:7860/"
"""The address the chat's examples use; the test sends them to a chat it starts on a free port."""

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_NAMED_FILE = re.compile(r"""["']([\w-]+\.(?:md|txt|html|docx|pdf))["']""")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_NUMBER = re.compile(r"(?<![\w.@^])\d+(?:[.,/]\d+)*(?![\w])")


def blocks(page: Path, language: str) -> list[str]:
    """The fenced code blocks of ``page`` in ``language``, in order."""
    return [code for lang, code in _FENCE.findall(page.read_text("utf-8")) if lang == language]


def named_files(code: str) -> list[str]:
    """The document files a block names as string literals (``"report.md"``)."""
    return sorted(set(_NAMED_FILE.findall(code)))


def write_named_file(path: Path) -> None:
    """A small document of the type ``path``'s suffix says, about a budget, named after its stem."""
    stem, suffix = path.stem, path.suffix
    if suffix == ".md":
        path.write_text(
            f"# {stem.title()}: annual report\n\n## Budget\n\nThe board decided to raise the research budget "
            "to 4.3 million dollars in 2025.\n\n## Staff\n\nThe institute employs 25 researchers.\n",
            "utf-8",
        )
    elif suffix == ".txt":
        path.write_text(f"{stem.title()}\n\nThe meeting on 3 March agreed to hire two engineers.\n", "utf-8")
    elif suffix == ".html":
        path.write_text(
            f"<html><head><title>{stem.title()}</title></head><body><h1>{stem.title()}</h1>"
            "<p>The harbour bridge was repainted in 2024.</p></body></html>",
            "utf-8",
        )
    elif suffix == ".docx":
        from test_formats import write_docx

        write_docx(path)
    elif suffix == ".pdf":
        from test_formats import write_english_pdf

        write_english_pdf(path)
    else:  # pragma: no cover - _NAMED_FILE allows no other suffix
        raise ValueError(path)


def _pages_with_python() -> list[Path]:
    return [page for page in PAGES if blocks(page, "python")]


# -- fast checks -------------------------------------------------------------------------------
def test_readme_is_short():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size:,} bytes; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_compiles(page):
    for n, code in enumerate(blocks(page, "python"), start=1):
        compile(code, f"{page.name}, python block {n}", "exec")


def test_the_pages_have_python_blocks_to_run():
    assert {p.name for p in _pages_with_python()} >= {"README.md", "library.md", "chat.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(page):
    missing = []
    for _, target in _LINK.findall(page.read_text("utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (page.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert missing == []


def figures(row: str) -> list[str]:
    """The numbers a table row quotes, links and names like ``hit@1``, ``p50``, ``e5`` left out."""
    return _NUMBER.findall(_LINK.sub(" ", row))


def quoted_rows(page: Path) -> list[tuple[str, Path]]:
    """The table rows of ``page`` that link a file of benchmarks/results/, with that file."""
    rows = []
    for line in page.read_text("utf-8").splitlines():
        if not line.startswith("|"):
            continue
        targets = [t for _, t in _LINK.findall(line) if "benchmarks/results/" in t]
        rows += [(line, (page.parent / target).resolve()) for target in targets]
    return rows


def test_figures_are_found_by_what_they_look_like():
    row = "| hit@1, XQuAD (e5) p50 | 0.878 / 3/4, 1,826 ms, 19.0 s | [quality](benchmarks/results/quality.md) |"
    assert figures(row) == ["0.878", "3/4", "1,826", "19.0"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_figures_in_tables_are_in_the_results_they_link(page):
    wrong = []
    for row, results in quoted_rows(page):
        text = results.read_text("utf-8")
        wrong += [f"{n} (not in {results.name}): {row}" for n in figures(row) if not _occurs(n, text)]
    assert wrong == []


def _occurs(number: str, text: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text) is not None


HEADLINES = {
    "hit@1 / answer hit, dev.jsonl": [
        ("quality.md", "| overall | 47 |", 2),
        ("quality.md", "| overall | 47 |", 5),
        ("quality.md", "| en | 18 |", 2),
        ("quality.md", "| en | 18 |", 5),
    ],
    "hit@1, the project's own": [
        ("quality.md", "| overall | 60 |", 2),
        ("quality.md", "| overall | 54 |", 2),
        ("quality.md", "| overall | 84 |", 2),
    ],
    "unanswerable questions refused": [
        ("other_collection.md", "| the chapter, default |", 1),
        ("other_collection.md", "| the chapter, default |", 4),
    ],
    "hit@1 on held-out folds": [
        ("fit.md", "| XQuAD a, English questions | 632 | fitted score fusion", 3),
        ("fit.md", "| DRCD dev | 3524 | fitted score fusion", 3),
        ("fit.md", "| CMRC 2018 trial | 1000 | fitted score fusion", 3),
    ],
    "first build; cold": [
        ("speed.md", "| first build of the chapter's index", 1),
        ("speed.md", "| cold `qa ask`", 1),
        ("speed.md", "| warm `Assistant.ask`", 1),
    ],
    "32 concurrent chat clients": [
        ("load.md", "| gradio_client | 32 |", 3),
        ("load.md", "| gradio_client | 32 |", 2),
        ("load.md", "| gradio_client | 32 |", 6),
    ],
}
"""README's headline rows, by the start of their label, and where each of their figures is: the
results file, the start of its line there (the first line that starts so) and the column."""


def results_cell(name: str, line_start: str, column: int) -> str:
    """The first figure of a cell of ``benchmarks/results/<name>``."""
    text = (ROOT / "benchmarks" / "results" / name).read_text("utf-8")
    line = next(line for line in text.splitlines() if line.startswith(line_start))
    return figures(line.strip().strip("|").split("|")[column])[0]


def test_readme_headline_figures_are_the_results_figures():
    """Each headline row quotes exactly the figures of the results lines it stands for."""
    rows = [line for line in README.read_text("utf-8").splitlines() if line.startswith("| ")]
    for label, places in HEADLINES.items():
        [row] = [r for r in rows if r.startswith(f"| {label}")]
        values = "|".join(row.strip().strip("|").split("|")[1:-1])  # between the label and the link
        assert sorted(figures(values)) == sorted(results_cell(*place) for place in places), row
    headline = README.read_text("utf-8").split("## Headline figures")[1].split("##")[0]
    assert len([line for line in headline.splitlines() if line.startswith("| ")]) == len(HEADLINES) + 2


def test_readme_known_limits_quote_the_quality_results():
    """Each figure of the known limits is in quality.md or in a results file the limits link to."""
    limits = README.read_text("utf-8").split("## Known limits")[1].split("\n## ")[0]
    linked = re.findall(r"\]\((benchmarks/results/[^)#]+\.md)", limits)
    results = "\n".join((ROOT / name).read_text("utf-8") for name in ["benchmarks/results/quality.md", *linked])
    quoted = figures(limits)
    assert quoted and [n for n in quoted if not _occurs(n, results)] == []


def test_readme_test_command_is_the_one_ci_runs():
    readme = README.read_text("utf-8")
    section = readme[readme.index("## Install and test") :]
    command = blocks_in(section, "bash")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    steps = [part.strip() for part in command.split("&&")]
    assert steps[-1] == "python -m pytest" and "python -m pytest" in ci
    for step in steps[:-1]:  # each install, with the same packages, is a line of CI's
        assert any(line.endswith(step.removeprefix("pip install ")) and "pip install" in line for line in ci), step


def blocks_in(text: str, language: str) -> list[str]:
    return [code for lang, code in _FENCE.findall(text) if lang == language]


# -- the blocks, run ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("page", _pages_with_python(), ids=lambda p: p.name)
def test_python_blocks_run_as_written(page, tmp_path, monkeypatch, request, real_assistant, real_cache_dir):
    """Each block in a namespace of its own, in order, in a folder holding the files the page's
    blocks name; the default cache directory is a copy of the session's, so the chapter's index is
    loaded, not built again."""
    shutil.copytree(real_cache_dir, tmp_path / "cache" / "peninsula-qa")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    codes = blocks(page, "python")
    for name in named_files("\n".join(codes)):
        write_named_file(work / name)
    for n, code in enumerate(codes, start=1):
        if CHAT_URL in code:
            code = code.replace(CHAT_URL, request.getfixturevalue("real_chat_url"))
        exec(compile(code, f"{page.name}, python block {n}", "exec"), {"__name__": "__main__"})
