"""The pieces a filtergraph is built from: a media source, the builder that collects ffmpeg
inputs and filter chains, and the compiled result. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from ..edl import EDL
from ..ffmpeg import file_url
from ..media import MediaInfo
from .filters import chain

if TYPE_CHECKING:
    from .captions import CaptionTrack


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

    def add_input(self, path: Path, *before: str) -> int:
        """A file input (as `file:` and its absolute path, so no name reads as a protocol)."""
        return self.add_raw_input(*before, "-i", file_url(path))

    def add_raw_input(self, *args: str) -> int:
        self.input_args += list(args)
        self.n_inputs += 1
        return self.n_inputs - 1

    def add(self, inputs: list[str], filters: list[str], outputs: list[str]) -> None:
        self.chains.append(chain(inputs, filters, outputs))

    def compiled(self, *, video_label: str | None, audio_label: str | None) -> CompiledGraph:
        return CompiledGraph(self.input_args, ";\n".join(self.chains), video_label, audio_label)

    def samples(self, frame: int) -> int:
        """The audio sample at an output frame boundary (so audio and video stay in step)."""
        return samples_at(frame, self.edl)


def samples_at(frame: int, edl: EDL) -> int:
    return round(Fraction(frame) * edl.output.audio_rate / edl.output.fps)
