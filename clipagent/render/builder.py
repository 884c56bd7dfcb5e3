"""The pieces a filtergraph is built from: a media source, the builder that collects ffmpeg
inputs and filter chains, and the compiled result. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..edl import EDL
from ..ffmpeg import file_url
from ..media import MediaInfo
from .filters import chain

if TYPE_CHECKING:
    from .captions import CaptionTrack


class Namespace(Protocol):
    """Where one output's graph lives when several outputs share one ffmpeg process
    (render/multi.py): it opens inputs (identical ones once), keeps the chains (identical ones
    once) and names the labels the outputs map."""

    def input(self, args: list[str]) -> int: ...

    def add(self, inputs: list[str], filters: list[str], outputs: list[str]) -> None: ...

    def take(self, label: str) -> str: ...


@dataclass(frozen=True)
class Source:
    path: Path
    info: MediaInfo


@dataclass(frozen=True)
class CompiledGraph:
    input_args: list[str]
    filtergraph: str
    video_label: str | None
    audio_label: str | None
    audio_copy: str | None = None
    """An input's sound already encoded (`N:a:0`), muxed as it is (`-c:a copy`) instead of a
    filtered `audio_label` (render/graph.py `compile_render`'s `encoded_sound`)."""


@dataclass
class Builder:
    edl: EDL
    sources: dict[str, Source]
    video: bool
    """True: the picture (the render pass). False: the sound (the mix pass)."""
    font: Path | None = None
    hwaccel: bool = False
    origin: int = 0
    """The output frame this graph's clips start at: 0, or a segment's first frame."""
    caption_tracks: dict[int, CaptionTrack] = field(default_factory=dict)
    """The ASS file (render/captions.py) of each Captions overlay, by overlay index."""
    input_args: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    n_inputs: int = 0
    namespace: Namespace | None = None
    """Several outputs in one process (render/multi.py): inputs and chains go to the shared graph,
    which opens identical inputs and builds identical chains once; None: one output."""

    def add_input(self, path: Path, *before: str) -> int:
        """A file input (as `file:` and its absolute path, so no name reads as a protocol)."""
        return self.add_raw_input(*before, "-i", file_url(path))

    def add_raw_input(self, *args: str) -> int:
        if self.namespace is not None:
            return self.namespace.input(list(args))
        self.input_args += list(args)
        self.n_inputs += 1
        return self.n_inputs - 1

    def add(self, inputs: list[str], filters: list[str], outputs: list[str]) -> None:
        if self.namespace is not None:
            self.namespace.add(inputs, filters, outputs)
            return
        self.chains.append(chain(inputs, filters, outputs))

    def compiled(self, *, video_label: str | None, audio_label: str | None) -> CompiledGraph:
        if self.namespace is not None:
            take = self.namespace.take
            video_label, audio_label = (take(x) if x else None for x in (video_label, audio_label))
        return CompiledGraph(self.input_args, ";\n".join(self.chains), video_label, audio_label)

    def samples(self, frame: int) -> int:
        """The audio sample at an output frame boundary (so audio and video stay in step)."""
        return samples_at(frame, self.edl)


def samples_at(frame: int, edl: EDL) -> int:
    return round(Fraction(frame) * edl.output.audio_rate / edl.output.fps)
