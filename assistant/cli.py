"""The `baclofen-qa` command. Parses arguments, calls the package, prints; no logic of its own.

Errors the user can act on are printed as one line on stderr with exit code 1 (2 for bad
input), never as a traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.config import ENV_PREFIX, INDEX_TYPES, Settings, load_settings
from assistant.errors import (
    AssistantError,
    InvalidQuestionError,
    MissingDependencyError,
    PortInUseError,
    QuestionFileError,
)
from assistant.fusion import FUSION_MODES  # the retrieval modes, by name (evaluate.CONFIG_NAMES adds default, naive)
from assistant.version import build_info

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
    from assistant.embedding import load_embedder_for
    from assistant.store import ensure_index

    settings = _settings(args, "index_type")
    report = ensure_index(
        settings,
        lambda: load_embedder_for(settings, progress=_progress),
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
    print(f"  encoder     {settings.encoder_backend}, {settings.model_threads} thread(s)")
    print(f"  index type  {settings.index_type}")
    print(f"  seconds     {report.seconds:.2f}")
    for skipped in report.skipped:
        print(f"  skipped     {skipped}")
    return 0


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another program listens on, before seconds go into loading the model.

    A trial bind, as the server will bind: with SO_REUSEADDR (as uvicorn sets it), so a port that only
    has connections closing (TIME_WAIT) counts as free, and one with a listener does not.

    Raises:
        PortInUseError: another program listens on `host`:`port`.
        AssistantError: `host` cannot be listened on at all (unknown name, not this machine's address).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise AssistantError(
            f"Cannot listen on {host!r} ({exc.strerror}). Set another address with --host, the "
            f"{ENV_PREFIX}HOST variable or host in baclofen-qa.toml."
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"Port {port} on {host} is already in use by another program. Stop that program, or choose "
                    f"another port with --port, the {ENV_PREFIX}PORT variable or port in baclofen-qa.toml."
                ) from None
            raise AssistantError(
                f"Cannot listen on {host}:{port} ({exc.strerror}). Choose another address or port with "
                f"--host/--port, or the {ENV_PREFIX}HOST/{ENV_PREFIX}PORT variables."
            ) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.engine import Assistant

    settings = _settings(args, "host", "port")
    check_port_free(settings.host, settings.port)  # before the model loads: a taken port fails at once
    try:
        from ui.app import build_app, launch_app
    except ImportError as exc:
        raise MissingDependencyError(
            f"The web chat needs Gradio 6 ({exc}). Install it with: pip install 'gradio>=6,<7'"
        ) from None
    _progress(f"Loading the model ({settings.model}) and the index ({settings.index_dir})...")
    assistant = Assistant.load(settings, progress=_progress)
    demo = build_app(assistant, settings)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.auth_user:
        _progress(
            f"Warning: listening on {settings.host} without a login; anyone who can reach this machine can use the chat. "
            "Set BACLOFEN_QA_AUTH_USER and BACLOFEN_QA_AUTH_PASSWORD to require one."
        )
    try:
        _, url, _ = launch_app(demo, settings, documents=assistant.documents, prevent_thread_lock=True)
    except OSError as exc:  # the port was taken while the model loaded, or the address went away
        raise AssistantError(
            f"Could not start the web chat on {settings.host}:{settings.port} ({exc}). If another program "
            f"took the port, choose another with --port or the {ENV_PREFIX}PORT variable."
        ) from None
    print(f"The web chat is running on {url}  (Ctrl+C stops it)", flush=True)
    demo.block_thread()
    return 0


def format_answer(answer, *, bold: bool = False) -> str:
    """An Answer as plain text for a terminal: notices, passages with source, disclaimer.

    Banner labels and the "unverified" marker are the chat's, from wording.toml (assistant.safety.load_labels).
    """
    import textwrap

    from assistant.safety import load_labels

    labels = load_labels()
    lines: list[str] = []
    for notice in answer.notices:
        lines.append(f"[{labels.level(notice.level)}] {notice.title}")
        lines.extend(textwrap.wrap(notice.text, 96, initial_indent="  ", subsequent_indent="  "))
        lines.append("")
    if answer.message:
        lines.extend(textwrap.wrap(answer.message, 98))
        lines.append("")
    for number, passage in enumerate(answer.passages, start=1):
        where = f"{passage.source}" + (f" - section: {passage.section}" if passage.section else "")
        lines.append(f"{number}. {passage.label} {where}")
        text = passage.text
        if bold and 0 <= passage.highlight_start < passage.highlight_end <= len(text):
            # ANSI bold marks the best-matching sentence; the quoted characters are unchanged.
            text = (
                text[: passage.highlight_start]
                + "\033[1m"
                + text[passage.highlight_start : passage.highlight_end]
                + "\033[0m"
                + text[passage.highlight_end :]
            )
        lines.extend("   | " + line for line in text.split("\n"))
        lines.extend(f"   {labels.unverified(reason)}" for reason in passage.unverified)
        lines.append("")
    if answer.condensed_query != answer.question:
        lines.append(f"(searched for: {answer.condensed_query})")
    lines.extend(textwrap.wrap(answer.disclaimer, 98))
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    import json

    from assistant.engine import Assistant, validate_request
    from assistant.serialize import answer_to_dict

    settings = _settings(args, "top_k")
    request = validate_request(args.question, args.history, settings)  # before loading anything: bad input fails fast
    assistant = Assistant.load(settings, progress=_progress)  # reports a missing or empty corpus before the model loads
    answer = assistant.answer(request.text, request.history)
    if args.json:
        print(json.dumps(answer_to_dict(answer), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer, bold=sys.stdout.isatty()))
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated numbers of vectors, e.g. 10000,100000"
        ) from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 100 vectors")
    return sizes


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from assistant import bench, bench_scale
    from assistant.embedding import load_embedder_for

    settings = _settings(args)
    if args.quick and args.scale:
        # Small enough for CI, with a threshold low enough that the approximate index is exercised too.
        settings = settings.replace(exact_max_vectors=min(settings.exact_max_vectors, 5_000))

    def embedder():
        return load_embedder_for(settings, progress=_progress)  # the configured backend and threads

    if args.scale:
        result = bench_scale.run_scale(
            settings,
            embedder,
            sizes=args.sizes or (bench_scale.QUICK_SIZES if args.quick else bench_scale.SCALE_SIZES),
            real_vectors=args.real or (300 if args.quick else 12_000),
            queries=20 if args.quick else 200,
            vectors_file=args.vectors,
            progress=_progress,
        )
        table = bench_scale.scale_table(result)
    else:
        result = bench.run_app(
            settings,
            embedder(),
            args.questions,
            rounds=1 if args.quick else args.rounds,
            quick=args.quick,
            config_file=args.config,
            progress=_progress,
        )
        table = bench.app_table(result)
    result = {
        "mode": ("scale" if args.scale else "app") + (" quick" if args.quick else ""),
        "machine": bench.machine(),
        **result,
    }
    print(table)
    out = args.out or Path("bench-scale.json" if args.scale else "bench.json")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")
    problems = bench.insane_figures(result)
    for problem in problems:
        print(f"baclofen-qa: not a sane figure: {problem}", file=sys.stderr)
    return EXIT_ERROR if problems else 0


def _fail_under(text: str):
    from assistant.metrics import parse_target

    try:
        return parse_target(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config_names(text: str) -> list[str]:
    from assistant.evaluate import CONFIG_NAMES

    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in CONFIG_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown configuration(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(CONFIG_NAMES)}"
        )
    return names


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.embedding import load_embedder_for
    from assistant.evaluate import evaluate
    from assistant.metrics import resolve_targets
    from assistant.question_file import read_questions
    from assistant.report import check_output_folder, format_console, provenance, write_report
    from assistant.store import read_corpus

    settings = _settings(args, "top_k")
    check_output_folder(args.out)
    try:
        targets = resolve_targets(args.fail_under, settings.top_k)
    except ValueError as exc:
        print(f"baclofen-qa eval: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    corpus = read_corpus(settings)  # with the settings' file limits
    documents = corpus.documents
    questions = read_questions(
        args.questions, documents, max_question_chars=settings.max_question_chars, skip_invalid=args.skip_invalid
    )
    if questions.skipped:
        _progress(f"Skipped {questions.skipped} invalid line(s) of {args.questions}:")
        for problem in questions.problems[:20]:
            _progress(f"  {problem}")
    report = evaluate(
        questions,
        documents,
        settings,
        lambda: load_embedder_for(settings, progress=_progress),
        configs=args.compare,
        targets=targets,
        questions_file=str(args.questions),
        provenance=provenance(settings, corpus.fingerprints(), args.questions),
        progress=_progress,
    )
    write_report(report, args.out)
    seconds = sum(run.seconds for run in report.runs)
    print(
        f"Evaluated {len(questions.questions)} questions with {', '.join(args.compare)} in {seconds:.1f} s"
        + (f" ({questions.skipped} invalid line(s) skipped)" if questions.skipped else "")
    )
    print(format_console(report))
    print(f"Report: {args.out / 'report.md'} (with report.json, results.csv, scores.png, hit_at_k.png)")
    missed = [check.target.metric for check in report.targets if not check.passed]
    if missed:
        print(f"baclofen-qa eval: target(s) missed: {', '.join(missed)}", file=sys.stderr)
        return EXIT_ERROR
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from assistant.calibration import DEFAULT_MIN_SCORE, fit_min_score, write_calibration
    from assistant.embedding import load_embedder_for
    from assistant.engine import Assistant
    from assistant.metrics import CorpusText
    from assistant.question_file import read_questions

    settings = _settings(args)
    embedder = load_embedder_for(settings, progress=_progress)
    assistant = Assistant.load(settings, embedder=embedder, progress=_progress)
    documents = assistant.documents
    questions = read_questions(args.questions, documents, max_question_chars=settings.max_question_chars)
    _progress(f"Fitting min_score on {len(questions.questions)} questions of {args.questions}")
    try:
        calibration = fit_min_score(
            assistant,
            questions.questions,
            CorpusText({d.doc_id: d.text for d in documents}),
            questions_file=args.questions,
            progress=_progress,
        )
    except ValueError as exc:
        print(f"baclofen-qa calibrate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = write_calibration(settings.index_dir, calibration)
    print(
        f"min_score {calibration.min_score:.2f} (objective {calibration.objective:.3f}; "
        f"the default {DEFAULT_MIN_SCORE:.2f} scores {calibration.default_objective:.3f}) "
        f"on {calibration.n_answerable} answerable and {calibration.n_unanswerable} unanswerable questions"
    )
    print(f"Saved to {path}; used while the corpus and model are unchanged and min_score is not set.")
    return 0


def cmd_safety_sheet(args: argparse.Namespace) -> int:
    from assistant.safety import SafetyDetector
    from assistant.safety.sheet import review_sheet

    sheet = review_sheet(SafetyDetector(_settings(args)))
    if args.out is None:
        sys.stdout.write(sheet)
        return 0
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial = args.out.with_name(args.out.name + ".partial")
        partial.write_text(sheet, encoding="utf-8")
        partial.replace(args.out)
    except OSError as exc:
        print(f"baclofen-qa safety-sheet: error: could not write {args.out}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"Safety review sheet: {args.out}")
    return 0


class _VersionAction(argparse.Action):
    """--version, read only when asked (argparse's own would run git on every command)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(build_info().describe())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baclofen-qa",
        description="Answers questions about a medicine by quoting trusted documents verbatim, with safety notices.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show library logging")
    parser.add_argument(
        "--version", action=_VersionAction, help="print the version, the git commit and the library versions, then exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = sub.add_parser("index", help="build the search index (only when the corpus or settings changed)")
    _add_common(index)
    index.add_argument("--rebuild", action="store_true", help="rebuild even when the index is up to date")
    index.add_argument(
        "--no-rebuild", action="store_true", help="stop with a message instead of rebuilding a stale index"
    )
    index.add_argument(
        "--index-type",
        choices=INDEX_TYPES,
        help="auto (default: exact up to exact_max_vectors vectors, ivf above), flat (exact), ivf or hnsw (approximate)",
    )
    index.set_defaults(handler=cmd_index)

    ask = sub.add_parser("ask", help="answer one question in the terminal (quotes, safety notices, disclaimer)")
    _add_common(ask)
    ask.add_argument("question", metavar="QUESTION", help="the question, in quotes")
    ask.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="EARLIER_QUESTION",
        help="an earlier question of the conversation, for follow-ups; repeat, oldest first",
    )
    ask.add_argument(
        "-k", dest="top_k", type=int, metavar="N", help="at most N passages (default: the top_k setting, 3)"
    )
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (the shape the web API returns)")
    ask.set_defaults(handler=cmd_ask)

    serve = sub.add_parser(
        "serve", help="start the web chat (loads the model and index once; builds the index if needed)"
    )
    _add_common(serve)
    serve.add_argument("--host", help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, help="port to listen on (default: 7860)")
    serve.set_defaults(handler=cmd_serve)

    evaluation = sub.add_parser(
        "eval",
        help="answer a labelled question file and report metrics (report.json, results.csv, report.md, plots)",
        description="Answer every question of a JSONL or CSV file and measure the answers against its labels. "
        "Writes report.json, results.csv, report.md, scores.png and hit_at_k.png into --out, replacing the "
        "previous report as one unit (all new or all old). Progress goes to stderr (plain lines when not a terminal).",
        epilog="Metrics: hit@1 hit@3 mrr@5 ndcg@5 recall@k abstain wrong_abstain emergency_recall false_alarm "
        "verbatim top_passage_chars latency_p50_ms latency_p95_ms. Exit codes: 0 ok, 1 a --fail-under target "
        "missed (or an error), 2 bad input (the question file's problems are listed by line).",
    )
    _add_common(evaluation)
    evaluation.add_argument(
        "questions", type=Path, metavar="QUESTIONS", help="question file: .jsonl, or .csv (lists |-separated)"
    )
    evaluation.add_argument(
        "--out", type=Path, default=Path("eval-out"), metavar="DIR", help="report folder (default: eval-out)"
    )
    evaluation.add_argument(
        "-k",
        dest="top_k",
        type=int,
        metavar="N",
        help="passages per answer, and the k of recall@k (default: the top_k setting)",
    )
    evaluation.add_argument(
        "--compare",
        type=_config_names,
        default=["default"],
        metavar="CONFIGS",
        help=f"comma-separated configurations to run side by side: default, {', '.join(FUSION_MODES)}, naive "
        "(naive = 1000/200 recursive split, same model, FAISS top-4, no abstention); the first is the main one",
    )
    evaluation.add_argument(
        "--fail-under",
        type=_fail_under,
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 when METRIC is worse than VALUE: below it, or above it for the lower-is-better metrics "
        "wrong_abstain, false_alarm, top_passage_chars, latency_p50_ms, latency_p95_ms; repeatable",
    )
    evaluation.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip invalid lines (counted and listed) instead of stopping; a file that cannot be split into lines "
        "with confidence (broken CSV quoting or header, not UTF-8) still stops",
    )
    evaluation.set_defaults(handler=cmd_eval)

    calibrate = sub.add_parser(
        "calibrate",
        help="fit the abstention threshold (min_score) for this corpus on a labelled question file",
        description="Answer a labelled question file (the eval format) at every min_score from 0.10 to 0.50 "
        "and store the one that best separates answerable from unanswerable questions with the index "
        "(calibration.json). It is used while the corpus and model are unchanged and min_score is not set.",
    )
    _add_common(calibrate)
    calibrate.add_argument("questions", type=Path, metavar="QUESTIONS", help="labelled question file (.jsonl or .csv)")
    calibrate.set_defaults(handler=cmd_calibrate)

    bench_parser = sub.add_parser(
        "bench",
        help="measure cold start, warm answers, build and eval throughput against the bare model; --scale: the index alone",
        description="Build an index of the corpus in a temporary folder and time, in one run: a fresh process from "
        "launch to its first answer; warm answers (p50/p95/p99) next to the bare model encoding the same question; "
        "build throughput next to a bare encode of the same texts; eval throughput; peak memory. Prints one "
        "table and writes the figures as JSON. --scale times the vector index alone at 10k, 100k and 1M vectors "
        "(real embeddings of installed packages' descriptions, real-shaped synthetic vectors above).",
    )
    _add_common(bench_parser)
    bench_parser.add_argument(
        "--questions",
        type=Path,
        default=Path("tests/data/gold.jsonl"),
        metavar="FILE",
        help="questions to time (eval format; default: tests/data/gold.jsonl)",
    )
    bench_parser.add_argument(
        "--rounds", type=int, default=3, metavar="N", help="times each question is asked (default 3)"
    )
    bench_parser.add_argument("--scale", action="store_true", help="the vector index alone at 10k, 100k and 1M vectors")
    bench_parser.add_argument(
        "--sizes",
        type=_sizes,
        metavar="N,N,...",
        help="with --scale: corpus sizes in vectors (default 10000,100000,1000000)",
    )
    bench_parser.add_argument(
        "--real", type=int, metavar="N", help="with --scale: real passages to embed (default 12000); synthetic above"
    )
    bench_parser.add_argument(
        "--vectors",
        type=Path,
        metavar="FILE.npy",
        help="with --scale: read the real vectors (unit rows, numpy.save) instead of embedding passages",
    )
    bench_parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes (8 questions once; 1k and 20k vectors): checks only that it runs and its figures are sane",
    )
    bench_parser.add_argument(
        "--out", type=Path, metavar="FILE", help="JSON file (default: bench.json or bench-scale.json)"
    )
    bench_parser.set_defaults(handler=cmd_bench)

    sheet = sub.add_parser(
        "safety-sheet",
        help="write the safety review sheet (red flags, rules, escalation, wording, sources) as Markdown",
    )
    _add_common(sheet)
    sheet.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (default: print)")
    sheet.set_defaults(handler=cmd_safety_sheet)
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
