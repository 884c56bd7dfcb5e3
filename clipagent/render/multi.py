"""One decode, several outputs: cuts that share a timeline rendered by one ffmpeg process.

Ad variants often differ only in their frame (9:16, 1:1, 16:9), their captions or their end card,
while their clips are the same ranges of the same sources. Rendering them one by one decodes
every source once per variant; here the render pass opens each clip's source once (the same
`-ss/-t` input), `split`s its decoded frames to one branch per output, and each branch goes
through that output's own normalisation (reframe, scale, pad), join, overlays, titles and
encoder, to its own file. The outputs are the frames `run.run_render` would make for each EDL
alone: the per-output part of the graph is `graph.compile_render`'s, unchanged, compiled into a
`Namespace` that prefixes its labels (`o{j}_`) and shares identical inputs.

The sound is the mix pass's (run.py): it is run once per distinct mix (EDLs whose mix graphs are
identical, e.g. same clips, music and rates, share one WAV; the loudness gain is still chosen per
output, for its own target) and each output's WAV is an input of the one render process.

Limits: a timeline cut into segments (segments.py: more clips than one process should open) is
rendered per output, one after another, as `run_render` does; memory of the shared process grows
with the outputs' encoders (~330 MB each at 1080p for x264 veryfast, see bench/README.md) while
the decoders are shared. `timeline_key` says which EDLs can share; `render_shared` refuses a set
that does not (ValueError: a programming error of the caller, not bad input).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from ..edl import EDL
from ..files import claim, output_errors
from ..validate import resolve_media_path
from .captions import caption_notes, write_caption_tracks
from .clips import picture_notes
from .filters import chain, f
from .graph import compile_mix, compile_render
from .loudness import room_tone_warning
from .run import (
    MIXING,
    RENDERING,
    Progress,
    RenderJob,
    RenderResult,
    _graph_args,
    _run_ffmpeg,
    _with_progress,
    choose_loudness_gain,
    plan_render,
    run_render,
)

_STREAM_REF = re.compile(r"^(\d+):(.+)$")


class SharedInputs:
    """The inputs of one process rendering several outputs: identical input arguments (the same
    file, decoder options and seek) open one input; every use of a stream (`N:spec`) becomes a
    branch of one `split` (or `asplit`) of it."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self._index: dict[tuple[str, ...], int] = {}
        self._uses: dict[str, int] = {}

    def input(self, args: list[str]) -> int:
        key = tuple(args)
        if key not in self._index:
            self._index[key] = len(self._index)
            self.args += args
        return self._index[key]

    def use(self, ref: str) -> str:
        """A label for one more use of the stream `ref` ("3:0", "5:a:0")."""
        n = self._uses.get(ref, 0)
        self._uses[ref] = n + 1
        return _use_label(ref, n)

    @property
    def inputs(self) -> int:
        return len(self._index)

    def shared_streams(self) -> int:
        """Streams decoded once and used by more than one output."""
        return sum(1 for n in self._uses.values() if n > 1)

    def split_chains(self) -> list[str]:
        """One chain per used stream: `[N:spec]split=n[...]`, or a pass-through for a single use.
        Audio (a spec with `a`) takes `asplit`/`anull`; every other stream of the render pass is a
        picture (clips' and images' absolute video stream indexes)."""
        chains = []
        for ref, n in self._uses.items():
            audio = ":a" in f":{ref.split(':', 1)[1]}"
            if n == 1:
                name = "anull" if audio else "null"
            else:
                name = f("asplit" if audio else "split", n)
            chains.append(chain([ref], [name], [_use_label(ref, k) for k in range(n)]))
        return chains


def _use_label(ref: str, n: int) -> str:
    return "in" + re.sub(r"[^0-9a-z]", "_", ref) + f"_{n}"


class OutputNamespace:
    """One output's view of `SharedInputs`: its labels prefixed `o{j}_`."""

    def __init__(self, shared: SharedInputs, j: int) -> None:
        self.shared, self.prefix = shared, f"o{j}_"

    def input(self, args: list[str]) -> int:
        return self.shared.input(args)

    def label(self, label: str) -> str:
        return self.shared.use(label) if _STREAM_REF.match(label) else self.prefix + label


def timeline_key(edl: EDL, media_root: Path) -> str:
    """What must be equal for EDLs to share their decoding: each clip's source file (resolved
    against `media_root`), in and out points and speed, in order. SHA-256 hex. EDLs with the same
    key differ at most in frame, overlays, titles, music and output settings."""
    parts = []
    paths = {ref.id: resolve_media_path(media_root, ref.path) for ref in edl.media}
    for clip in edl.clips:
        parts.append(f"{paths.get(clip.media)}|{clip.src_in}|{clip.src_out}|{clip.speed}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def render_shared(
    pairs: Sequence[tuple[EDL, Path]],
    media_root: Path,
    *,
    encoder: str = "auto",
    preview: bool = False,
    progress: Progress | None = None,
) -> list[RenderResult]:
    """Render each (EDL, output path) of `pairs`, which share a timeline (`timeline_key`), in one
    ffmpeg render process that decodes every clip once. Returns one RenderResult per pair, in
    order; each output appears complete or not at all (all of them are renamed into place after
    the process succeeds). `preview`: the fast encoder settings (encoders.py). Raises what
    `plan_render`/`run_render` raise (EDLError, OutputPathError, RenderError, ...), and ValueError
    when the pairs' timelines differ."""
    if not pairs:
        return []
    keys = {timeline_key(edl, media_root) for edl, _ in pairs}
    if len(keys) > 1:
        raise ValueError("render_shared: the EDLs do not share a timeline (group them by timeline_key)")
    jobs = [plan_render(edl, media_root, output, encoder=encoder, preview=preview) for edl, output in pairs]
    if len({job.output.resolve() for job in jobs}) < len(jobs):
        raise ValueError("render_shared: two pairs name the same output")
    if len(jobs) == 1 or any(len(job.segments(video=True)) > 1 for job in jobs):
        return [run_render(job, progress=progress) for job in jobs]
    return _render_together(jobs, progress)


def _render_together(jobs: list[RenderJob], progress: Progress | None) -> list[RenderResult]:
    started = time.monotonic()
    total = float(max(job.duration for job in jobs))
    with ExitStack() as stack:
        claims = []
        for job in jobs:
            claimed = stack.enter_context(claim(job.output.parent, job.output.name))
            stack.enter_context(output_errors(job.output))
            claims.append(claimed)
        jobs = [replace(job, work=claimed.work) for job, claimed in zip(jobs, claims)]
        _mix_each(jobs, total, progress)
        gains = [choose_loudness_gain(job) for job in jobs]

        shared = SharedInputs()
        outputs: list[str] = []
        chains: list[str] = []
        for j, (job, gain, claimed) in enumerate(zip(jobs, gains, claims)):
            captions = write_caption_tracks(job.edl, job.media_root, job.work)
            graph = compile_render(
                job.edl, job.sources, job.mix_wav, gain, font=job.font, hwaccel=job.encoder.hwaccel_decode,
                placements=job.placements, captions=captions, namespace=OutputNamespace(shared, j),
            )  # fmt: skip
            chains.append(graph.filtergraph)
            outputs += job.output_args(graph, claimed.partial)
        first = jobs[0]
        filtergraph = ";\n".join([*shared.split_chains(), *chains])
        command = [
            first.ffmpeg.path, "-hide_banner", "-nostdin", "-y", "-v", "error",
            *shared.args, *_graph_args(first.ffmpeg, filtergraph, first.work / "shared-graph.txt"), *outputs,
        ]  # fmt: skip
        _run_ffmpeg(_with_progress(command), RENDERING, total, progress, output=first.output)
        for job, claimed in zip(jobs, claims):
            os.replace(claimed.partial, job.output)
    seconds = time.monotonic() - started
    results = []
    for job, gain in zip(jobs, gains):
        warnings = [*picture_notes(job.edl, job.sources), *caption_notes(job.edl)]
        if gain.capped_from_db is not None:
            warnings.append(room_tone_warning(gain.measured_lufs, gain.capped_from_db, gain.gain_db))
        results.append(RenderResult(job.output, job.duration, job.encoder.name, seconds, gain, tuple(warnings)))
    return results


def _mix_each(jobs: list[RenderJob], total: float, progress: Progress | None) -> None:
    """Pass 1 for each distinct mix: EDLs whose mix graphs are identical (compiled with a fixed
    report path) share the first one's WAV and measurement, linked (or copied) into their work."""
    done: dict[str, RenderJob] = {}
    for job in jobs:
        graph = compile_mix(job.edl, job.sources, Path("loudness.txt"), ffmpeg_major=job.ffmpeg.major,
                            placements=job.placements)  # fmt: skip
        key = hashlib.sha256("\0".join([*graph.input_args, graph.filtergraph]).encode()).hexdigest()
        if key in done:
            for name in (job.mix_wav.name, "loudness.txt"):
                _link_or_copy(done[key].work / name, job.work / name)
            continue
        mix = job.mix_pass()
        _run_ffmpeg(_with_progress(mix.command), MIXING, total, progress, output=job.output, feeders=mix.feeders)
        done[key] = job


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copyfile(source, target)
