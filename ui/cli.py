"""The installed ``qa`` command: the commands of :mod:`qa.cli`, and ``serve``, the chat in a web page.

``serve`` lives here, above both the library and the chat, so that ``qa`` never imports ``ui``;
``python -m ui`` runs the same command as the installed ``qa``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from qa import cli, terminal
from qa.config import Settings

AUTH_VARIABLE = "PENINSULA_QA_AUTH"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``"user:password"`` → ``("user", "password")``; ``None`` or empty → no login."""
    if value is None or not value.strip():
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise ValueError(f"the login must look like USER:PASSWORD (from --auth or {AUTH_VARIABLE})")
    return user.strip(), password


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link (off by default)")
    parser.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help=f"ask for this login before the chat opens (or set {AUTH_VARIABLE}; the variable keeps the "
        "password out of the process list)",
    )


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """``qa serve``: the chat over ``--doc`` files, a ``--collection`` (uploads are added to it) or the
    bundled chapter, until Ctrl+C or SIGTERM."""
    from corpus.loading import DocumentLoader
    from qa.collection import Collection

    if args.doc and args.collection is not None:
        raise ValueError("give --doc or --collection, not both")
    documents = DocumentLoader().run(args.doc) if args.doc else None
    # the chat's uploads are added to the collection; create_app reads it (CollectionError if empty)
    collection = Collection(args.collection, settings) if args.collection is not None else None
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    from qa.threads import serve_questions
    from ui.app import create_app  # Gradio loads only for this command

    auth = parse_auth(args.auth if args.auth is not None else os.environ.get(AUTH_VARIABLE))
    app = create_app(documents, settings, collection=collection)
    out = terminal.console()
    if args.host not in LOCAL_HOSTS:
        out.print(f"[yellow]Listening on {args.host}: other machines on the network can reach the chat.[/]")
    if (args.share or args.host not in LOCAL_HOSTS) and auth is None:
        out.print(f"[yellow]No login is required; consider --auth USER:PASSWORD or {AUTH_VARIABLE}.[/]")
    out.print(f"peninsula-qa chat on http://{args.host}:{args.port}/ (Ctrl+C stops it)")
    if threading.current_thread() is threading.main_thread():  # SIGTERM stops it as Ctrl+C does: uploads deleted
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        serve_questions()  # questions are answered on worker threads (see qa.threads)
    app.launch(args.host, args.port, share=args.share, quiet=True, auth=auth)
    return 0


SERVE = cli.Command("serve", "start the chat in a web page (Gradio)", _serve_options, serve)
COMMANDS = (*cli.COMMANDS, SERVE)
"""The installed ``qa``'s commands."""


def main(argv: Sequence[str] | None = None) -> int:
    """The installed ``qa``: run the command; errors become one line on stderr and a non-zero exit."""
    return cli.main(argv, COMMANDS)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
