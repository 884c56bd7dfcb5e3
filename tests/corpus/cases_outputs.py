"""Output-path and fault cases: `render` and `edit` writing where they cannot or must not (an
existing directory, a file as the parent, an input, the EDL, a link to an input, a read-only
directory, a read-only mount, a full disk), an interrupted render, a broken or crashing ffmpeg,
and the leftovers of a killed run.

Issue 10 kind 4: an output that cannot be written is bad input (exit 2) found before any work;
a full disk or a crash is a failure (exit 1) that names its cause; nothing partial is left and an
earlier output is kept. The read-only mount and the full disk are a bind mount and a small tmpfs
in a private mount namespace (`unshare -m`); where that is not allowed those cases are skipped.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .cases_briefs import GOOD_FRONT, talk
from .harness import EDIT_FAST, Case, Work

RENDER = ["--encoder", "libx264"]
OLD = b"the previous cut, which must survive\n"


def _edl(work: Work, **fields) -> None:
    work.copy("good.mp4", "a.mp4")
    work.edl(**fields)


def render_to(target: str, prepare=None, encoder: list[str] = RENDER):
    """A setup: a valid 1 s EDL over a.mp4, `prepare(work)` (makes the target awkward), render -o target."""

    def setup(work: Work) -> list[str]:
        _edl(work)
        if prepare:
            prepare(work)
        return ["render", "edl.json", "-o", target, *encoder]

    return setup


def edit_to(target: str, prepare=None, dry_run: bool = True):
    def setup(work: Work) -> list[str]:
        talk(work)
        work.brief(GOOD_FRONT)
        if prepare:
            prepare(work)
        return ["edit", "brief.md", "media", "-o", target, *EDIT_FAST, *(["--dry-run"] if dry_run else []), *RENDER]

    return setup


def writes_into_media(command: str, flag: str, target: str, prepare=None):
    """A setup: the talk's media folder, `prepare(work)`, `analyze media` or `search media hello` writing `flag target`."""

    def setup(work: Work) -> list[str]:
        talk(work)
        if prepare:
            prepare(work)
        query = ["hello"] if command == "search" else []
        return [command, "media", *query, flag, target, "--transcripts", "sidecar", "--no-embeddings", "--no-faces"]

    return setup


def _brief_in_the_output(work: Work) -> list[str]:
    """A brief named plan.md in the output folder, which edit would write plan.md over."""
    talk(work)
    work.brief(GOOD_FRONT, rel="out/plan.md")
    return ["edit", "out/plan.md", "media", "-o", "out", *EDIT_FAST, "--dry-run", *RENDER]


def _matrix_is_the_manifest(work: Work) -> list[str]:
    """A variants matrix kept as out/manifest.csv, where the batch writes its manifest."""
    talk(work)
    work.brief(GOOD_FRONT)
    work.write("out/manifest.csv", "aspect\n9:16\n1:1\n")
    return ["variants", "brief.md", "media", "--matrix", "out/manifest.csv", "-o", "out", "--planner", "heuristic",
            "--no-embeddings", "--no-faces"]  # fmt: skip


def _locked(work: Work) -> None:
    """A read-only directory: mode 0555, or for root (who writes anyway) chattr +i (immutable);
    undone after the run."""
    locked = work.path("locked")
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(0o555)
        work.cleanup.append(lambda: locked.chmod(0o755))
    elif shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    else:
        work.cleanup.append(lambda: subprocess.run(["chattr", "-i", str(locked)], check=True))
    if _writable(locked):
        for undo in work.cleanup:
            undo()
        work.cleanup.clear()
        pytest.skip("a read-only directory is still writable here")


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


@functools.cache
def _namespaces() -> bool:
    """Whether this process may mount a tmpfs in a private mount namespace."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


def _in_namespace(work: Work, script: str) -> None:
    """Run the CLI after `script` inside a private mount namespace; list what it left in `mnt/`."""
    if not _namespaces():
        pytest.skip("cannot mount inside a private mount namespace here")
    work.path("mnt").mkdir()
    body = f'{script} || exit 97; "$@"; rc=$?; ls -A mnt > listing.txt; exit $rc'
    work.wrap = lambda command: ["unshare", "-m", "sh", "-c", body, "sh", *command]


def _full_disk(work: Work) -> None:
    _in_namespace(work, "mount -t tmpfs -o size=48k tmpfs mnt")


def _read_only_mount(work: Work) -> None:
    _in_namespace(work, "mount --bind mnt mnt && mount -o remount,bind,ro mnt")


def _nothing_left_on_the_mount(work: Work, result) -> None:
    listing = work.path("listing.txt").read_text()
    assert listing.strip() == "", f"left on the full disk: {listing.split()}"


def _existing_dir(name: str):
    return lambda work: work.path(name).mkdir()


def _link(work: Work) -> None:
    os.symlink("media/a.mp4", work.path("link.mp4"))


def _stale_leftovers(work: Work) -> None:
    work.write("cut.mp4", OLD)
    work.write(".cut.mp4.0badf00d.partial", b"half a cut")
    work.write(".cut.mp4.0badf00d.work/mix.wav", b"RIFF")


def _leftovers_cleaned(work: Work, result) -> None:
    assert not work.path(".cut.mp4.0badf00d.partial").exists(), "the killed run's .partial file is still there"
    assert not work.path(".cut.mp4.0badf00d.work").exists(), "the killed run's .work folder is still there"
    assert work.path("cut.mp4").read_bytes() != OLD, "cut.mp4 was not rendered"


def _interrupted(work: Work) -> list[str]:
    """A long render (58 s of 640x360) that gets SIGTERM 4 s after it starts."""
    work.copy("good.mp4", "a.mp4")
    clips = [{"id": f"c{n}", "media": "a", "src_in": 0, "src_out": 2.9} for n in range(20)]
    work.edl(output={"width": 640, "height": 360, "fps": 30}, clips=clips)
    work.write("cut.mp4", OLD)
    body = '"$@" & pid=$!; sleep 4; kill -TERM $pid; wait $pid'
    work.wrap = lambda command: ["sh", "-c", body, "sh", *command]
    return ["render", "edl.json", "-o", "cut.mp4", *RENDER]


def _ctrl_c(work: Work) -> list[str]:
    """The long render of `_interrupted`, in a process group of its own that gets SIGINT 4 s after
    it starts, as a terminal's Ctrl-C does: ffmpeg gets it too and exits 255 (a background job's
    SIGINT starts ignored: the CLI handles it anyway)."""
    argv = _interrupted(work)
    body = 'setsid "$@" & pid=$!; sleep 4; kill -INT -- -$pid; wait $pid'
    work.wrap = lambda command: ["bash", "-c", body, "bash", *command]
    return argv


def _fake_ffmpeg(work: Work, script: str) -> None:
    from clipagent.ffmpeg import find_ffmpeg

    fake = work.write("tools/ffmpeg", f"#!/bin/sh\nREAL='{find_ffmpeg().path}'\n{script}\n")
    fake.chmod(0o755)
    work.env["CLIPAGENT_FFMPEG"] = str(fake)


def _crashing_ffmpeg(work: Work) -> None:
    """ffmpeg answers probes and test encodes, but every pass that reports progress is killed (SIGKILL)
    as it ends, however fast the machine (a timer raced short renders)."""
    work.write("cut.mp4", OLD)
    _fake_ffmpeg(work, 'case "$*" in *-progress*) "$REAL" "$@"; kill -KILL $$;; esac\nexec "$REAL" "$@"')


def _broken_ffmpeg(work: Work) -> None:
    _fake_ffmpeg(work, 'echo "not an ffmpeg at all" >&2\nexit 1')


def _missing_ffmpeg(work: Work) -> None:
    work.env["CLIPAGENT_FFMPEG"] = str(work.path("nowhere/ffmpeg"))


O, F = "output", "fault"
CASES = [
    Case("render-control-valid", O, None, render_to("cut.mp4"), 0, ("cut.mp4",)),
    Case("render-o-existing-directory", O, 4, render_to("rendered", _existing_dir("rendered")), 2, ("rendered",)),
    Case("render-o-parent-is-a-file", O, None, render_to("media/a.mp4/cut.mp4"), 2, ("a.mp4",)),
    Case("render-o-is-the-input", O, None, render_to("media/a.mp4"), 2, ("a.mp4",)),
    Case("render-o-is-the-edl", O, None, render_to("edl.json"), 2, ("edl.json",)),
    Case("render-o-is-a-link-to-the-input", O, None, render_to("link.mp4", _link), 2, ("link.mp4|a.mp4",)),
    Case("render-o-read-only-directory", O, 4, render_to("locked/cut.mp4", _locked), 2, ("locked",)),
    Case("render-o-read-only-mount", O, 4, render_to("mnt/cut.mp4", _read_only_mount), 2,
         ("mnt", "read-only|erofs"), leaves=("listing.txt",)),  # fmt: skip
    Case("render-o-full-disk", F, 4, render_to("mnt/cut.mp4", _full_disk), 1, ("space|enospc",),
         leaves=("listing.txt",), check=_nothing_left_on_the_mount),  # fmt: skip
    Case("render-cleans-a-killed-runs-leftovers", F, 4, render_to("cut.mp4", _stale_leftovers), 0,
         gone=(".cut.mp4.0badf00d.partial", ".cut.mp4.0badf00d.work", "cut.mp4"),
         check=_leftovers_cleaned),  # fmt: skip
    Case("render-interrupted-keeps-old-output", F, None, _interrupted, 1, ("interrupted",), timeout=90),
    Case("render-ctrl-c-to-the-group", F, None, _ctrl_c, 1, ("interrupted",), timeout=90),
    Case("render-ffmpeg-crashes", F, None, render_to("cut.mp4", _crashing_ffmpeg), 1, ("ffmpeg",)),
    Case("render-ffmpeg-broken", F, None, render_to("cut.mp4", _broken_ffmpeg, encoder=[]), 1,
         ("CLIPAGENT_FFMPEG",)),  # fmt: skip
    Case("render-ffmpeg-missing", F, None, render_to("cut.mp4", _missing_ffmpeg), 1, ("nowhere/ffmpeg",)),
    Case("edit-o-is-a-file", O, None, edit_to("deliverable", lambda work: work.write("deliverable", OLD)), 2,
         ("deliverable",)),  # fmt: skip
    Case("edit-o-parent-is-a-file", O, None, edit_to("media/talk.mp4/cut"), 2, ("talk.mp4",)),
    Case("edit-o-read-only-directory", O, 4, edit_to("locked/cut", _locked), 2, ("locked",)),
    Case("edit-o-read-only-mount", O, 4, edit_to("mnt/cut", _read_only_mount), 2, ("mnt", "read-only|erofs"),
         leaves=("listing.txt",)),  # fmt: skip
    Case("edit-o-full-disk", F, 4, edit_to("mnt/cut", _full_disk, dry_run=False), 1, ("space|enospc",),
         leaves=("listing.txt",), check=_nothing_left_on_the_mount),  # fmt: skip
    # Every command's output is refused when it is an input or a file of the media folder it reads.
    Case("analyze-o-is-a-media-file", O, None, writes_into_media("analyze", "-o", "media/talk.mp4"), 2,
         ("refusing to overwrite an input", "talk.mp4")),  # fmt: skip
    Case("analyze-o-is-a-sidecar", O, None, writes_into_media("analyze", "-o", "media/talk.srt"), 2,
         ("refusing to overwrite an input", "talk.srt")),  # fmt: skip
    Case("search-contact-sheet-is-a-media-file", O, None,
         writes_into_media("search", "--contact-sheet", "media/../media/music.m4a"), 2,
         ("refusing to overwrite an input", "music.m4a")),  # fmt: skip
    Case("edit-brief-is-an-output", O, None, _brief_in_the_output, 2, ("refusing to overwrite an input", "plan.md")),
    Case("variants-matrix-is-the-manifest", O, None, _matrix_is_the_manifest, 2,
         ("refusing to overwrite an input", "manifest.csv")),  # fmt: skip
    # An output that is no regular file (a FIFO here; a device or a link to one alike) is refused, not replaced.
    Case("analyze-o-is-a-fifo", O, None,
         writes_into_media("analyze", "-o", "pipe.json", lambda work: os.mkfifo(work.path("pipe.json"))), 2,
         ("pipe.json", "not a regular file")),  # fmt: skip
    # A folder of the user's own files is no output folder (edit would write plan.md over theirs).
    Case("edit-o-folder-of-the-users-files", O, None,
         edit_to("proj", lambda work: work.write("proj/plan.md", "my plan")), 2,
         ("proj", "plan.md", "choose a new or empty folder")),  # fmt: skip
    Case("search-contact-sheet-not-an-image", O, None, writes_into_media("search", "--contact-sheet", "hits.mp4"), 2,
         ("hits.mp4", ".png")),  # fmt: skip
]
