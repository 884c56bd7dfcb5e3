"""One decode, several outputs: cuts that share a timeline rendered by one ffmpeg process.

Ad variants often differ only in their frame (9:16, 1:1, 16:9), their captions or their end card,
while their clips are the same ranges of the same sources. Rendering them one by one decodes
every source once per variant; here the render pass opens each clip's source once (the same
`-ss/-t` input), `split`s its decoded frames to one branch per output, and each branch goes
through that output's own normalisation (reframe, scale, pad), join, overlays, titles and
encoder, to its own file. The outputs are the frames `run.run_render` would make for each EDL
alone: the per-output part of the graph is `graph.compile_render`'s, unchanged, compiled into a
`SharedGraph` that opens identical inputs once and builds identical chains once (two outputs of
the same frame share their clips' normalisation and join, and part ways at their captions).

The sound is the mix pass's (run.py): it is run once per distinct mix (EDLs whose mix graphs are
identical, e.g. same clips, music and rates, share one WAV; the loudness gain is still chosen per
output, for its own target) and each output's WAV is an input of the one render process.

Limits: a timeline cut into segments (segments.py: more clips than one process should open) is
rendered per output, one after another, as `run_render` does; memory of the shared process grows
with the outputs' encoders (x264 veryfast: ~330 MB at 1080p, bench/README.md; six 720p outputs
measured ~870 MB) while the decoders are shared. `timeline_key` says which EDLs can share; `render_shared` refuses a set
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
from ..files import claim, output_errors, replace_file
from ..validate import resolve_media_path
from .captions import caption_notes, write_caption_tracks
from .clips import picture_notes
from .filters import chain, f
from .graph import compile_mix, compile_render
from .loudness import max_gain_warning, room_tone_warning
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


_AUDIO_SOURCES = ("anullsrc", "aevalsrc", "anoisesrc", "sine")
"""Source filters (chains without inputs) whose output is sound; every other source is a picture."""


class SharedGraph:
    """The filtergraph of one process rendering several outputs.

    Identical input arguments (the same file, decoder options and seek) open one input, and a
    chain identical to one already built (the same filters on the same inputs: e.g. two outputs
    of the same size normalise and join the clips alike, up to their captions) is built once;
    its outputs stand for both. A label used more than once (by chains or by `-map`) is fed
    through one `split` (`asplit` for sound), branch k to its k-th user. A label's kind (picture
    or sound) is its first input's: an input stream with an `a` in its spec is sound, every other
    input stream of a render pass is a picture; a chain without inputs is sound when it starts
    with one of _AUDIO_SOURCES."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self._inputs: dict[tuple[str, ...], int] = {}
        self._chains: list[tuple[list[tuple[str, int]], list[str], list[str]]] = []
        self._built: dict[tuple, list[str]] = {}
        self._uses: dict[str, int] = {}
        self._audio: dict[str, bool] = {}
        self._taken: list[tuple[str, int]] = []

    def input(self, args: list[str]) -> int:
        key = tuple(args)
        if key not in self._inputs:
            self._inputs[key] = len(self._inputs)
            self.args += args
        return self._inputs[key]

    def use(self, label: str) -> tuple[str, int]:
        """One more use of `label` (a chain's output, or an input stream `N:spec`)."""
        n = self._uses.get(label, 0)
        self._uses[label] = n + 1
        if _STREAM_REF.match(label):
            self._audio.setdefault(label, ":a" in f":{label.split(':', 1)[1]}")
        return label, n

    def add(self, inputs: list[str], filters: list[str], outputs: list[str], prefix: str) -> list[str]:
        """A chain over shared labels `inputs`; returns the shared labels of its outputs (those of
        an identical chain built before, or new ones named `prefix` + the output's own)."""
        key = (tuple(inputs), tuple(filters), len(outputs))
        if key in self._built:
            return self._built[key]
        used = [self.use(label) for label in inputs]
        labels = [prefix + label for label in outputs]
        audio = self._audio[inputs[0]] if inputs else filters[0].startswith(_AUDIO_SOURCES)
        for label in labels:
            self._audio[label] = audio
        self._chains.append((used, filters, labels))
        self._built[key] = labels
        return labels

    def take(self, label: str) -> str:
        """A label an output maps (`-map`): a token, named by `mapped` once the graph is complete."""
        self._taken.append(self.use(label))
        return f"@{len(self._taken) - 1}"

    def mapped(self, token: str) -> str:
        return self._name(self._taken[int(token[1:])])

    def _name(self, use: tuple[str, int]) -> str:
        label, k = use
        return label if self._uses[label] == 1 else f"{_safe(label)}_s{k}"

    @property
    def inputs(self) -> int:
        return len(self._inputs)

    def filtergraph(self) -> str:
        """The whole graph: the splits of labels used more than once, then the chains."""
        text = []
        for label, n in self._uses.items():
            if n > 1:
                name = f("asplit" if self._audio.get(label) else "split", n)
                text.append(chain([label], [name], [self._name((label, k)) for k in range(n)]))
        for used, filters, outputs in self._chains:
            text.append(chain([self._name(u) for u in used], filters, outputs))
        return ";\n".join(text)


def _safe(label: str) -> str:
    return "in" + re.sub(r"[^0-9A-Za-z_]", "_", label) if _STREAM_REF.match(label) else label


class OutputNamespace:
    """One output's view of a `SharedGraph`: its own labels resolved to the shared ones."""

    def __init__(self, shared: SharedGraph, j: int) -> None:
        self.shared, self.prefix = shared, f"o{j}_"
        self._labels: dict[str, str] = {}

    def _resolve(self, label: str) -> str:
        return label if _STREAM_REF.match(label) else self._labels[label]

    def input(self, args: list[str]) -> int:
        return self.shared.input(args)

    def add(self, inputs: list[str], filters: list[str], outputs: list[str]) -> None:
        shared = self.shared.add([self._resolve(x) for x in inputs], filters, outputs, self.prefix)
        self._labels.update(zip(outputs, shared))

    def take(self, label: str) -> str:
        return self.shared.take(self._resolve(label))


def timeline_key(edl: EDL, media_root: Path) -> str:
    """What must be equal for EDLs to share their decoding: each clip's source file (resolved
    against `media_root`, made absolute: variant folders reach the media by different relative
    paths), in and out points and speed, in order. SHA-256 hex. EDLs with the same key differ at
    most in frame, overlays, titles, music and output settings."""
    parts = []
    paths = {ref.id: resolve_media_path(media_root, ref.path) for ref in edl.media}
    paths = {media: path.resolve() if path is not None else None for media, path in paths.items()}
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

        shared = SharedGraph()
        graphs = []
        for j, (job, gain) in enumerate(zip(jobs, gains)):
            captions = write_caption_tracks(job.edl, job.media_root, job.work)
            graphs.append(compile_render(
                job.edl, job.sources, job.mix_wav, gain, font=job.font, hwaccel=job.encoder.hwaccel_decode,
                placements=job.placements, captions=captions, namespace=OutputNamespace(shared, j),
                encoded_sound=job.encoded_sound if gain.encoded_true_peak_db is not None else None,
            ))  # fmt: skip
        outputs: list[str] = []
        for job, graph, claimed in zip(jobs, graphs, claims):
            labels = replace(graph, video_label=shared.mapped(graph.video_label),
                             audio_label=shared.mapped(graph.audio_label) if graph.audio_label else None)
            outputs += job.output_args(labels, claimed.partial)
        first = jobs[0]
        filtergraph = shared.filtergraph()
        command = [
            first.ffmpeg.path, "-hide_banner", "-nostdin", "-y", "-v", "error",
            *shared.args, *_graph_args(first.ffmpeg, filtergraph, first.work / "shared-graph.txt"), *outputs,
        ]  # fmt: skip
        _run_ffmpeg(_with_progress(command), RENDERING, total, progress, output=first.output)
        for job, claimed in zip(jobs, claims):
            replace_file(claimed.partial, job.output)  # never over a device or FIFO
    seconds = time.monotonic() - started
    results = []
    for job, gain in zip(jobs, gains):
        warnings = [*picture_notes(job.edl, job.sources), *caption_notes(job.edl)]
        if gain.capped_from_db is not None:
            warnings.append(room_tone_warning(gain.measured_lufs, gain.capped_from_db, gain.gain_db))
        short = max_gain_warning(gain.measured_lufs, gain.gain_db, job.edl.output.loudness_lufs)
        warnings += [short] if short else []
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
