"""The ``dateline`` command line: a light ``--help``, the JSON contracts, and one-line errors."""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from bot import cli, launch, warm_encoder
from bot.cli import app
from tests.helpers import DATELINE, ROOT, SEEDS, cli_env, run_dateline, seed_home

HEAVY = {"torch", "sentence_transformers", "chromadb", "langchain", "langchain_core", "discord"}
ANSWER_KEYS = {
    "question",
    "answer",
    "abstained",
    "mode",
    "fallback_reason",
    "confidence",
    "citations",
    "retrieved",
    "timings_ms",
}
CITATION_KEYS = {
    "n",
    "passage_id",
    "article_id",
    "title",
    "source",
    "published",
    "url",
    "quote",
    "path",
    "key",
    "passages",
}
RETRIEVED_KEYS = {"passage_id", "article_id", "score", "text"}
HIT_KEYS = {
    "passage_id",
    "article_id",
    "title",
    "source",
    "published",
    "url",
    "score",
    "dense",
    "bm25",
    "text",
}


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch, tmp_path):
    for name in ("DATELINE_HOME", "DATELINE_CHROMA_URL", "DATELINE_ANSWER__LLM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATELINE_CONFIG", str(tmp_path / "no-config.toml"))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return seed_home(tmp_path_factory)


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def one_json(text: str):
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return json.loads(lines[0])


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


# -- startup ---------------------------------------------------------------------------------


def test_help_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from bot.cli import app\n"
        "from typer.testing import CliRunner\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_dateline_help_runs():
    result = subprocess.run(
        [str(DATELINE), "--help"], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    for command in ("ingest", "search", "ask", "sources", "remove", "reset"):
        assert command in result.stdout


# -- answers and search ----------------------------------------------------------------------


def test_ask_json_contract(home):
    result = invoke("--home", home, "ask", "--json", "Who is Song Tao?")
    assert result.exit_code == 0, result.output
    answer = one_json(result.stdout)
    assert set(answer) == ANSWER_KEYS
    assert answer["question"] == "Who is Song Tao?"
    assert answer["abstained"] is False and answer["mode"] == "extractive"
    assert answer["fallback_reason"] is None
    assert "minister" in answer["answer"].lower()
    assert answer["citations"]
    for c in answer["citations"]:
        assert set(c) == CITATION_KEYS
        assert f"[{c['n']}]" in answer["answer"]
        assert c["quote"] and c["passage_id"].startswith(c["article_id"] + ":")
    first = answer["citations"][0]
    assert "Sputnik" in first["source"] and first["published"] == "2021-03-22"
    assert "Song Tao" in first["quote"]
    assert answer["retrieved"] and all(set(r) == RETRIEVED_KEYS for r in answer["retrieved"])
    assert first["passage_id"] in {r["passage_id"] for r in answer["retrieved"]}
    assert set(answer["timings_ms"]) == {"retrieve", "answer", "total"}
    assert answer["timings_ms"]["total"] >= answer["timings_ms"]["retrieve"] >= 0


def test_ask_out_of_scope_abstains(home):
    result = invoke("--home", home, "ask", "--json", "Who won the 2018 FIFA World Cup?")
    assert result.exit_code == 0, result.output
    answer = one_json(result.stdout)
    assert answer["abstained"] is True
    assert answer["citations"] == []


def test_ask_plain_text(home):
    result = invoke("--home", home, "ask", "Who is Song Tao?")
    assert result.exit_code == 0, result.output
    assert "Song Tao" in result.stdout and "[1]" in result.stdout


def test_search_json(home):
    result = invoke("--home", home, "search", "--json", "--k", "3", "Hua Chunying")
    assert result.exit_code == 0, result.output
    hits = one_json(result.stdout)
    assert 1 <= len(hits) <= 3
    assert all(set(h) == HIT_KEYS for h in hits)
    assert "hua chunying" in hits[0]["text"].lower()
    filtered = invoke(
        "--home", home, "search", "--json", "--source", "UrduPoint News / Sputnik", "Xi"
    )
    assert {h["source"] for h in one_json(filtered.stdout)} == {"UrduPoint News / Sputnik"}
    dated = invoke("--home", home, "search", "--json", "--since", "2021-01-01", "Xi")
    assert {h["published"] for h in one_json(dated.stdout)} == {"2021-03-22"}


def test_sources_json(home):
    result = invoke("--home", home, "sources", "--json")
    assert result.exit_code == 0, result.output
    articles = one_json(result.stdout)
    assert len(articles) == 3
    assert {a["source"] for a in articles} == {
        "Reuters",
        "The Times of India",
        "UrduPoint News / Sputnik",
    }


# -- index commands --------------------------------------------------------------------------


def test_ingest_remove_reset(tmp_path):
    home = tmp_path / "home"
    missing = tmp_path / "no-such-folder"
    result = invoke("--home", home, "ingest", "--json", missing)
    assert result.exit_code == 0, result.output
    report = one_json(result.stdout)
    assert report["added"] == 0
    assert report["skipped"] == [{"path": str(missing), "reason": "no such file or directory"}]

    result = invoke("--home", home, "ingest", missing)
    assert result.exit_code == 0
    assert f"skipped: {missing}: no such file or directory" in result.stdout

    result = invoke("--home", home, "ingest", "--json", SEEDS / "002_6189ae60c0b68e30.txt")
    assert one_json(result.stdout)["added"] == 1
    result = invoke("--home", home, "ingest", "--if-empty", SEEDS)
    assert result.exit_code == 0 and "already has articles" in result.stdout

    result = invoke("--home", home, "remove", "0123456789abcdef")
    assert result.exit_code != 0
    assert "no indexed article matches" in result.stderr

    (article,) = one_json(invoke("--home", home, "sources", "--json").stdout)
    result = invoke("--home", home, "remove", article["id"])
    assert result.exit_code == 0 and article["id"] in result.stdout
    assert one_json(invoke("--home", home, "sources", "--json").stdout) == []

    invoke("--home", home, "ingest", SEEDS)
    result = invoke("--home", home, "reset", "--yes")
    assert result.exit_code == 0 and "empty" in result.stdout
    assert one_json(invoke("--home", home, "sources", "--json").stdout) == []


# -- errors: one line on stderr, no traceback, non-zero exit ---------------------------------


def test_empty_question_is_a_clean_error(tmp_path):
    for question in ("", "   "):
        result = run_dateline("ask", question, home=tmp_path / "home", timeout=60)
        assert_one_line_error(result, "empty")
        assert result.returncode == 2


def test_bad_date_is_a_clean_error(tmp_path):
    # On an empty index too: the date is checked before anything is searched.
    result = run_dateline("search", "Xi", "--since", "notadate", home=tmp_path, timeout=60)
    assert_one_line_error(result, "notadate", "YYYY-MM-DD")


def test_bad_date_exits_2(tmp_path):
    result = invoke("--home", tmp_path, "search", "Xi", "--since", "notadate")
    assert result.exit_code == 2


def test_remove_unknown_id_fails(tmp_path):
    result = run_dateline("remove", "0123456789abcdef", home=tmp_path, timeout=60)
    assert_one_line_error(result, "no indexed article matches")


def test_home_that_is_a_file_is_a_clean_error(tmp_path):
    home = tmp_path / "not-a-folder"
    home.write_text("")
    for args in (["sources"], ["ingest", SEEDS]):
        result = run_dateline(*args, home=home, timeout=60)
        assert_one_line_error(result, "is not a directory")


# -- one-shot commands -----------------------------------------------------------------------

# Runs the console-script entry point with an exit handler that says whether the
# interpreter's teardown ran.
_TEARDOWN_PROBE = (
    "import atexit, sys\n"
    "import bot.launch\n"
    "atexit.register(lambda: print('interpreter teardown ran', file=sys.stderr))\n"
    "sys.argv = ['dateline', *sys.argv[1:]]\n"
    "bot.launch.main()\n"
)


def _entry_point(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _TEARDOWN_PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=120,
    )


def test_one_shot_ask_prints_everything_then_skips_teardown(home):
    out = _entry_point("--home", home, "ask", "--json", "Who is Song Tao?")
    assert out.returncode == 0, out.stderr
    answer = one_json(out.stdout)
    assert answer["citations"] and "Song Tao" in answer["answer"]
    assert "interpreter teardown ran" not in out.stderr


def test_one_shot_error_keeps_its_exit_code_without_teardown(home):
    out = _entry_point("--home", home, "ask", "   ")
    assert out.returncode == 2
    assert "the question is empty" in out.stderr
    assert "interpreter teardown ran" not in out.stderr


def test_one_shot_ask_tears_down_once_chroma_was_opened(home, tmp_path):
    from retrieval.replica import stamp_path, touch_stamp

    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    touch_stamp(stamp_path(copy, "dateline"))  # another writer changed it: ask reads Chroma
    out = _entry_point("--home", copy, "ask", "--json", "Who is Song Tao?")
    assert out.returncode == 0, out.stderr
    assert one_json(out.stdout)["citations"]
    assert "interpreter teardown ran" in out.stderr


def test_the_encoder_started_before_settings_is_the_one_they_choose(tmp_path, monkeypatch):
    from config import load_settings

    assert load_settings(home=tmp_path).index.question_backend() == warm_encoder.LIKELY_BACKEND
    monkeypatch.setattr(cli, "_one_shot_service", None)
    ctx = SimpleNamespace(obj={"home": tmp_path, "chroma_url": None, "verbose": False})
    service = cli._service(ctx, warm=True, one_shot=True)
    assert service.query_embedder.backend == "onnx"
    assert service.query_embedder.prepack is False
    monkeypatch.setenv("DATELINE_INDEX__QUERY_BACKEND", "onnx-int8")
    monkeypatch.setenv("DATELINE_INDEX__BATCH_SIZE", "7")
    service = cli._service(ctx, warm=True)
    assert (service.query_embedder.backend, service.query_embedder.batch_size) == ("onnx-int8", 7)
    assert service.query_embedder.prepack is True
    _join_warm_threads()


def _join_warm_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "warm-encoder":
            thread.join(timeout=60)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["ask", "Who is Song Tao?"], "ask"),
        (["--home", "/tmp/x", "-v", "search", "talks"], "search"),
        (["--home=/tmp/x", "ask", "q"], "ask"),
        (["--chroma-url", "http://127.0.0.1:8000", "ask", "q"], "ask"),
        (["--home", "ask", "repl"], None),  # "ask" is the value of --home
        (["ask", "--help"], None),
        (["repl"], None),
        (["ingest", "ask"], None),
        ([], None),
    ],
)
def test_launch_recognises_a_one_shot_command(argv, command):
    assert launch.one_shot_command(argv) == command


def test_launch_reads_the_command_line_as_the_cli_defines_it():
    import typer.main

    command = typer.main.get_command(app)
    valued = {opt for p in command.params if not p.is_flag for opt in p.opts}
    assert valued == launch._VALUED_OPTIONS
    assert launch.ONE_SHOT_COMMANDS <= set(command.commands)


def test_launch_starts_the_encoder_the_command_then_uses(tmp_path, monkeypatch):
    seen = {}

    def command_line():
        seen["gc"] = gc.isenabled()
        ctx = SimpleNamespace(obj={"home": tmp_path, "chroma_url": None, "verbose": False})
        seen["early"] = warm_encoder._started
        seen["service"] = cli._service(ctx, warm=True, one_shot=True)

    monkeypatch.setattr(cli, "main", command_line)
    monkeypatch.setattr(cli, "_one_shot_service", None)
    monkeypatch.setattr(sys, "argv", ["dateline", "--home", str(tmp_path), "ask", "q"])
    try:
        launch.main()
    finally:
        gc.enable()
        _join_warm_threads()
    assert seen["gc"] is False
    assert seen["early"] is not None and seen["early"].prepack is False
    assert seen["service"].query_embedder is seen["early"]
    assert warm_encoder._started is None  # handed out once


def test_launch_leaves_other_commands_alone(monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "main", lambda: seen.update(gc=gc.isenabled()))
    monkeypatch.setattr(sys, "argv", ["dateline", "sources"])
    launch.main()
    assert seen["gc"] is True
    assert warm_encoder._started is None


def test_an_early_encoder_for_another_backend_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "_one_shot_service", None)
    monkeypatch.setenv("DATELINE_INDEX__QUERY_BACKEND", "onnx-int8")
    warm_encoder.start_early(one_shot=True)
    early = warm_encoder._started
    ctx = SimpleNamespace(obj={"home": tmp_path, "chroma_url": None, "verbose": False})
    try:
        service = cli._service(ctx, warm=True, one_shot=True)
    finally:
        _join_warm_threads()
    assert early.backend == "onnx"
    assert service.query_embedder is not early
    assert service.query_embedder.backend == "onnx-int8"
