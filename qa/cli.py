"""The ``qa`` command: ask, search, cite and index from a terminal or a script."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from corpus.errors import CorpusError
from index.errors import IndexBuildError
from qa.collection import DEFAULT_COLLECTION
from qa.config import Settings
from qa.errors import QAError

AUTH_VARIABLE = "PENINSULA_QA_AUTH"
ADD_HELP = (
    "Copy the files into the collection (so it keeps working if they move), index them, and print each "
    "document's id. All or nothing: if one file cannot be read, none is added. The same content again is "
    "the document already there; a different file whose name gives an id already taken gets -2, -3 …"
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``"user:password"`` → ``("user", "password")``; ``None`` or empty → no login."""
    if value is None or not value.strip():
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise ValueError(f"the login must look like USER:PASSWORD (from --auth or {AUTH_VARIABLE})")
    return user.strip(), password


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


def _parser() -> argparse.ArgumentParser:
    common = _common()
    only = argparse.ArgumentParser(add_help=False)
    only.add_argument(
        "--only", action="append", metavar="DOC_ID", help="search only this document (repeatable; see qa index list)"
    )

    parser = argparse.ArgumentParser(
        prog="qa", description="Cited-passage answers from the Korean-Peninsula security chapter (or your documents)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", parents=[common, only], help="answer a question with cited passages")
    ask.add_argument("question", nargs="*", help="one or more questions")
    ask.add_argument(
        "--file", type=Path, metavar="PATH", help="also ask each line of this UTF-8 file ('-' reads standard input)"
    )
    ask.add_argument("-k", type=int, default=5, help="how many passages to cite (default 5)")
    search = sub.add_parser("search", parents=[common, only], help="list the passages that best match a query")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="how many passages (default 10)")
    cite = sub.add_parser("cite", parents=[common], help="show a cited passage in place, by its id")
    cite.add_argument("id")
    cite.add_argument("-k", type=int, default=200, help="characters of context on each side (default 200)")
    index = sub.add_parser(
        "index",
        parents=[common],
        help="build the index (if needed) and show what it holds; add, remove or list documents of a collection",
    )
    index.add_argument("--rebuild", action="store_true", help="rebuild even if a cached index exists")
    index.add_argument("-k", type=int, default=0, help="also list the first k passages")
    actions = index.add_subparsers(dest="action", metavar="{add,remove,list}")
    nested = _common(nested=True)
    add = actions.add_parser(
        "add", parents=[nested], help="add documents to a collection and index them", description=ADD_HELP
    )
    add.add_argument("paths", nargs="+", metavar="PATH", help="files to add")
    remove = actions.add_parser("remove", parents=[nested], help="remove documents from a collection, by id")
    remove.add_argument("ids", nargs="+", metavar="DOC_ID", help="ids as qa index list shows them")
    actions.add_parser("list", parents=[nested], help="list the documents of a collection")
    serve = sub.add_parser("serve", parents=[common], help="start the chat in a web page (Gradio)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    serve.add_argument("--share", action="store_true", help="also open a public Gradio share link (off by default)")
    serve.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help=f"ask for this login before the chat opens (or set {AUTH_VARIABLE}; the variable keeps the "
        "password out of the process list)",
    )
    ev = sub.add_parser("eval", parents=[common], help="score retrieval and answers on a question set (or DRCD)")
    ev.add_argument("questions", type=Path, help="a JSONL question set like dev.jsonl (with --drcd: a DRCD JSON file)")
    ev.add_argument("-k", type=int, default=10, help="passages per question, at least 10 (default 10)")
    ev.add_argument("--drcd", action="store_true", help="QUESTIONS is a DRCD/SQuAD file: index its paragraphs")
    ev.add_argument("--sample", type=int, help="score this many questions drawn at random (default: all)")
    ev.add_argument("--seed", type=int, default=0, help="random seed for --sample (default 0)")
    ev.add_argument("--misses", action="store_true", help="also list the questions with no hit in the top 5")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if args.cache_dir is not None:
        settings = replace(settings, cache_dir=args.cache_dir)
    if args.embedders:
        embedders = tuple(e.strip() for e in args.embedders.split(",") if e.strip())
        settings = replace(settings, index=replace(settings.index, embedders=embedders))
    if getattr(args, "store", None) is not None:
        settings = replace(settings, store=args.store)
    return settings


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.panel import Panel

    console = Console(highlight=False)
    settings = _settings(args)
    if args.command == "serve":
        return _serve(args, settings, console)
    if args.command == "eval":
        return _eval(args, settings)
    if args.command == "index" and args.action is not None:
        return _collection_command(args, settings, console)
    assistant = _assistant(args, settings, rebuild=getattr(args, "rebuild", False))

    several = len(assistant.documents) > 1

    def show_citation(n: int, c: Any) -> None:
        score = "" if c.score is None else f"  score {c.score:.4f}"
        document = f"{c.doc_id} · " if several else ""  # which document, when there are several
        console.print(f"[bold cyan][{n}][/] [bold]{c.id}[/]  [dim]{escape(document + c.location)}{score}[/]")
        console.print(escape(c.text), style=None)
        console.print()

    if args.command == "ask":
        questions = _questions(args)
        answers = (
            assistant.ask_many(questions, k=args.k, documents=args.only)
            if len(questions) > 1
            else [assistant.ask(questions[0], k=args.k, documents=args.only)]
        )
        if args.json:
            _print_json(answers[0].to_dict() if len(answers) == 1 else [a.to_dict() for a in answers])
            return 0
        for answer in answers:
            if answer.notice:
                console.print(f"[yellow]{escape(answer.notice)}[/]")
            style = "yellow" if answer.abstained else "green"
            title = "answer" if len(answers) == 1 else escape(answer.question[:80])
            console.print(Panel(escape(answer.text), title=title, title_align="left", border_style=style))
            for n, c in enumerate(answer.citations, start=1):
                show_citation(n, c)
    elif args.command == "search":
        results = assistant.search(args.query, k=args.k, documents=args.only)
        notice = assistant.notice(args.query)
        if notice:
            print(f"qa: note: {notice}", file=sys.stderr)
        if args.json:
            _print_json([c.to_dict() for c in results])
            return 0
        for n, c in enumerate(results, start=1):
            show_citation(n, c)
    elif args.command == "cite":
        context = assistant.context(args.id, chars=max(0, args.k))
        if args.json:
            _print_json(context.to_dict())
            return 0
        c = context.citation
        console.print(f"[bold]{c.id}[/]  {escape(c.doc_title)}")
        page = f"  [dim]{c.page_label}[/]" if c.page_label else ""
        console.print(f"[dim]{escape(c.section_path)}[/]{page}  [dim]characters {c.start}–{c.end}[/]")
        console.print()
        if c.page is not None:  # a PDF: the whole page, the passage highlighted
            before, after, lead, tail = context.page_before, context.page_after, "", ""
        else:
            before, after, lead, tail = context.before, context.after, "…", "…"
        console.print(f"[dim]{lead}{escape(before)}[/][bold reverse]{escape(c.text)}[/][dim]{escape(after)}{tail}[/]")
        for f in context.footnotes:
            console.print()
            console.print(f"[bold cyan]{escape(f.section[-1])}[/] [bold]{f.id}[/]  {escape(f.text)}")
    elif args.command == "index":
        index = assistant.index
        passages = assistant.passages
        info = {
            "key": index.key,
            "built_now": assistant.index_built,
            "directory": str(settings.cache_dir / "indexes" / index.key)
            if settings.cache_dir and settings.store == "faiss"
            else index.manifest.get("store"),
            "documents": index.manifest["documents"],
            "embedders": index.manifest["embedders"],
            "splitter": index.manifest["splitter"],
            "passages": len(passages),
            "mean_passage_chars": round(sum(len(p.text) for p in passages) / max(1, len(passages)), 1),
        }
        if args.json:
            _print_json(dict(info, first_passages=[p.to_dict() for p in passages[: max(0, args.k)]]))
            return 0
        for key, value in info.items():
            if key == "documents":
                for d in value:
                    console.print(
                        f"[bold]document[/] {escape(d['id'])}: {escape(d['title'])}  [dim]{escape(d['source'])}[/]"
                    )
            else:
                console.print(f"[bold]{key}[/] {escape(str(value))}")
        for n, c in enumerate(passages[: max(0, args.k)], start=1):
            show_citation(n, c)
    return 0


def _assistant(args: argparse.Namespace, settings: Settings, **kwargs: Any) -> Any:
    """The assistant over ``--doc`` files, a ``--collection``, or the bundled chapter."""
    from qa.assistant import Assistant

    if args.doc and args.collection is not None:
        raise ValueError("give --doc or --collection, not both")
    if args.doc:
        return Assistant.from_paths(args.doc, settings, **kwargs)
    return Assistant(settings=settings, collection=args.collection, **kwargs)


def _collection_command(args: argparse.Namespace, settings: Settings, console: Any) -> int:
    """``qa index add``, ``remove`` and ``list``: change or show a collection."""
    from rich.markup import escape

    from qa.assistant import Assistant
    from qa.collection import Collection

    if args.doc:
        raise ValueError(f"--doc cannot be used with qa index {args.action}; give the files to qa index add")
    collection = Collection(getattr(args, "collection", None) or DEFAULT_COLLECTION, settings)
    as_json = getattr(args, "json", False)
    if args.action == "add":
        reported = collection.add_reporting(args.paths)  # whether each is new is decided under the lock
        assistant = Assistant(settings=settings, collection=collection)  # index now, so the next ask is quick
        passages = {d.id: d.passages for d in assistant.indexed_documents()}
        rows = [dict(e.to_dict(), passages=passages.get(e.id, 0), new=new) for e, new in reported]
        if as_json:
            _print_json({"collection": collection.name, "documents": rows, "passages": len(assistant.index.passages)})
            return 0
        for row in rows:
            state = "added" if row["new"] else "already in the collection"
            console.print(
                f"[bold]{escape(row['id'])}[/]  {escape(row['title'])}  [dim]{row['passages']} passages, {state}[/]",
                soft_wrap=True,
            )
        n = len(assistant.documents)
        console.print(
            f"[dim]collection {escape(collection.name)}: {n} document{'s' * (n != 1)}, "
            f"{len(assistant.index.passages)} passages; ask with: qa ask --collection {escape(collection.name)} "
            "QUESTION[/]",
            soft_wrap=True,
        )
        return 0
    if args.action == "remove":
        removed = collection.remove(args.ids)
        if as_json:
            _print_json({"collection": collection.name, "removed": [e.to_dict() for e in removed]})
            return 0
        for e in removed:
            console.print(f"removed [bold]{escape(e.id)}[/]  {escape(e.title)}")
        return 0
    if not collection.exists and collection.name != DEFAULT_COLLECTION:
        collection.documents()  # raises: no such collection, naming the ones there are
    entries = collection.entries()
    names = Collection.names(settings)
    if as_json:
        _print_json({"collection": collection.name, "documents": [e.to_dict() for e in entries], "collections": names})
        return 0
    if not entries:
        console.print(f"The collection {escape(collection.name)} has no documents; add some with qa index add PATH…")
    width = max((len(e.id) for e in entries), default=0)
    for e in entries:
        console.print(
            f"[bold]{escape(e.id.ljust(width))}[/]  {escape(e.title)}  "
            f"[dim]{e.suffix.lstrip('.')}, {_size(e.size)}, added {e.added[:10]}, from {escape(e.path)}[/]",
            soft_wrap=True,
        )
    others = [n for n in names if n != collection.name]
    if others:
        console.print(f"[dim]other collections: {escape(', '.join(others))}[/]")
    return 0


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    return f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


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


def _serve(args: argparse.Namespace, settings: Settings, console: Any) -> int:
    from corpus.loading import DocumentLoader
    from qa.collection import Collection

    if args.doc and args.collection is not None:
        raise ValueError("give --doc or --collection, not both")
    documents = DocumentLoader().run(args.doc) if args.doc else None
    # the chat's uploads are added to the collection; create_app reads it (CollectionError if empty)
    collection = Collection(args.collection, settings) if args.collection is not None else None
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    from ui.app import create_app  # Gradio loads only for this command

    auth = parse_auth(args.auth if args.auth is not None else os.environ.get(AUTH_VARIABLE))
    app = create_app(documents, settings, collection=collection)
    if args.host not in LOCAL_HOSTS:
        console.print(f"[yellow]Listening on {args.host}: other machines on the network can reach the chat.[/]")
    if (args.share or args.host not in LOCAL_HOSTS) and auth is None:
        console.print(f"[yellow]No login is required; consider --auth USER:PASSWORD or {AUTH_VARIABLE}.[/]")
    console.print(f"peninsula-qa chat on http://{args.host}:{args.port}/ (Ctrl+C stops it)")
    if threading.current_thread() is threading.main_thread():  # SIGTERM stops it as Ctrl+C does: uploads deleted
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    app.launch(args.host, args.port, share=args.share, quiet=True, auth=auth)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from qa.assistant import Assistant
    from qa.evaluation import DrcdEvaluator, QuestionSetEvaluator, load_drcd, load_questions

    report: Any
    if args.drcd:
        for given, option in ((args.doc, "--doc"), (args.collection, "--collection")):
            if given is not None:
                raise ValueError(f"{option} cannot be used with --drcd: the DRCD file brings its own documents")
        documents, drcd_questions = load_drcd(args.questions)
        report = DrcdEvaluator(Assistant(documents, settings), k=args.k).run(
            drcd_questions, sample=args.sample, seed=args.seed
        )
    else:
        questions = load_questions(args.questions)
        assistant = _assistant(args, settings)
        report = QuestionSetEvaluator(assistant, k=args.k).run(questions, sample=args.sample, seed=args.seed)
    if args.json:
        data = report.to_dict()
        if args.misses:
            data["misses"] = [r.id for r in report.misses()]
        _print_json(data)
        return 0
    print(report.markdown())
    if args.misses:
        print()
        print(report.misses_markdown())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; errors become one line on stderr and a non-zero exit."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (QAError, CorpusError, IndexBuildError, OSError, ValueError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # a dependency without a message of ours
        print(f"qa: error: {exc}; reinstall peninsula-qa's dependencies: pip install peninsula-qa", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
