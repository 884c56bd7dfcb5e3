"""File-system faults on outputs (issue 10, kind 4) and the outputs' modes (kind 12).

Read-only and full disks are real tmpfs mounts when the tests run as root (CI does; chmod does
not stop root), and skip cleanly where mounting is not allowed. A read-only folder falls back to
chmod for other users."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clipagent import files
from clipagent.cli import main
from clipagent.errors import DiskFullError, OutputPathError, RenderError

from .conftest import REPO, edl_from

SAMPLES = REPO / "samples"
EDIT_FILES = {"edl.json", "cut.otio", "plan.md", "captions.srt", "captions.vtt", "captions.ass", "storyboard.png", "report.json"}


pytestmark = pytest.mark.usefixtures("offline_planner")


def _mount_tmpfs(target: Path, options: str) -> Path:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    return target


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody can write into: a read-only tmpfs as root, chmod 0555 otherwise."""
    target = tmp_path / "ro"
    if os.geteuid() == 0:
        _mount_tmpfs(target, "ro,size=1m")
        yield target
        subprocess.run(["umount", "-l", str(target)], check=False)
    else:
        target.mkdir()
        target.chmod(0o555)
        yield target
        target.chmod(0o755)


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs filled to all but a few KiB: room for a file's name, not for a render."""
    target = _mount_tmpfs(tmp_path / "full", "size=64k")
    filler = target / "filler"
    with open(filler, "wb") as out:
        try:
            out.write(b"\0" * (64 * 1024 - 8 * 1024))
        except OSError:
            pass
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def write_edl(tmp_path: Path, media_dir: Path, data: dict | None = None) -> Path:
    path = tmp_path / "edl.json"
    edl = edl_from(data or {}).model_copy(update={"media_root": str(media_dir)})
    path.write_text(edl.model_dump_json())
    return path


def _no_work(monkeypatch):
    """Fail the test if validation or analysis starts: the output check must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr("clipagent.render.run.validate_edl", forbidden)
    monkeypatch.setattr("clipagent.edit.analyze_folder", forbidden)
    monkeypatch.setattr("clipagent.cli_analysis._analyze_with_progress", forbidden)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- kind 12: modes ----------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        files.write_atomic(tmp_path / "x.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary file left


def test_every_edit_output_gets_the_umask_mode_like_the_cut(media_dir, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "dry"
        assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--dry-run"]) == 0
        cut = tmp_path / "cut.mp4"
        assert main(["render", str(write_edl(tmp_path, media_dir)), "-o", str(cut), "--encoder", "libx264"]) == 0
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert EDIT_FILES <= set(modes)
    assert set(modes.values()) == {0o644}, modes
    assert stat.S_IMODE(cut.stat().st_mode) == 0o644


# --- kind 4: checks before any work ------------------------------------------------------------


def test_render_into_a_read_only_folder_is_refused_before_any_work(media_dir, tmp_path, readonly_dir, monkeypatch, capsys):
    edl = write_edl(tmp_path, media_dir)
    _no_work(monkeypatch)
    assert main(["render", str(edl), "-o", str(readonly_dir / "cut.mp4")]) == 2
    err = capsys.readouterr().err
    assert str(readonly_dir / "cut.mp4") in err and "Traceback" not in err
    assert ("read-only" in err) if os.geteuid() == 0 else ("permission denied" in err)
    assert list(readonly_dir.iterdir()) == []


def test_render_output_naming_an_existing_folder_is_refused_before_any_work(media_dir, tmp_path, monkeypatch, capsys):
    edl = write_edl(tmp_path, media_dir)
    folder = tmp_path / "cuts.mp4"
    folder.mkdir()
    _no_work(monkeypatch)
    assert main(["render", str(edl), "-o", str(folder)]) == 2
    assert main(["render", str(edl), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"output {folder} is an existing folder" in err and "cut.mp4" in err
    assert f"output {tmp_path} is an existing folder" in err
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "make_output, says",
    [
        (lambda tmp: tmp / "a-file" / "cut.mp4", "not a folder"),  # a file where a folder is expected
        (lambda tmp: tmp / "a-file" / "deeper" / "cut.mp4", "not a folder"),
        (lambda tmp: tmp / ("x" * 250 + ".mp4"), "name too long"),
        (lambda tmp: Path("/proc/cut.mp4"), "does not take new files"),
    ],
)
def test_unusable_output_paths_are_bad_input_naming_the_path(media_dir, tmp_path, monkeypatch, capsys, make_output, says):
    (tmp_path / "a-file").write_text("I am a file")
    edl = write_edl(tmp_path, media_dir)
    output = make_output(tmp_path)
    _no_work(monkeypatch)
    assert main(["render", str(edl), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert says in err and str(output)[:60] in err and "Traceback" not in err
    assert (tmp_path / "a-file").read_text() == "I am a file"


def test_edit_into_a_read_only_folder_is_refused_before_analysis(tmp_path, readonly_dir, monkeypatch, capsys):
    _no_work(monkeypatch)
    out = readonly_dir / "out"
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "Traceback" not in err
    assert list(readonly_dir.iterdir()) == []


def test_edit_output_folder_that_is_a_file_or_holds_a_folder_named_like_an_output(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    a_file = tmp_path / "out.txt"
    a_file.write_text("keep me")
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(a_file)]) == 2
    assert f"output folder {a_file} is a file" in capsys.readouterr().err
    out = tmp_path / "out"
    (out / "cut.mp4").mkdir(parents=True)
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out)]) == 2
    assert f"{out / 'cut.mp4'} is a folder" in capsys.readouterr().err
    assert a_file.read_text() == "keep me"


def test_analyze_and_search_outputs_are_checked_before_analysis(tmp_path, readonly_dir, monkeypatch, capsys):
    _no_work(monkeypatch)
    assert main(["analyze", str(SAMPLES / "media"), "-o", str(readonly_dir / "index.json")]) == 2
    assert main(["analyze", str(SAMPLES / "media"), "-o", str(tmp_path)]) == 2
    assert main(["search", str(SAMPLES / "media"), "host", "--contact-sheet", str(readonly_dir / "hits.png")]) == 2
    err = capsys.readouterr().err
    assert str(readonly_dir / "index.json") in err and str(readonly_dir / "hits.png") in err
    assert "is an existing folder" in err and "Traceback" not in err


def test_requested_encoder_that_does_not_work_is_bad_input_before_analysis(media_dir, tmp_path, monkeypatch, capsys):
    from clipagent.ffmpeg import find_ffmpeg
    from clipagent.render.encoders import encoder_works

    if encoder_works(find_ffmpeg(), "h264_nvenc"):
        pytest.skip("this machine has a working NVENC")
    _no_work(monkeypatch)
    out = tmp_path / "out"
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--encoder", "h264_nvenc"]) == 2
    err = capsys.readouterr().err
    assert "--encoder h264_nvenc" in err and "NVENC" in err and "Traceback" not in err
    assert not out.exists()


# --- kind 4: full disks, and the edit folder all or nothing -------------------------------------


def test_render_onto_a_full_disk_names_the_disk_not_just_ffmpeg(media_dir, tmp_path, full_disk, capsys):
    edl = write_edl(tmp_path, media_dir, {"clips": [{"id": "c", "media": "a", "src_in": 0, "src_out": 2}]})
    out = full_disk / "cut.mp4"
    assert main(["render", str(edl), "-o", str(out), "--encoder", "libx264"]) == 1
    err = capsys.readouterr().err
    assert f"no space is left on the disk holding {out}" in err and "Traceback" not in err
    assert "ffmpeg said" in err and "No space left on device" in err  # its log survived the full disk
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # no partial file, no work folder


def test_render_error_on_a_full_disk_is_typed(media_dir, tmp_path, full_disk):
    from clipagent.render.run import plan_render, run_render

    job = plan_render(edl_from({}), media_dir, full_disk / "cut.mp4", encoder="libx264")
    with pytest.raises(DiskFullError) as caught:
        run_render(job)
    assert caught.value.path == full_disk / "cut.mp4" and caught.value.exit_code == 1


def test_edit_onto_a_full_disk_adds_nothing_and_keeps_the_previous_outputs(tmp_path, full_disk, capsys):
    out = full_disk / "out"
    out.mkdir()
    (out / "plan.md").write_text("the previous plan")
    (out / "report.json").write_text('{"clipagent_version": "0.1"}')  # a folder clipagent wrote (else refused)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "no space is left on the disk holding" in err and str(out) in err and "Traceback" not in err
    assert ".work" not in err.split("hint")[0]  # names the output file, not the staging folder
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing new, nothing half-written


def test_edit_whose_render_fails_adds_nothing(tmp_path, monkeypatch, capsys):
    def broken(job, progress=None):
        raise RenderError("ffmpeg failed while rendering (exit code 1)", stderr_tail="boom")

    monkeypatch.setattr("clipagent.render.run.run_render", broken)
    fresh = tmp_path / "fresh"
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(fresh), "--encoder", "libx264"]) == 1
    assert "ffmpeg failed" in capsys.readouterr().err
    assert not fresh.exists()  # the folder this run created is gone again

    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "edl.json").write_text("{}")
    (kept / "report.json").write_text('{"clipagent_version": "0.1"}')  # a folder clipagent wrote (else refused)
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(kept), "--encoder", "libx264"]) == 1
    assert sorted(p.name for p in kept.iterdir()) == ["edl.json", "report.json"] and (kept / "edl.json").read_text() == "{}"


def test_edit_publishes_every_output_at_once_and_leaves_no_staging(tmp_path):
    out = tmp_path / "out"
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--dry-run"]) == 0
    assert {p.name for p in out.iterdir()} == EDIT_FILES
    edl = json.loads((out / "edl.json").read_text())
    assert (out / edl["media_root"]).resolve() == (SAMPLES / "media").resolve()  # rooted from OUT_DIR, not staging


# --- kind 4: what a killed run leaves is cleaned by the next -----------------------------------


def test_clean_stale_removes_dead_runs_and_keeps_live_ones(tmp_path):
    (tmp_path / ".cut.mp4.dead0001.partial").write_bytes(b"half a cut")
    (tmp_path / ".cut.mp4.dead0001.work").mkdir()
    (tmp_path / ".cut.mp4.dead0001.work" / "mix.wav").write_bytes(b"x")
    (tmp_path / ".cut.mp4.dead0002.work").mkdir()  # a work folder whose partial is gone
    (tmp_path / ".other.mp4.dead0003.partial").write_bytes(b"another output's")
    with files.claim(tmp_path, "cut.mp4") as live:
        assert _hidden(tmp_path) == sorted([".other.mp4.dead0003.partial", live.partial.name, live.work.name])
        files.clean_stale(tmp_path, "cut.mp4")  # a second run at the same time
        assert live.partial.exists() and live.work.is_dir()
    assert _hidden(tmp_path) == [".other.mp4.dead0003.partial"]


def test_a_sigkilled_render_leaves_leftovers_the_next_render_removes(media_dir, tmp_path):
    edl = write_edl(tmp_path, media_dir, {
        "output": {"width": 1280, "height": 720, "fps": 30},
        "clips": [{"id": f"c{i}", "media": "b", "src_in": 0, "src_out": 2.9} for i in range(6)],
    })  # fmt: skip
    out = tmp_path / "out" / "cut.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "clipagent", "render", str(edl), "-o", str(out), "--encoder", "libx264"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(".*.partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # ffmpeg is at work
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    left = _hidden(out.parent)
    assert any(n.endswith(".partial") for n in left) and any(n.endswith(".work") for n in left), left

    small = write_edl(tmp_path, media_dir)
    assert main(["render", str(small), "-o", str(out), "--encoder", "libx264"]) == 0
    assert [p.name for p in out.parent.iterdir()] == ["cut.mp4"]


def test_the_next_edit_removes_a_killed_edits_staging(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".edit.dead0001.partial").write_bytes(b"")
    (out / ".edit.dead0001.work").mkdir()
    (out / ".edit.dead0001.work" / "edl.json").write_text("{}")
    (out / ".cut.mp4.dead0002.partial").write_bytes(b"half a cut from `render -o out/cut.mp4`")
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--dry-run"]) == 0
    assert {p.name for p in out.iterdir()} == EDIT_FILES


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, kind, words",
    [
        ("ENOSPC", DiskFullError, "no space is left"),
        ("EDQUOT", DiskFullError, "quota"),
        ("EROFS", OutputPathError, "read-only"),
        ("EACCES", OutputPathError, "permission denied"),
        ("ENAMETOOLONG", OutputPathError, "name too long"),
    ],
)
def test_file_system_errors_are_named_plainly(code, kind, words):
    import errno

    error = files.output_error(OSError(getattr(errno, code), os.strerror(getattr(errno, code))), "/x/cut.mp4")
    assert isinstance(error, kind) and words in str(error) and "/x/cut.mp4" in str(error) and error.hint
    assert error.exit_code == (1 if kind is DiskFullError else 2)


def test_error_messages_with_brackets_print_as_written(media_dir, tmp_path, capsys):
    folder = tmp_path / "[bold]take"
    folder.mkdir()
    assert main(["render", str(write_edl(tmp_path, media_dir)), "-o", str(folder)]) == 2
    assert "[bold]take" in capsys.readouterr().err


def test_an_unwritable_default_cache_is_said_once_and_the_analysis_goes_on(media_dir, readonly_dir, monkeypatch,
                                                                          capsys):
    """The default cache, which the user did not choose, is best effort; a --cache-dir or
    CLIPAGENT_CACHE_DIR that cannot be written is refused up front (tests/test_cli.py)."""
    monkeypatch.delenv("CLIPAGENT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(readonly_dir))
    code = main(["analyze", str(media_dir), "--no-embeddings", "--transcripts", "none"])
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("could not be written") == 1 and str(readonly_dir / "clipagent") in err


def test_revise_with_a_file_named_history_is_refused_before_analysis(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--dry-run"]) == 0
    (out / "history").write_text("not a folder")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _no_work(monkeypatch)
    assert main(["revise", str(out), "make it 2 seconds shorter", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'history'} is a file" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# --- outputs that are no regular file, folders of the user's, probes beside inputs -------------


def _specials(folder: Path, suffix: str) -> list[Path]:
    """A FIFO and, as root where mknod is allowed, a /dev/full twin (char 1:7; never the real
    one), each with a link to it, all named `*suffix`."""
    made = [folder / f"fifo{suffix}"]
    os.mkfifo(made[0])
    try:
        os.mknod(folder / f"node{suffix}", 0o644 | stat.S_IFCHR, os.makedev(1, 7))
        made.append(folder / f"node{suffix}")
    except (OSError, AttributeError):
        pass  # not root, or no device nodes here: the FIFO still stands for the kind
    for special in list(made):
        link = folder / f"link-to-{special.name}"
        link.symlink_to(special.name)
        made.append(link)
    return made


def _special_still(path: Path) -> bool:
    mode = os.stat(path).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


@pytest.mark.parametrize("command, suffix", [("analyze", ".json"), ("export", ".otio"), ("import", ".json"),
                                             ("render", ".mp4"), ("search", ".png")])  # fmt: skip
def test_an_output_that_is_a_device_fifo_or_a_link_to_one_is_refused_before_any_work(
    media_dir, tmp_path, monkeypatch, capsys, command, suffix
):
    edl = write_edl(tmp_path, media_dir)
    timeline = tmp_path / "x.otio"
    if command == "import":
        assert main(["export", str(edl), "--format", "otio", "-o", str(timeline)]) == 0
    (tmp_path / "specials").mkdir()
    targets = _specials(tmp_path / "specials", suffix)
    _no_work(monkeypatch)
    for target in targets:
        argv = {
            "analyze": ["analyze", str(media_dir), "-o", str(target)],
            "export": ["export", str(edl), "--format", "otio", "-o", str(target)],
            "import": ["import", str(timeline), "-o", str(target)],
            "render": ["render", str(edl), "-o", str(target)],
            "search": ["search", str(media_dir), "hello", "--contact-sheet", str(target)],
        }[command]
        assert main(argv) == 2, target
        err = " ".join(capsys.readouterr().err.split())
        assert f"{target} is not a regular file" in err and "Traceback" not in err, err
        assert _special_still(target)  # not replaced by a plain file (a link still leads to one)
    assert sorted(p.name for p in (tmp_path / "specials").iterdir()) == sorted(t.name for t in targets)


def test_the_final_rename_never_replaces_a_device_or_fifo(tmp_path):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    with pytest.raises(files.NotRegularFileError):  # an OSError: the cache takes it as a miss
        files.write_atomic(fifo, b"{}")
    with pytest.raises(OutputPathError, match="not a regular file"):
        files.write_output(fifo, b"{}")
    with pytest.raises(OutputPathError, match="report.json is not a regular file"):
        files.check_output_dir(tmp_path, ("report.json",))
    with pytest.raises(OutputPathError, match="is a FIFO"):
        files.check_output_dir(fifo)
    source = tmp_path / "staged"
    source.write_bytes(b"x")
    with pytest.raises(files.NotRegularFileError):
        files.replace_file(source, fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and source.read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "staged"]  # no temporary file left


def test_edit_and_variants_refuse_a_folder_of_the_users_files_before_any_work(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    monkeypatch.setattr("clipagent.batch.variants._analyse_once", lambda *a, **k: pytest.fail("analysed"))
    proj, docs = tmp_path / "proj", tmp_path / "mydocs"
    proj.mkdir()
    (proj / "plan.md").write_text("my own plan")
    docs.mkdir()
    (docs / "manifest.csv").write_text("mine\n")
    (docs / "manifest.json").write_text('{"mine": true}')
    brief, media = str(SAMPLES / "brief.md"), str(SAMPLES / "media")
    assert main(["edit", brief, media, "-o", str(proj), "--dry-run"]) == 2
    assert main(["variants", brief, media, "-o", str(docs), "--matrix", str(_matrix(tmp_path))]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"output folder {proj} already holds files clipagent did not write (plan.md)" in err
    assert f"{docs} already holds files clipagent did not write (manifest.csv, manifest.json)" in err
    assert err.count("choose a new or empty folder, or a folder clipagent wrote") == 2 and "Traceback" not in err
    assert (proj / "plan.md").read_text() == "my own plan" and sorted(p.name for p in proj.iterdir()) == ["plan.md"]
    assert (docs / "manifest.csv").read_text() == "mine\n" and len(list(docs.iterdir())) == 2


def _matrix(folder: Path, name: str = "matrix.csv") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("aspect\n9:16\n")
    return path


def test_an_output_folder_may_be_new_empty_a_killed_runs_or_one_clipagent_wrote(tmp_path):
    from clipagent.analysis.index import _is_output_folder
    from clipagent.batch.variants import _is_batch_folder

    never = lambda folder: False  # noqa: E731
    files.check_output_dir(tmp_path / "new", reusable=never)
    files.check_output_dir(tmp_path, reusable=never)  # empty
    (tmp_path / ".edit.0badf00d.partial").write_bytes(b"")  # a killed run's leftovers: the next run removes them
    (tmp_path / ".cut.mp4.0badf00d.work").mkdir()
    files.check_output_dir(tmp_path, reusable=never)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError, match=r"did not write \(notes.txt\)"):
        files.check_output_dir(tmp_path, reusable=never)
    (tmp_path / "report.json").write_text('{"clipagent_version": "0.1", "title": "x"}')
    files.check_output_dir(tmp_path, reusable=_is_output_folder)  # edit's folder (the analysis' own test)
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "manifest.json").write_text('{"axes": ["aspect"], "variants": []}\n')
    assert _is_batch_folder(batch)
    (batch / "manifest.json").write_text('{"axes": ["aspect"], "variants": [], "mine": 1}')
    assert not _is_batch_folder(batch)
    (batch / ".index.json").write_text("{}")  # a batch killed before its first manifest
    assert _is_batch_folder(batch)


def test_an_output_refused_as_an_input_creates_no_probe_beside_the_inputs(media_dir, tmp_path, monkeypatch, capsys):
    probed: list[Path] = []
    real = files._check_writable_above
    monkeypatch.setattr(files, "_check_writable_above", lambda path, shown=None: (probed.append(path), real(path, shown)))
    _no_work(monkeypatch)
    edl = write_edl(tmp_path, media_dir)
    assert main(["render", str(edl), "-o", str(media_dir / "a.mp4")]) == 2
    assert main(["analyze", str(media_dir), "-o", str(media_dir / "a.mp4")]) == 2
    assert main(["search", str(media_dir), "hello", "--contact-sheet", str(media_dir / "logo.png")]) == 2
    brief = tmp_path / "out" / "plan.md"
    brief.parent.mkdir()
    brief.write_text((SAMPLES / "brief.md").read_text())
    assert main(["edit", str(brief), str(SAMPLES / "media"), "-o", str(brief.parent), "--dry-run"]) == 2
    matrix = _matrix(tmp_path / "batch", "manifest.csv")  # the matrix kept where the batch writes its manifest
    assert main(["variants", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(matrix.parent),
                 "--matrix", str(matrix)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("refusing to overwrite an input") == 5 and "Traceback" not in err
    sources = [media_dir, brief.parent, matrix.parent]  # (the cache folder is probed too: it is no source)
    assert [path for path in probed if any(path.resolve().is_relative_to(s.resolve()) for s in sources)] == []


def test_a_contact_sheet_must_be_named_as_an_image(media_dir, tmp_path, monkeypatch, capsys):
    from clipagent.contact_sheet import Tile, write_contact_sheet

    _no_work(monkeypatch)
    for name in ("hits.mp4", "hits", "hits.gif"):
        assert main(["search", str(media_dir), "hello", "--contact-sheet", str(tmp_path / name)]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"--contact-sheet {tmp_path / name} must end in .png, .jpg, .jpeg, .webp" in err, err
    assert list(tmp_path.iterdir()) == []
    tiles = [Tile(None, ["a blank tile"])]
    magic = {"s.png": b"\x89PNG", "s.JPG": b"\xff\xd8\xff", "s.jpeg": b"\xff\xd8\xff", "s.webp": b"RIFF"}
    for name, head in magic.items():
        write_contact_sheet(tmp_path / name, tiles)
        assert (tmp_path / name).read_bytes().startswith(head), name
