"""The `baclofen-qa` command. Parses arguments, calls the package, prints; no logic of its own.

Errors the user can act on are printed as one line on stderr with exit code 1 (2 for bad
input), never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from assistant.config import Settings, load_settings
from assistant.errors import AssistantError, InvalidQuestionError, QuestionFileError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", dest="corpus_dir", type=Path, help="folder of documents (default: corpus)")
    parser.add_argument("--index-dir", dest="index_dir", type=Path, help="folder of the built index (default: index)")
    parser.add_argument("--model", help="embedding model: all-MiniLM-L6-v2 (bundled) or a local folder")
    parser.add_argument("--config", type=Path, help="TOML file of settings (default: ./baclofen-qa.toml if present)")


def _settings(args: argparse.Namespace, *names: str) -> Settings:
    overrides = {name: getattr(args, name, None) for name in ("corpus_dir", "index_dir", "model", *names)}
    return load_settings(overrides, config_file=args.config)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_index(args: argparse.Namespace) -> int:
    from assistant.embedding import load_embedder
    from assistant.store import ensure_index

    settings = _settings(args, "index_type")
    report = ensure_index(
        settings,
        lambda: load_embedder(settings.model, batch_size=settings.embed_batch_size),
        rebuild=args.rebuild,
        allow_rebuild=not args.no_rebuild,
        progress=_progress,
    )
    status = "Built a new index" if report.rebuilt else "Index is up to date (nothing embedded)"
    print(f"{status}: {report.path}")
    if report.reasons:
        print(f"  why         {'; '.join(report.reasons)}")
    print(f"  corpus      {settings.corpus_dir}")
    print(f"  documents   {report.documents}")
    print(f"  chunks      {report.chunks}")
    print(f"  model       {settings.model} (dimension {report.dimension})")
    print(f"  index type  {settings.index_type}")
    print(f"  seconds     {report.seconds:.2f}")
    for skipped in report.skipped:
        print(f"  skipped     {skipped}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baclofen-qa",
        description="Answers questions about a medicine by quoting trusted documents verbatim, with safety notices.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show library logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = sub.add_parser("index", help="build the search index (only when the corpus or settings changed)")
    _add_common(index)
    index.add_argument("--rebuild", action="store_true", help="rebuild even when the index is up to date")
    index.add_argument("--no-rebuild", action="store_true", help="stop with a message instead of rebuilding a stale index")
    index.add_argument("--index-type", choices=("flat", "hnsw"), help="flat (exact, default) or hnsw (approximate)")
    index.set_defaults(handler=cmd_index)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except InvalidQuestionError as exc:
        print(f"baclofen-qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except QuestionFileError as exc:
        print(f"baclofen-qa: error: {exc}", file=sys.stderr)
        for problem in exc.problems[:50]:
            print(f"  {problem}", file=sys.stderr)
        if len(exc.problems) > 50:
            print(f"  ... and {len(exc.problems) - 50} more", file=sys.stderr)
        return EXIT_USAGE
    except AssistantError as exc:
        print(f"baclofen-qa: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("baclofen-qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
