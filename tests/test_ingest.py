"""Ingestion against the real model and a real Chroma index: idempotency, updates, removal,
duplicates, skipped inputs, crash recovery after SIGKILL and the ingest lock."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from filelock import FileLock

from retrieval.errors import IndexBusyError
from tests.helpers import (
    SEED_SOURCES,
    SEEDS,
    assert_consistent,
    index_state,
    make_service,
    run_dateline,
    seed_home,
    sqlite_rows,
    start_ingest,
    wait_for,
    write_generated_articles,
)

BUSY = "another ingest is running"

STORIES = {
    "harbour": (
        "Harbour reopens after storm\n\n"
        "OSLO (Reuters) - The port of Bergen reopened on Tuesday after a winter storm closed it "
        "for three days. Ferry operators said crossings to the outer islands would resume at "
        "noon. The harbour master said two cranes were damaged and would be repaired by March."
    ),
    "wheat": (
        "Wheat prices climb on drought fears\n\n"
        "CHICAGO (Reuters) - Wheat futures rose for a fifth session on Wednesday as a drought "
        "in the southern plains threatened the winter crop. Traders said rain forecast for the "
        "weekend might ease the pressure. Corn and soybeans were little changed."
    ),
    "museum": (
        "Museum returns bronze statues\n\n"
        "LONDON (AP) - A London museum handed back twelve bronze statues to a delegation from "
        "Benin City on Thursday. The curator called the return long overdue. The statues will "
        "go on show in a new gallery next year, officials said."
    ),
    "comet": (
        "Astronomers track bright comet\n\n"
        "TOKYO (Kyodo) - Astronomers in Japan tracked a comet that could become visible to the "
        "naked eye in October. The comet was first spotted by an amateur observer in Nagano. "
        "Its tail already stretches across a large part of the sky in telescope images."
    ),
    "rail": (
        "Rail strike halts commuter trains\n\n"
        "PARIS (AFP) - A strike by rail workers halted most commuter trains around Paris on "
        "Friday. Unions are protesting a plan to raise the retirement age for train drivers. "
        "The transport minister urged both sides to return to talks before the holidays."
    ),
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def copy_seeds(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(p, folder / p.name)) for p in sorted(SEEDS.glob("*.txt"))]


def jsonl(path: Path, names: list[str]) -> Path:
    lines = []
    for n, name in enumerate(names):
        title, body = STORIES[name].split("\n\n", 1)
        record = {"title": title, "text": body, "published": f"2024-05-0{n + 1}"}
        lines.append(json.dumps(record))
    return write(path, "\n".join(lines) + "\n")


def clean_state_of(tmp_path: Path, *paths: Path) -> dict:
    home = tmp_path / f"clean-{time.monotonic_ns()}"
    service = make_service(home)
    service.ingest_paths(list(paths))
    return index_state(service.store)


def passages_of(state: dict, aid: str) -> dict[str, str]:
    return {pid: text for pid, (text, owner) in state["passages"].items() if owner == aid}


# -- idempotency and updates -----------------------------------------------------------------


def test_reingest_is_idempotent(tmp_path):
    folder = tmp_path / "articles"
    copy_seeds(folder)
    write(folder / "harbour.txt", STORIES["harbour"])
    service = make_service(tmp_path / "home")
    first = service.ingest_paths([folder])
    assert (first.added, first.updated, first.unchanged) == (4, 0, 0)
    assert not first.duplicates and not first.skipped
    before = index_state(service.store)
    assert_consistent(before)
    assert first.passages == before["passage_count"] > 4

    second = service.ingest_paths([folder])
    assert (second.added, second.updated, second.removed, second.recovered) == (0, 0, 0, 0)
    assert second.unchanged == 4 and second.passages == 0 and not second.changed
    assert "Nothing changed" in second.summary()
    after = index_state(make_service(tmp_path / "home").store)  # a fresh reader agrees
    assert after == before


def test_changed_file_replaces_its_passages(tmp_path):
    folder = tmp_path / "articles"
    path = write(folder / "story.txt", (SEEDS / "000_c83d22aa3809c67e.txt").read_text())
    write(folder / "other.txt", STORIES["wheat"])
    service = make_service(tmp_path / "home")
    service.ingest_paths([folder])
    old = index_state(service.store)
    old_id = service.store.find_articles(keys=[str(path.resolve())])[0].id
    old_passages = passages_of(old, old_id)
    assert len(old_passages) >= 4

    write(path, (SEEDS / "001_936e70b28b5b0461.txt").read_text())
    report = service.ingest_paths([folder])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    new = index_state(service.store)
    assert_consistent(new)
    (rec,) = service.store.find_articles(keys=[str(path.resolve())], with_text=True)
    assert rec.id != old_id and old_id not in new["articles"]
    new_passages = passages_of(new, rec.id)
    assert not set(old_passages) & set(new["passage_ids"])
    survivors = set(old_passages.values()) & {t for t, _ in new["passages"].values()}
    assert not survivors
    assert len(new_passages) == rec.passages == report.passages
    assert new["passage_count"] == old["passage_count"] - len(old_passages) + len(new_passages)
    assert new == clean_state_of(tmp_path, folder)


def test_edit_that_keeps_the_article_id_rewrites_passages(tmp_path):
    # Case and spacing changes keep the normalized text (so the id) but move offsets.
    folder = tmp_path / "articles"
    text = (SEEDS / "001_936e70b28b5b0461.txt").read_text()
    path = write(folder / "story.txt", text)
    service = make_service(tmp_path / "home")
    service.ingest_paths([folder])
    old = index_state(service.store)

    assert "a rare message" in text
    edited = text.replace("a rare message", "a Rare  Message", 1).replace(". ", ".\n\n", 3)
    write(path, edited)
    report = service.ingest_paths([folder])
    assert (report.added, report.updated) == (0, 1)
    new = index_state(service.store)
    assert_consistent(new)
    assert new["articles"] == old["articles"]
    for pid, (passage, _) in new["passages"].items():
        aid = pid.split(":")[0]
        rec = service.store.get_articles([aid], with_text=True)[aid]
        stored = service.store.get_passages([pid])[pid].passage
        assert rec.text[stored.start : stored.end] == passage
    assert any("a Rare Message" in t for t, _ in new["passages"].values())
    assert new == clean_state_of(tmp_path, folder)


@pytest.mark.parametrize("dropped", ["wheat", "rail"], ids=["middle", "last"])
def test_jsonl_rewritten_with_one_record_fewer(tmp_path, dropped):
    names = ["harbour", "wheat", "museum", "comet", "rail"]
    path = jsonl(tmp_path / "feed" / "items.jsonl", names)
    service = make_service(tmp_path / "home")
    first = service.ingest_paths([path])
    assert first.added == 5
    titles = {a.title for a in service.articles()}
    assert len(titles) == 5

    kept = [n for n in names if n != dropped]
    jsonl(path, kept)
    report = service.ingest_paths([path])
    assert report.removed == 1
    assert (report.added, report.updated) == (0, 0), report.summary()
    state = index_state(service.store)
    assert_consistent(state)
    gone = STORIES[dropped].split("\n\n")[0]
    assert gone not in {a.title for a in service.articles()}
    assert not any(gone in t for t, _ in state["passages"].values())
    assert len(service.articles()) == 4
    # Same ids and passages as indexing the new file from scratch.
    clean = clean_state_of(tmp_path, path)
    assert (state["articles"], state["passages"]) == (clean["articles"], clean["passages"])
    # And the next run is a no-op.
    again = service.ingest_paths([path])
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)


def test_jsonl_record_inserted_and_reordered(tmp_path):
    path = jsonl(tmp_path / "items.jsonl", ["harbour", "wheat", "museum"])
    service = make_service(tmp_path / "home")
    service.ingest_paths([path])
    jsonl(path, ["comet", "museum", "harbour", "wheat"])
    report = service.ingest_paths([path])
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, 3)
    state = index_state(service.store)
    assert_consistent(state)
    clean = clean_state_of(tmp_path, path)
    assert (state["articles"], state["passages"]) == (clean["articles"], clean["passages"])
    again = service.ingest_paths([path])
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)


def test_jsonl_records_sharing_a_url(tmp_path):
    # The id comes from the URL: a second record with the same URL is the same article.
    path = tmp_path / "items.jsonl"
    records = [
        {"title": "Harbour", "text": STORIES["harbour"].split("\n\n")[1], "url": "https://x/1"},
        {"title": "Wheat", "text": STORIES["wheat"].split("\n\n")[1], "url": "https://x/1"},
    ]
    write(path, "".join(json.dumps(r) + "\n" for r in records))
    service = make_service(tmp_path / "home")
    for _ in range(2):
        report = service.ingest_paths([path])
        assert len(report.duplicates) == 1 and report.duplicates[0].key.endswith("#2")
        assert report.added + report.unchanged == 1 and report.updated == 0
        (article,) = service.articles()
        assert article.title == "Harbour" and article.url == "https://x/1"


# -- duplicates ------------------------------------------------------------------------------


@pytest.fixture
def seeded(tmp_path):
    folder = tmp_path / "articles"
    copy_seeds(folder)
    service = make_service(tmp_path / "home")
    report = service.ingest_paths([folder])
    # Two reports of the same event by different outlets are not duplicates.
    assert report.added == 3 and not report.duplicates
    return service, folder


def test_exact_duplicate_under_another_name(seeded, tmp_path):
    service, folder = seeded
    before = index_state(service.store)
    original = folder / "002_6189ae60c0b68e30.txt"
    (tmp_path / "elsewhere").mkdir()
    copy = Path(shutil.copy(original, tmp_path / "elsewhere" / "copy.txt"))
    for _ in range(2):
        report = service.ingest_paths([folder, copy.parent])
        assert report.added == 0 and report.unchanged == 3
        (dup,) = report.duplicates
        assert dup.key == str(copy.resolve())
        (held,) = service.store.find_articles(keys=[str(original.resolve())])
        assert dup.of_id == held.id
        assert dup.of_id in before["articles"]
        assert index_state(service.store) == before
    assert not service.store.find_articles(keys=[str(copy.resolve())])


def test_copy_differing_only_in_spacing_is_a_duplicate(seeded, tmp_path):
    service, folder = seeded
    before = index_state(service.store)
    paths = {a.path for a in service.articles()}
    text = (folder / "002_6189ae60c0b68e30.txt").read_text()
    copy = write(tmp_path / "elsewhere" / "spaced.txt", text.replace(", ", " , "))
    for _ in range(2):
        report = service.ingest_paths([folder, copy])
        assert (report.added, report.updated, report.unchanged) == (0, 0, 3), report.summary()
        assert [d.key for d in report.duplicates] == [str(copy.resolve())]
        assert {a.path for a in service.articles()} == paths
        assert index_state(service.store) == before


def test_near_duplicate_with_boilerplate_is_a_duplicate(seeded, tmp_path):
    service, folder = seeded
    before = index_state(service.store)
    text = (folder / "000_c83d22aa3809c67e.txt").read_text()
    assert text.startswith("seoul/beijing")
    syndicated = (
        "beijing/seoul"
        + text[len("seoul/beijing") :]
        + "\n\nGet the latest headlines from Asia in your inbox: subscribe to the Daily "
        "Briefing newsletter from World News Wire today.\n"
    )
    copy = write(tmp_path / "wire" / "syndicated.txt", syndicated)
    report = service.ingest_paths([copy])
    assert report.added == 0
    (dup,) = report.duplicates
    assert dup.key == str(copy.resolve())
    assert dup.of_id in before["articles"]
    assert dup.similarity >= 0.8
    assert index_state(service.store) == before


def test_near_duplicates_in_one_run(tmp_path):
    text = (SEEDS / "001_936e70b28b5b0461.txt").read_text()
    folder = tmp_path / "articles"
    write(folder / "a.txt", text)
    write(folder / "b.txt", "Seoul, AFP. " + text[len("SEOUL: ") :] + "\n\n(c) AFP 2017")
    write(folder / "c.txt", text.upper())  # same normalized text
    service = make_service(tmp_path / "home")
    report = service.ingest_paths([folder])
    assert report.added == 1
    assert sorted(Path(d.key).name for d in report.duplicates) == ["b.txt", "c.txt"]
    (only,) = service.articles()
    assert Path(only.path).name == "a.txt"
    again = service.ingest_paths([folder])
    assert (again.added, again.unchanged, len(again.duplicates)) == (0, 1, 2)


# -- removal and reset -----------------------------------------------------------------------


def test_remove_by_id_and_by_path(tmp_path):
    folder = tmp_path / "articles"
    copy_seeds(folder)
    feed = jsonl(tmp_path / "feed.jsonl", ["harbour", "wheat"])
    service = make_service(tmp_path / "home")
    service.ingest_paths([folder, feed])
    assert len(service.articles()) == 5

    reuters = next(a for a in service.articles() if a.path.endswith("000_c83d22aa3809c67e.txt"))
    (removed,) = service.remove(reuters.id)
    assert removed.id == reuters.id
    state = index_state(service.store)
    assert reuters.id not in state["articles"]
    assert not passages_of(state, reuters.id)

    removed = service.remove(str(feed))
    assert len(removed) == 2
    sitting = service.articles()
    assert {Path(a.path).name for a in sitting} == {
        "001_936e70b28b5b0461.txt",
        "002_6189ae60c0b68e30.txt",
    }
    state = index_state(service.store)
    assert_consistent(state)
    assert {aid for _, aid in state["passages"].values()} == {a.id for a in sitting}
    assert service.remove("0123456789abcdef") == []
    # Search no longer finds removed text (the BM25 cache follows the store).
    hits = service.search("Hua Chunying foreign ministry spokeswoman", k=5)
    assert all(h.passage.article_id != reuters.id for h in hits)
    # A removed article comes back with the next ingest.
    report = service.ingest_paths([folder])
    assert (report.added, report.unchanged) == (1, 2)


def test_reset(tmp_path):
    service = make_service(tmp_path / "home")
    service.ingest_paths([SEEDS])
    assert service.search("Song Tao", k=1)
    assert service.lexical.cache_dir.exists()
    service.reset()
    assert service.is_empty()
    assert service.store.passage_count() == 0
    assert not service.lexical.cache_dir.exists()
    assert service.search("Song Tao", k=3) == []
    assert make_service(tmp_path / "home").articles() == []
    report = service.ingest_paths([SEEDS])
    assert report.added == 3
    assert "Song Tao" in service.search("Who is Song Tao?", k=1)[0].passage.text


# -- metadata and odd inputs -----------------------------------------------------------------


def test_seed_metadata_reaches_search_hits(tmp_path_factory):
    service = make_service(seed_home(tmp_path_factory))
    articles = service.articles()
    assert {a.source for a in articles} == SEED_SOURCES
    assert all(a.title and a.path and a.passages > 0 for a in articles)
    (hit,) = service.search("Song Tao minister International Department", k=1)
    p = hit.passage
    assert p.source == "UrduPoint News / Sputnik"
    assert p.published == "2021-03-22"
    assert p.title.startswith("Chinese President Xi Jinping and North Korean leader")
    assert p.path.endswith("002_6189ae60c0b68e30.txt")
    sources = {h.passage.source for h in service.search("Xi Jinping message to Kim Jong Un", k=10)}
    assert sources == SEED_SOURCES


def test_unknown_and_binary_files_are_skipped(tmp_path):
    folder = tmp_path / "mixed"
    write(folder / "good.txt", STORIES["museum"])
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (folder / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "notes.xyz").write_text("not an article format")
    write(folder / "empty.txt", "")
    (folder / "bad.jsonl").write_text('{"text": "A fine record about a parade in Rio."}\n{oops\n')
    service = make_service(tmp_path / "home")
    report = service.ingest_paths([folder, tmp_path / "missing.txt"])
    assert report.added == 2, report.summary()
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"photo.png", "blob.txt", "notes.xyz", "empty.txt", "bad.jsonl:2"} | {
        "missing.txt"
    }
    assert reasons["blob.txt"] == "binary file"
    assert reasons["missing.txt"] == "no such file or directory"
    assert "unsupported" in reasons["notes.xyz"]
    assert len(service.articles()) == 2


def test_ingest_lock_in_process(tmp_path):
    home = tmp_path / "home"
    service = make_service(home)
    lock = FileLock(str(home / "ingest.lock"), timeout=0)
    home.mkdir()
    with lock:
        with pytest.raises(IndexBusyError, match=BUSY):
            service.ingest_paths([SEEDS])
        with pytest.raises(IndexBusyError):
            service.remove("0123456789abcdef")
        with pytest.raises(IndexBusyError):
            service.reset()
    assert service.ingest_paths([SEEDS]).added == 3


def test_remove_interrupted_half_way_is_finished_by_the_next_ingest(tmp_path, monkeypatch):
    service = make_service(tmp_path / "home")
    service.ingest_paths([SEEDS])
    target = next(a for a in service.articles() if a.source == "Reuters")
    real_call = service.store._call

    def dies_before_the_record_goes(fn, *args, **kwargs):
        if getattr(fn, "__name__", "") == "delete" and kwargs.get("ids") == [target.id]:
            raise KeyboardInterrupt  # as if the process were killed here
        return real_call(fn, *args, **kwargs)

    monkeypatch.setattr(service.store, "_call", dies_before_the_record_goes)
    with pytest.raises(KeyboardInterrupt):
        service.remove(target.id)
    monkeypatch.undo()
    # Its passages are gone; the record must not pass for a complete, unchanged article.
    assert target.id not in {a.id for a in make_service(tmp_path / "home").articles()}

    report = make_service(tmp_path / "home").ingest_paths([SEEDS])
    assert (report.recovered, report.added, report.unchanged) == (1, 1, 2)
    state = index_state(make_service(tmp_path / "home").store)
    assert_consistent(state)
    assert passages_of(state, target.id)
    assert state == clean_state_of(tmp_path, SEEDS)


def test_ingest_interrupted_in_process_is_completed_by_the_next_run(tmp_path, monkeypatch):
    folder = tmp_path / "articles"
    copy_seeds(folder)
    for name in ("harbour", "wheat", "museum"):
        write(folder / f"{name}.txt", STORIES[name])
    service = make_service(tmp_path / "home")
    real_upsert = service.store.upsert_passages
    calls = []

    def dies_on_the_third_article(*args, **kwargs):
        calls.append(1)
        real_upsert(*args, **kwargs)
        if len(calls) == 3:
            raise KeyboardInterrupt  # passages written, record still pending

    # One article per encode group, so the first two are complete when the third dies.
    monkeypatch.setattr("retrieval.ingest._ENCODE_GROUP", 1)
    monkeypatch.setattr(service.store, "upsert_passages", dies_on_the_third_article)
    with pytest.raises(KeyboardInterrupt):
        service.ingest_paths([folder])
    monkeypatch.undo()
    partial = index_state(make_service(tmp_path / "home").store)
    pending = [aid for aid, status in partial["status"].items() if status == "pending"]
    assert len(pending) == 1 and partial["passages"]
    assert len(make_service(tmp_path / "home").articles()) == 2

    report = make_service(tmp_path / "home").ingest_paths([folder])
    assert (report.recovered, report.unchanged, report.added) == (1, 2, 4)
    state = index_state(make_service(tmp_path / "home").store)
    assert state == clean_state_of(tmp_path, folder)


# -- a real kill, and real concurrent processes ----------------------------------------------


def writing_or_done(proc: subprocess.Popen, home: Path, rows: int) -> None:
    """Wait until the ingest in ``proc`` has logged ``rows`` writes to Chroma, or ended."""
    wait_for(lambda: sqlite_rows(home) >= rows or proc.poll() is not None, timeout=120)


@pytest.mark.slow
def test_interrupted_ingest_recovers(tmp_path):
    folder = tmp_path / "generated"
    write_generated_articles(folder, 40, sentences_each=6)
    clean = clean_state_of(tmp_path, folder)
    assert_consistent(clean)
    assert len(clean["articles"]) == 40

    partial = None
    for threshold in (12, 4):  # Chroma log rows written before the kill
        home = tmp_path / f"home-{threshold}"
        log = tmp_path / f"ingest-{threshold}.log"
        with open(log, "wb") as stderr:
            proc = start_ingest(folder, home, stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                writing_or_done(proc, home, threshold)
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.wait(timeout=30)
        assert proc.returncode in (0, -signal.SIGKILL), log.read_text()
        if proc.returncode == -signal.SIGKILL:
            service = make_service(home)
            partial = index_state(service.store)
            if len(partial["articles"]) < 40 or set(partial["status"].values()) != {"complete"}:
                break
        partial = None
    assert partial is not None, "could not kill the ingest while it was writing"
    assert partial["passage_count"] < clean["passage_count"] or "pending" in set(
        partial["status"].values()
    )

    report = make_service(home).ingest_paths([folder])
    assert report.added + report.unchanged == 40 and not report.duplicates
    state = index_state(make_service(home).store)
    assert_consistent(state)
    assert state["articles"] == clean["articles"]
    assert state["passage_ids"] == clean["passage_ids"]
    assert state["passages"] == clean["passages"]
    assert state["passage_count"] == clean["passage_count"]
    # Search works on the recovered index and sees every article.
    service = make_service(home)
    hits = service.search("Hua Chunying", k=40)
    assert hits and {h.passage.article_id for h in hits} <= clean["articles"]


@pytest.mark.slow
def test_ingest_while_lock_is_held_fails_cleanly(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with FileLock(str(home / "ingest.lock"), timeout=0):
        result = run_dateline("ingest", SEEDS, home=home, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and BUSY in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_two_concurrent_ingests(tmp_path, tmp_path_factory):
    home = tmp_path / "home"
    procs = [start_ingest(SEEDS, home) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    codes = [p.returncode for p in procs]
    assert 0 in codes, outputs
    for code, (out, err) in zip(codes, outputs, strict=True):
        if code:
            assert BUSY in err and "Traceback" not in err, err
        else:
            assert "added" in out
    state = index_state(make_service(home).store)
    assert_consistent(state)
    expected = index_state(make_service(seed_home(tmp_path_factory)).store)
    assert state == expected
