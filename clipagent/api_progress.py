"""Progress for `clipagent.api`: the `ProgressEvent` its callers receive, and the adapters that
turn the library's own reports (the analysers' `Reporter`, the render's (stage, done, total)) into
events with a `fraction` of each phase that never goes down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .render.run import MIXING, RENDERING

Phase = Literal["analysis", "render", "notice"]


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report.

    - `phase`: "analysis" (the analysers, per file), "render" (the two ffmpeg passes) or
      "notice" (a one-time message: a fallback, a missing model; `stage` holds the text).
    - `stage`: what runs now, e.g. "shots day1/a.mp4", "mixing the sound", "rendering".
    - `done`, `total`: seconds of media (analysis) or of the cut (render) done in this stage, and
      the stage's length (None when unknown).
    - `fraction`: 0-1 of the whole phase. Analysis counts files (each file's analysers share its
      part); render gives the sound mix and the picture render half each. It never decreases
      within one phase of one call.
    """

    phase: Phase
    stage: str
    done: float = 0.0
    total: float | None = None
    fraction: float = 0.0


ProgressCallback = Callable[[ProgressEvent], None]



_ANALYSERS = ("shots", "words", "sound", "speech", "faces")
"""The analysers that report progress, in the order they run on a file (analysis/index.py); one
not named here counts as the file's last step."""


class Reporter:
    """An `analysis.index.Reporter` that turns analyser progress into ProgressEvents: the files
    under the folder are counted first, each analyser's description ("shots a.mp4") places it."""

    def __init__(self, progress: ProgressCallback | None, media_dir: Path) -> None:
        self.progress = progress
        self.order: dict[str, int] = {}
        self.last = 0.0
        if progress is not None and Path(media_dir).is_dir():
            from .analysis.index import media_files

            self.order = {p.relative_to(media_dir).as_posix(): k for k, p in enumerate(media_files(Path(media_dir)))}

    def task(self, description: str, total: float | None) -> Callable[[float], None]:
        progress = self.progress
        if progress is None:
            return lambda done: None
        analyser, _, relative = description.partition(" ")
        file_index = self.order.get(relative)
        step = _ANALYSERS.index(analyser) if analyser in _ANALYSERS else len(_ANALYSERS) - 1

        def update(done: float) -> None:
            if file_index is not None and self.order:
                within = (step + (min(done / total, 1.0) if total else 0.0)) / len(_ANALYSERS)
                self.last = max(self.last, (file_index + within) / len(self.order))
            progress(ProgressEvent("analysis", description, float(done), total, self.last))

        update(0.0)
        return update

    def notice(self, message: str) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent("notice", message, fraction=self.last))

    def finish(self) -> None:
        """The analysis is over (the last file's last analyser may not report its end): one event
        at 1.0, once."""
        if self.progress is not None and self.last < 1.0:
            self.last = 1.0
            self.progress(ProgressEvent("analysis", "analysed", fraction=1.0))


_RENDER_STAGES = (MIXING, RENDERING)
"""The render's two passes, each half of the render phase."""


def render_progress(
    progress: ProgressCallback | None, before: Callable[[], None] | None = None
) -> Callable[[str, float, float], None] | None:
    """render.run's (stage, done, total) as ProgressEvents; `before` runs at the first report."""
    if progress is None:
        return None
    last = 0.0

    def update(stage: str, done: float, total: float) -> None:
        nonlocal last
        if before is not None:
            before()
        if stage in _RENDER_STAGES:
            share = min(done / total, 1.0) if total else 1.0
            last = max(last, (_RENDER_STAGES.index(stage) + share) / len(_RENDER_STAGES))
        progress(ProgressEvent("render", stage, float(done), float(total), last))

    return update
