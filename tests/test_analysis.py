"""`analyze_folder`, its cache, search and the `analyze`/`search` commands, on generated footage."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from clipagent.analysis.cache import Cache, entry_key
from clipagent.analysis.index import AnalyzeOptions, analyze_folder, media_id
from clipagent.analysis.search import search
from clipagent.analysis.weights import WhisperSpec
from clipagent.cli import main

from .conftest import REALWORLD, make_audio, make_cut_video, make_image, make_video, write_srt

OFFLINE = {"HF_HUB_OFFLINE": "1", "CLIPAGENT_OFFLINE": "1"}
NO_MODELS = AnalyzeOptions(embeddings=False, whisper=WhisperSpec(model="tiny"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)


def _make_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    make_cut_video(root / "talk.mp4", ["testsrc2", "mandelbrot", "smptebars"], seconds=1.5)
    write_srt(
        root / "talk.srt",
        [(0.1, 1.4, "Welcome to the workshop."), (1.6, 2.9, "Now the bicycle repair."), (3.1, 4.4, "Thanks for watching.")],
    )
    make_video(root / "silent.mp4", duration=2, audio=False, source="smptebars")
    make_audio(root / "music.m4a", duration=4)
    make_image(root / "logo.png")
    (root / "notes.txt").write_text("shot list: bicycle, workshop\n")
    (root / "empty.mp4").write_bytes(b"")
    (root / "fake.mp4").write_text("this is not a video")
    whole = (root / "talk.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(whole[: len(whole) // 3])
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return _make_folder(tmp_path_factory.mktemp("footage"))


def _statuses(index, file_id: str) -> dict[str, str]:
    return {run.analyser: run.status for run in index.file(file_id).runs}


def test_every_file_is_indexed_or_skipped_with_a_reason(folder, tmp_path):
    index = analyze_folder(folder, NO_MODELS, Cache(tmp_path / "cache"))

    assert {f.id for f in index.files} == {"talk", "silent", "music", "logo"}
    reasons = {s.path: s.reason for s in index.skipped}
    assert set(reasons) == {"notes.txt", "empty.mp4", "fake.mp4", "truncated.mp4"}
    assert "empty" in reasons["empty.mp4"]
    assert "not a media file" in reasons["fake.mp4"]
    assert reasons["truncated.mp4"]

    talk = index.file("talk")
    cuts = [float(shot.start) for shot in talk.shots.shots[1:]]
    assert cuts == pytest.approx([1.5, 3.0], abs=1 / 30 + 1e-6)
    assert talk.transcript.source == "sidecar"
    assert [w.text for w in talk.transcript.words][:3] == ["Welcome", "to", "the"]
    assert talk.audio is not None and talk.audio.integrated_lufs is not None
    assert _statuses(index, "silent") == {
        "shots": "ran", "transcript": "skipped", "embeddings": "skipped", "audio": "skipped", "speech": "skipped",
        "faces": "skipped", "bars": "ran",  # the suite turns faces off (conftest); test_reframe runs them
    }  # fmt: skip
    assert index.file("logo").info.kind == "image" and index.file("logo").shots is None
    # No Whisper weights offline: said once, with how to supply them; music has no sidecar.
    music_transcript = next(r for r in index.file("music").runs if r.analyser == "transcript")
    assert music_transcript.status == "skipped" and "tiny" in music_transcript.model
    assert len([n for n in index.notes if "Whisper" in n]) == 1
    assert "--whisper-model" in index.notes[0]


def test_warm_run_hits_the_cache_and_is_fast(folder, tmp_path):
    cache_dir = tmp_path / "cache"
    started = time.perf_counter()
    cold = analyze_folder(folder, NO_MODELS, Cache(cache_dir))
    cold_seconds = time.perf_counter() - started

    warm_cache = Cache(cache_dir)
    started = time.perf_counter()
    warm = analyze_folder(folder, NO_MODELS, warm_cache)
    warm_seconds = time.perf_counter() - started

    assert warm_seconds <= max(0.05 * cold_seconds, 1.0), (cold_seconds, warm_seconds)
    assert warm_cache.hits > 0
    ran = [(f.id, r.analyser) for f in warm.files for r in f.runs if r.status == "ran" and not r.model.startswith("sidecar")]
    assert ran == []
    assert warm.model_dump(exclude={"files": {"__all__": {"runs"}}}) == cold.model_dump(
        exclude={"files": {"__all__": {"runs"}}}
    )


def test_changing_one_file_reanalyses_only_that_file(folder, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(folder, root)
    cache = tmp_path / "cache"
    analyze_folder(root, NO_MODELS, Cache(cache))

    make_cut_video(root / "talk.mp4", ["mandelbrot", "testsrc2"], seconds=1.0)  # new content, 2 shots
    again = analyze_folder(root, NO_MODELS, Cache(cache))

    assert _statuses(again, "talk")["shots"] == "ran"
    assert len(again.file("talk").shots.shots) == 2
    assert _statuses(again, "talk")["audio"] == "ran"
    for other in ("silent", "music"):
        assert "ran" not in _statuses(again, other).values()


def test_a_corrupt_cache_entry_is_a_miss_not_a_crash(folder, tmp_path):
    cache_dir = tmp_path / "cache"
    analyze_folder(folder, NO_MODELS, Cache(cache_dir))
    for entry in (cache_dir / "v1" / "entries").rglob("*.json"):
        entry.write_text("{ truncated")
    index = analyze_folder(folder, NO_MODELS, Cache(cache_dir))
    assert _statuses(index, "talk")["shots"] == "ran"
    assert len(index.file("talk").shots.shots) == 3


def test_cache_key_covers_every_input():
    base = entry_key("f1", "shots", None, {"threshold": 27})
    assert base == entry_key("f1", "shots", None, {"threshold": 27})
    assert len({
        base,
        entry_key("f2", "shots", None, {"threshold": 27}),
        entry_key("f1", "audio", None, {"threshold": 27}),
        entry_key("f1", "shots", "m", {"threshold": 27}),
        entry_key("f1", "shots", None, {"threshold": 30}),
    }) == 5  # fmt: skip


def _cli_analyze(root: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **OFFLINE}
    command = [sys.executable, "-m", "clipagent", "analyze", str(root), "--cache-dir", str(cache), "--json", *extra]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_concurrent_runs_do_not_corrupt_the_cache(folder, tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, **OFFLINE}
    command = [sys.executable, "-m", "clipagent", "analyze", str(folder), "--cache-dir", str(cache), "--json",
               "--no-embeddings", "--whisper-model", "tiny"]  # fmt: skip
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    third = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert third.returncode == 0, third.stderr
    indexes = [json.loads(stdout) for stdout, _ in outputs] + [json.loads(third.stdout)]
    for index in indexes:
        for file in index["files"]:
            file.pop("runs")
    assert indexes[0] == indexes[1] == indexes[2]
    assert "0 miss" in third.stderr or "miss(es)" in third.stderr


def test_search_finds_the_shot_where_a_sidecar_line_says_the_word(folder, tmp_path):
    index = analyze_folder(folder, NO_MODELS, Cache(tmp_path / "cache"))
    hits = search(index, "bicycles")
    assert hits, "no hit"
    best = hits[0]
    assert (best.file_id, best.shot) == ("talk", 1)
    assert (best.start, best.end) == (Fraction(8, 5), Fraction(29, 10))  # the sentence, inside shot 1
    assert "bicycle" in best.words and best.clip_score is None
    assert all(hit.text_score for hit in hits)  # only shots that say a query term
    assert search(index, "submarine") == []


def test_cli_search_prints_hits_and_writes_a_contact_sheet(folder, tmp_path, capsys):
    import cv2

    sheet = tmp_path / "hits.png"
    code = main(["search", str(folder), "workshop", "--cache-dir", str(tmp_path / "c"), "--no-embeddings",
                 "--whisper-model", "tiny", "--contact-sheet", str(sheet), "--json"])  # fmt: skip
    assert code == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["path"] == "talk.mp4" and hits[0]["start"] == "0.1" and "workshop" in hits[0]["words"]
    image = cv2.imread(str(sheet))
    assert image is not None and image.shape[0] > 180 and image.std() > 5


def test_cli_analyze_rejects_a_missing_folder(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope"), "--cache-dir", str(tmp_path / "c")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_media_ids_are_stable_and_unique():
    used: set[str] = set()
    assert media_id("day1/Take 2.MP4", used) == "day1-take-2"
    assert media_id("day1/take_2.mov", used) == "day1-take-2-2"
    assert media_id("README", used) == "readme"


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is absent")
def test_realworld_folder_is_analysed_without_crashing(tmp_path):
    index = analyze_folder(REALWORLD, AnalyzeOptions(embeddings=False, transcripts="none"), Cache(tmp_path / "c"))
    seen = {f.path for f in index.files} | {s.path for s in index.skipped}
    assert seen == {p.name for p in REALWORLD.iterdir() if p.is_file()}
    assert all(s.reason for s in index.skipped)
    for file in index.files:
        if file.info.kind == "video":
            assert file.shots is not None or any(r.status == "failed" and r.reason for r in file.runs), file.path
    bunny = next(f for f in index.files if f.path == "mp_big_buck_bunny_0_30.webm")
    assert len(bunny.shots.shots) > 3
    rain = next(f for f in index.files if f.path == "mp_rain.mp3")
    assert rain.info.kind == "audio" and len(rain.audio.loudness) > 100


def test_real_model_code_runs_through_analyze_and_search(folder, tmp_path, tiny_whisper, tiny_clip, one_torch_thread):
    """Tiny random Whisper and open_clip checkpoints go through the real loaders, transcription
    with word timestamps and keyframe embedding; a warm re-run then never imports torch."""
    config, checkpoint = tiny_clip
    cache = tmp_path / "cache"
    flags = ["--faces", "--transcripts", "whisper", "--whisper-model", str(tiny_whisper),
             "--clip-model", str(config), "--clip-checkpoint", str(checkpoint), "--device", "cpu"]  # fmt: skip
    cold = _cli_analyze(folder, cache, *flags)
    assert cold.returncode == 0, cold.stderr
    talk = next(f for f in json.loads(cold.stdout)["files"] if f["id"] == "talk")
    transcript = talk["transcript"]
    assert transcript["source"] == "whisper"
    assert transcript["model"].startswith(f"openai-whisper:{tiny_whisper.name}@sha256:")
    words = [w for s in transcript["segments"] for w in s["words"]]
    # The tone under "talk" holds no speech: the words the random model hears lie outside every speech
    # region and are dropped (vad.snap_words); the notes say how many it heard.
    heard = [n for n in json.loads(cold.stdout)["notes"] if n.startswith("talk.mp4: ")]
    assert words == [] and heard and re.match(r"talk\.mp4: (\d+) of \1 recognised words lie outside", heard[0])
    keyframes = sum(len(shot["keyframes"]) for shot in talk["shots"]["shots"])
    assert talk["embeddings"]["dim"] == 32 and len(talk["embeddings"]["shot_of_vector"]) == keyframes
    runs = {r["analyser"]: r for r in talk["runs"]}
    assert runs["transcript"]["status"] == runs["embeddings"]["status"] == runs["faces"]["status"] == "ran"
    assert "clipagent-tiny-clip" in runs["embeddings"]["model"]

    # Warm: everything from the cache, in a process that must not import torch.
    probe = (
        "import sys, json; from clipagent.cli import main; code = main(sys.argv[1:]);"
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)"
    )
    env = {**os.environ, **OFFLINE}
    warm = subprocess.run(
        [sys.executable, "-c", probe, "analyze", str(folder), "--cache-dir", str(cache), "--json", *flags],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert warm.returncode == 0, warm.stderr
    warm_talk = next(f for f in json.loads(warm.stdout)["files"] if f["id"] == "talk")
    assert {r["status"] for r in warm_talk["runs"]} == {"cached"}

    # Search embeds the query with the same CLIP model: every shot gets a CLIP score.
    found = subprocess.run(
        [sys.executable, "-m", "clipagent", "search", str(folder), "a bicycle", "--json", "--cache-dir", str(cache),
         *flags],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert {(h["path"], h["shot"]) for h in hits} >= {("talk.mp4", 0), ("talk.mp4", 1), ("talk.mp4", 2)}
    assert all(h["clip_score"] is not None and -1 <= h["clip_score"] <= 1 for h in hits if h["path"] == "talk.mp4")


def test_missing_weights_are_said_once_for_many_files(tmp_path):
    root = tmp_path / "two"
    root.mkdir()
    make_video(root / "a.mp4", duration=1)
    make_video(root / "b.mp4", duration=1, tone=660)
    index = analyze_folder(root, NO_MODELS, Cache(tmp_path / "cache"))
    assert [n for n in index.notes if "Whisper" in n] == [index.notes[0]]
    for file_id in ("a", "b"):
        run = next(r for r in index.file(file_id).runs if r.analyser == "transcript")
        assert run.status == "skipped" and "unavailable" in run.reason


def test_clipagent_output_folders_are_not_footage(tmp_path):
    """An earlier edit's folder (report.json by clipagent) or a variants batch (.index.json beside
    manifest.json) inside the media folder is left out, with a note; a user's folder with a
    report.json of its own is footage, and so are the files of the media folder itself."""
    from clipagent.analysis.index import media_files

    media = tmp_path / "media"
    for rel in ("talk.mp4", "out/cut.mp4", "batch/tiktok/cut.mp4", "batch/thumb.png", "mine/clip.mp4"):
        (media / rel).parent.mkdir(parents=True, exist_ok=True)
        (media / rel).write_bytes(b"not really a video")
    (media / "out/report.json").write_text('{\n "clipagent_version": "0.1.0",\n "brief": "b.md"\n}')
    (media / "batch/.index.json").write_text("{}")
    (media / "batch/manifest.json").write_text('{"axes": [], "variants": []}')
    (media / "mine/report.json").write_text('{"quarter": 3}')
    found = [p.relative_to(media).as_posix() for p in media_files(media)]
    assert found == ["mine/clip.mp4", "mine/report.json", "talk.mp4"]
    index = analyze_folder(media, AnalyzeOptions(transcripts="none", embeddings=False, faces=False),
                           Cache(tmp_path / "c"))  # fmt: skip
    assert sorted(s.path for s in index.skipped) == found  # none of them is real media; none left out silently
    assert [n for n in index.notes if "output folder" in n] == [
        f"{media / 'batch'}: a clipagent output folder; its files are not used as footage",
        f"{media / 'out'}: a clipagent output folder; its files are not used as footage",
    ]
