"""The ``qa`` command: ask, search, cite, index and eval from a terminal or a script.

Each command is a :class:`Command`: the options it adds to the parser and one small function that
runs it; :mod:`qa.terminal` prints. The installed ``qa`` is :mod:`ui.cli`, which adds ``serve`` (the
chat) to these commands; ``python -m qa`` runs them without it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from corpus.errors import CorpusError
from index.errors import IndexBuildError
from qa import terminal
from qa.collection import DEFAULT_COLLECTION
from qa.config import Settings
from qa.errors import QAError

ADD_HELP = (
    "Copy the files into the collection (so it keeps working if they move), index them, and print each "
    "document's id. All or nothing: if one file cannot be read, none is added. The same content again is "
    "the document already there; a different file whose name gives an id already taken gets -2, -3 …"
)


@dataclass(frozen=True)
class Command:
    """A subcommand of ``qa``: ``options`` adds its arguments to its parser, ``run`` does it and
    returns the exit status. ``only``: it takes ``--only DOC_ID``."""

    name: str
    help: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]
    only: bool = False


# -- the commands ------------------------------------------------------------------------------
def _ask_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question", nargs="*", help="one or more questions")
    parser.add_argument(
        "--file", type=Path, metavar="PATH", help="also ask each line of this UTF-8 file ('-' reads standard input)"
    )
    parser.add_argument("-k", type=int, default=5, help="how many passages to cite (default 5)")


def ask(args: argparse.Namespace, settings: Settings) -> int:
    """``qa ask``: answer each question with its cited passages (several are embedded in batches)."""
    assistant = _assistant(args, settings)
    questions = _questions(args)
    if len(questions) > 1:
        answers = assistant.ask_many(questions, k=args.k, documents=args.only)
    else:
        answers = [assistant.ask(questions[0], k=args.k, documents=args.only)]
    if args.json:
        terminal.print_json(answers[0].to_dict() if len(answers) == 1 else [a.to_dict() for a in answers])
    else:
        terminal.show_answers(terminal.console(), answers, several=len(assistant.documents) > 1)
    return 0


def _search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query")
    parser.add_argument("-k", type=int, default=10, help="how many passages (default 10)")


def search(args: argparse.Namespace, settings: Settings) -> int:
    """``qa search``: the best passages for a query, best first."""
    assistant = _assistant(args, settings)
    results = assistant.search(args.query, k=args.k, documents=args.only)
    notice = assistant.notice(args.query)
    if notice:
        print(f"qa: note: {notice}", file=sys.stderr)
    if args.json:
        terminal.print_json([c.to_dict() for c in results])
    else:
        terminal.show_passages(terminal.console(), results, several=len(assistant.documents) > 1)
    return 0


def _cite_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id")
    parser.add_argument("-k", type=int, default=200, help="characters of context on each side (default 200)")


def cite(args: argparse.Namespace, settings: Settings) -> int:
    """``qa cite``: a passage in place, by its citation id."""
    context = _assistant(args, settings).context(args.id, chars=max(0, args.k))
    if args.json:
        terminal.print_json(context.to_dict())
    else:
        terminal.show_context(terminal.console(), context)
    return 0


def _index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if a cached index exists")
    parser.add_argument("-k", type=int, default=0, help="also list the first k passages")
    actions = parser.add_subparsers(dest="action", metavar="{add,remove,list}")
    nested = _common(nested=True)
    add = actions.add_parser(
        "add", parents=[nested], help="add documents to a collection and index them", description=ADD_HELP
    )
    add.add_argument("paths", nargs="+", metavar="PATH", help="files to add")
    remove = actions.add_parser("remove", parents=[nested], help="remove documents from a collection, by id")
    remove.add_argument("ids", nargs="+", metavar="DOC_ID", help="ids as qa index list shows them")
    actions.add_parser("list", parents=[nested], help="list the documents of a collection")


def index(args: argparse.Namespace, settings: Settings) -> int:
    """``qa index``: build the index if needed and show what it holds; ``add``, ``remove`` and
    ``list`` change or show a collection."""
    if args.action is not None:
        if args.doc:
            raise ValueError(f"--doc cannot be used with qa index {args.action}; give the files to qa index add")
        return INDEX_ACTIONS[args.action](args, settings)
    assistant = _assistant(args, settings, rebuild=args.rebuild)
    manifest, passages = assistant.index.manifest, assistant.passages
    info = {
        "key": assistant.index.key,
        "built_now": assistant.index_built,
        "directory": str(settings.cache_dir / "indexes" / assistant.index.key)
        if settings.cache_dir and settings.store == "faiss"
        else assistant.index.manifest.get("store"),
        "documents": manifest["documents"],
        "embedders": manifest["embedders"],
        "splitter": manifest["splitter"],
        "passages": len(passages),
        "mean_passage_chars": round(sum(len(p.text) for p in passages) / max(1, len(passages)), 1),
    }
    first = passages[: max(0, args.k)]
    if args.json:
        terminal.print_json(dict(info, first_passages=[p.to_dict() for p in first]))
        return 0
    out = terminal.console()
    terminal.show_index(out, info)
    terminal.show_passages(out, first, several=len(assistant.documents) > 1)
    return 0


def index_add(args: argparse.Namespace, settings: Settings) -> int:
    """``qa index add``: copy files into a collection and index it at once, so the next ask is quick."""
    from qa.assistant import Assistant
    from qa.progress import terminal_progress

    collection = _collection(args, settings)
    with terminal_progress(settings.progress) as line:  # one line from reading the files to the index
        reported = collection.add_reporting(args.paths, progress=line)  # new or not is decided under the lock
        assistant = Assistant(settings=settings, collection=collection, progress=line)
    passages = {d.id: d.passages for d in assistant.indexed_documents()}
    rows = [dict(e.to_dict(), passages=passages.get(e.id, 0), new=new) for e, new in reported]
    total = len(assistant.index.passages)
    if getattr(args, "json", False):
        terminal.print_json({"collection": collection.name, "documents": rows, "passages": total})
    else:
        terminal.show_added(terminal.console(), collection.name, rows, len(assistant.documents), total)
    return 0


def index_remove(args: argparse.Namespace, settings: Settings) -> int:
    """``qa index remove``: remove documents from a collection, by id."""
    collection = _collection(args, settings)
    removed = collection.remove(args.ids)
    if getattr(args, "json", False):
        terminal.print_json({"collection": collection.name, "removed": [e.to_dict() for e in removed]})
    else:
        terminal.show_removed(terminal.console(), removed)
    return 0


def index_list(args: argparse.Namespace, settings: Settings) -> int:
    """``qa index list``: the documents of a collection and the names of the others."""
    from qa.collection import Collection

    collection = _collection(args, settings)
    if not collection.exists and collection.name != DEFAULT_COLLECTION:
        collection.documents()  # raises: no such collection, naming the ones there are
    entries, names = collection.entries(), Collection.names(settings)
    if getattr(args, "json", False):
        terminal.print_json(
            {"collection": collection.name, "documents": [e.to_dict() for e in entries], "collections": names}
        )
    else:
        others = [n for n in names if n != collection.name]
        terminal.show_entries(terminal.console(), collection.name, entries, others)
    return 0


INDEX_ACTIONS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "add": index_add,
    "remove": index_remove,
    "list": index_list,
}


def _eval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "questions", type=Path, help="a JSONL question set like dev.jsonl (with --drcd: a DRCD JSON file)"
    )
    parser.add_argument("-k", type=int, default=10, help="passages per question, at least 10 (default 10)")
    parser.add_argument("--drcd", action="store_true", help="QUESTIONS is a DRCD/SQuAD file: index its paragraphs")
    parser.add_argument("--sample", type=int, help="score this many questions drawn at random (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for --sample (default 0)")
    parser.add_argument("--misses", action="store_true", help="also list the questions with no hit in the top 5")


def evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """``qa eval``: score retrieval and answers on a question set, or on DRCD with ``--drcd``."""
    from qa.assistant import Assistant
    from qa.evaluation import DrcdEvaluator, QuestionSetEvaluator, load_drcd, load_questions

    report: Any
    if args.drcd:
        for given, option in ((args.doc, "--doc"), (args.collection, "--collection")):
            if given is not None:
                raise ValueError(f"{option} cannot be used with --drcd: the DRCD file brings its own documents")
        documents, drcd_questions = load_drcd(args.questions)
        drcd = DrcdEvaluator(Assistant(documents, settings), k=args.k)
        report = drcd.run(drcd_questions, sample=args.sample, seed=args.seed)
    else:
        questions = load_questions(args.questions)
        evaluator = QuestionSetEvaluator(_assistant(args, settings), k=args.k)
        report = evaluator.run(questions, sample=args.sample, seed=args.seed)
    if args.json:
        data = report.to_dict()
        if args.misses:
            data["misses"] = [r.id for r in report.misses()]
        terminal.print_json(data)
        return 0
    print(report.markdown())
    if args.misses:
        print()
        print(report.misses_markdown())
    return 0


COMMANDS: tuple[Command, ...] = (
    Command("ask", "answer a question with cited passages", _ask_options, ask, only=True),
    Command("search", "list the passages that best match a query", _search_options, search, only=True),
    Command("cite", "show a cited passage in place, by its id", _cite_options, cite),
    Command(
        "index",
        "build the index (if needed) and show what it holds; add, remove or list documents of a collection",
        _index_options,
        index,
    ),
    Command("eval", "score retrieval and answers on a question set (or DRCD)", _eval_options, evaluate),
)
"""The commands of ``python -m qa``; the installed ``qa`` adds ``serve`` (see :mod:`ui.cli`)."""


# -- the parser, and what the commands share ---------------------------------------------------
def _common(*, nested: bool = False) -> argparse.ArgumentParser:
    """The options every command takes. ``nested``: for ``qa index add/remove/list``, whose options
    must not reset what was given before the subcommand (``qa index --json list``)."""
    keep = {"default": argparse.SUPPRESS} if nested else {}
    common = argparse.ArgumentParser(add_help=False)
    if not nested:
        common.add_argument(
            "--doc",
            action="append",
            metavar="PATH",
            help="a .pdf, .docx, .html, .md or UTF-8 .txt document to use instead of the bundled chapter (repeatable)",
        )
    common.add_argument(
        "--collection",
        metavar="NAME",
        help=f"the collection (default: {DEFAULT_COLLECTION!r})"
        if nested
        else "use this collection of your documents instead of the bundled chapter (see qa index add)",
        **keep,
    )
    common.add_argument("--cache-dir", type=Path, help="where indexes are kept (default: the per-user cache)", **keep)
    common.add_argument(
        "--embedders",
        help="comma-separated embedders: e5, use, st:<sentence-transformers model or path> (default: e5,use)",
        **keep,
    )
    common.add_argument(
        "--store",
        metavar="STORE",
        help="where the index lives: faiss (default), milvus or milvus:PATH.db (embedded Milvus Lite), "
        "milvus://HOST:PORT (a Milvus server; login from PENINSULA_QA_MILVUS_TOKEN)",
        **keep,
    )
    common.add_argument("--json", action="store_true", help="print JSON for scripts", **keep)
    return common


def parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    """The ``qa`` parser with ``commands``, each taking the common options."""
    common = _common()
    only = argparse.ArgumentParser(add_help=False)
    only.add_argument(
        "--only", action="append", metavar="DOC_ID", help="search only this document (repeatable; see qa index list)"
    )
    top = argparse.ArgumentParser(
        prog="qa", description="Cited-passage answers from the Korean-Peninsula security chapter (or your documents)."
    )
    sub = top.add_subparsers(dest="command", required=True)
    for command in commands:
        parents = [common, only] if command.only else [common]
        command.options(sub.add_parser(command.name, parents=parents, help=command.help))
    return top


def _settings(args: argparse.Namespace) -> Settings:
    """The settings the parsed options ask for."""
    settings = Settings()
    if args.cache_dir is not None:
        settings = replace(settings, cache_dir=args.cache_dir)
    if args.embedders:
        embedders = tuple(e.strip() for e in args.embedders.split(",") if e.strip())
        settings = replace(settings, index=replace(settings.index, embedders=embedders))
    if getattr(args, "store", None) is not None:
        settings = replace(settings, store=args.store)
    return settings


def _assistant(args: argparse.Namespace, settings: Settings, **kwargs: Any) -> Any:
    """The assistant over ``--doc`` files, a ``--collection``, or the bundled chapter."""
    from qa.assistant import Assistant

    if args.doc and args.collection is not None:
        raise ValueError("give --doc or --collection, not both")
    if args.doc:
        return Assistant.from_paths(args.doc, settings, **kwargs)
    return Assistant(settings=settings, collection=args.collection, **kwargs)


def _collection(args: argparse.Namespace, settings: Settings) -> Any:
    """The collection ``qa index add/remove/list`` work on (``default`` without ``--collection``)."""
    from qa.collection import Collection

    return Collection(getattr(args, "collection", None) or DEFAULT_COLLECTION, settings)


def _questions(args: argparse.Namespace) -> list[str]:
    """The questions given on the command line, then the lines of ``--file``."""
    questions = list(args.question)
    if args.file is not None:
        try:
            text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{args.file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        questions += [line.strip() for line in text.splitlines() if line.strip()]
    if not questions:
        raise ValueError("give a question, or --file with one question per line")
    return questions


def main(argv: Sequence[str] | None = None, commands: Sequence[Command] = COMMANDS) -> int:
    """Run the command; errors become one line on stderr (with ``--json``: one JSON object
    ``{"error": …, "type": …}`` on stdout) and a non-zero exit."""
    args = parser(commands).parse_args(argv)
    run = {command.name: command.run for command in commands}[args.command]
    as_json = bool(getattr(args, "json", False))
    try:
        return run(args, _settings(args))
    except (QAError, CorpusError, IndexBuildError, OSError, ValueError) as exc:
        terminal.print_error(str(exc), as_json=as_json, type=type(exc).__name__)
        return 1
    except ImportError as exc:  # a dependency without a message of ours
        message = f"{exc}; reinstall peninsula-qa's dependencies: pip install peninsula-qa"
        terminal.print_error(message, as_json=as_json, type=type(exc).__name__)
        return 1
    except KeyboardInterrupt:
        if as_json:
            terminal.print_error("interrupted", as_json=True, type="KeyboardInterrupt")
        else:
            print("qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
