"""What `edit` writes into its output folder:

edl.json (the cut), plan.md (each decision with its reason, in the order of the cut),
captions.srt, captions.vtt and captions.ass (the cut's captions on the output timeline, written
by pysubs2: render/captions.py), storyboard.png (a frame of every
clip with its times and caption) and report.json (`EditReport`: analyses, planner, rounds,
every check, timings).

`edit` writes them into a hidden staging folder inside the output folder (`files.claim`) and
`publish` renames them in at the end, so a failed run adds nothing. Every file gets the mode
`open()` would give (0o666 less the umask), as ffmpeg's cut.mp4 does.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import __version__
from .analysis.index import AnalyzeOptions
from .analysis.models import AnalysisRun, MediaIndex, SkippedFile
from .brief import ResolvedBrief
from .contact_sheet import Tile, render_contact_sheet
from .edl import EDL, Captions, dump_edl, place_clips, timeline_duration
from .errors import BadInputError
from .ffmpeg import file_url
from .files import output_errors, replace_file, write_output
from .planning.base import Check, CutScore, Decision, Plan, RankedPlan, Review, Round
from .planning.reframe import framing_lines
from .render.captions import sidecar
from .render.spec import SpecReport
from .timebase import Time, timecode

REPORT = "report.json"
CUT_OTIO = "cut.otio"
CUT = "cut.mp4"
OUTPUT_FILES = (
    "edl.json", CUT_OTIO, "plan.md", "captions.srt", "captions.vtt", "captions.ass", "storyboard.png", REPORT, CUT,
)
"""Every file `edit` writes (plus llm-transcript.jsonl with the LLM planner)."""


class StageTimes(BaseModel):
    """Seconds spent in each stage of one run."""

    analyze: float = 0.0
    plan: float = 0.0
    render: float = 0.0
    spec: float = 0.0
    """Probing the cut for the platform spec checks (render/spec.py)."""


class FileAnalyses(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    path: str
    runs: list[AnalysisRun]


def models_used(index: MediaIndex) -> dict[str, list[str]]:
    """The distinct models of the runs that ran or were cached, by analyser, in first-seen order."""
    used: dict[str, list[str]] = {}
    for run in (run for f in index.files for run in f.runs):
        if run.model and run.status in ("ran", "cached") and run.model not in used.setdefault(run.analyser, []):
            used[run.analyser].append(run.model)
    return {analyser: models for analyser, models in used.items() if models}


class EditReport(BaseModel):
    """report.json: what the cut was based on, how it was planned, and every check."""

    model_config = ConfigDict(frozen=True)

    clipagent_version: str
    brief: str
    """Absolute path of the brief (revise reads it again)."""
    media_dir: str
    title: str
    planner: str
    rounds: list[Round]
    checks: list[Check]
    violations: list[str]
    decisions: list[Decision]
    notes: list[str]
    analyses: list[FileAnalyses]
    models: dict[str, list[str]] = Field(default_factory=dict)
    """Each analyser's models that ran or came from the cache, by analyser: backend, model and
    hash, e.g. {"transcript": ["faster-whisper:tiny.en@sha256:1a5afae06a4db91c"]}."""
    skipped: list[SkippedFile]
    preset_files: list[str]
    duration: Time
    target_duration: Time
    times: StageTimes
    edl_hash: str
    cut_edl_hash: str | None = None
    """The hash of the EDL that cut.mp4 shows (None: no cut yet)."""
    rendered: bool = False
    feedback: str | None = None
    analyze_options: AnalyzeOptions
    """How the footage was analysed (revise analyses the same way)."""
    spec: SpecReport | None = None
    """The cut checked against its platform preset's upload rules, each with the measured and the
    expected value (None: not rendered, e.g. --dry-run). Each rule is also a "spec: RULE" check."""
    score: CutScore | None = None
    """The cut's score, 0-100, with its components (planning/score.py)."""
    ranking: list[RankedPlan] = Field(default_factory=list)
    """Best-of-N: every candidate plan, best first."""
    planning_seconds: list[float] = Field(default_factory=list)
    """Best-of-N: seconds each candidate plan took to make and score."""
    planning_rounds: int = 0
    """Best-of-N: plan-check rounds all candidates ran together (at most N times the default plan's)."""

    @classmethod
    def build(
        cls, *, brief_path: Path, media_dir: Path, brief: ResolvedBrief, index: MediaIndex, plan: Plan,
        times: StageTimes, edl_hash: str, cut_edl_hash: str | None, feedback: str | None,
        analyze_options: AnalyzeOptions,
    ) -> EditReport:  # fmt: skip
        return cls(
            clipagent_version=__version__,
            brief=str(Path(brief_path).resolve()),
            media_dir=str(Path(media_dir).resolve()),
            title=plan.edl.title or brief.title,
            planner=plan.planner,
            rounds=plan.rounds,
            checks=plan.review.checks,
            violations=[str(v) for v in plan.review.violations],
            decisions=plan.decisions,
            notes=[*plan.notes, *index.notes],
            analyses=[FileAnalyses(id=f.id, path=f.path, runs=f.runs) for f in index.files],
            models=models_used(index),
            skipped=index.skipped,
            preset_files=brief.preset_files,
            duration=timeline_duration(plan.edl),
            target_duration=plan.target_duration or brief.target_duration,
            times=times,
            edl_hash=edl_hash,
            cut_edl_hash=cut_edl_hash,
            feedback=feedback,
            analyze_options=analyze_options,
            score=plan.score,
            ranking=plan.ranking,
            planning_seconds=plan.planning_seconds,
            planning_rounds=plan.planning_rounds,
        )

    def as_plan(self, edl: EDL) -> Plan:
        """The plan this report describes, with `edl` (for revise)."""
        return Plan(
            edl=edl, decisions=self.decisions, planner=self.planner, rounds=self.rounds,
            review=Review(violations=[], checks=self.checks), notes=self.notes, target_duration=self.target_duration,
        )  # fmt: skip


EDIT_FOLDER_HINT = (
    "give the folder `clipagent edit BRIEF MEDIA_DIR -o OUT_DIR` wrote (it holds report.json and edl.json; "
    "the default is out/<brief name>/)"
)


def read_report(out_dir: Path) -> EditReport:
    """The report.json of a folder `clipagent edit` wrote; BadInputError saying what `out_dir` is
    instead (missing, a file, a folder without a report, an unreadable or damaged report) and the fix."""
    out_dir = Path(out_dir)
    path = out_dir / REPORT
    if not out_dir.exists():
        raise BadInputError(f"{out_dir}: no such folder; it is not a folder `clipagent edit` wrote", hint=EDIT_FOLDER_HINT)
    if not out_dir.is_dir():
        raise BadInputError(f"{out_dir} is not a folder `clipagent edit` wrote (it is a file)", hint=EDIT_FOLDER_HINT)
    if not path.exists():
        raise BadInputError(f"{out_dir} is not a folder `clipagent edit` wrote: it has no {REPORT}", hint=EDIT_FOLDER_HINT)
    again = f"{REPORT} is written by `clipagent edit`: run the edit again into {out_dir} to rewrite it"
    try:
        return EditReport.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(root)"
        reason = "not JSON" if first["type"] == "json_invalid" else f"{where}: {first['msg']}"
        raise BadInputError(f"{path}: damaged report, not the one `clipagent edit` writes ({reason})", hint=again) from None
    except IsADirectoryError:
        raise BadInputError(f"{path} is a folder where `clipagent edit` writes its report", hint=again) from None
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{path}: unreadable report ({str(exc).splitlines()[0]})", hint=again) from None


def write_outputs(
    folder: Path, plan: Plan, report: EditReport, brief: ResolvedBrief, *, out_dir: Path | None = None,
    only_report: bool = False,
) -> None:  # fmt: skip
    """Write the outputs into `folder` (a staging folder; `out_dir`, default `folder`, is where they
    will be published: edl.json's media_root points from there). Raises OutputPathError or
    DiskFullError naming the file."""
    out_dir = out_dir if out_dir is not None else folder

    def write(name: str, data: bytes) -> None:
        write_output(folder / name, data, shown=out_dir / name)

    if not only_report:
        write("edl.json", dump_edl(_rooted(plan.edl, out_dir, Path(report.media_dir))).encode())
        write(CUT_OTIO, cut_otio(plan, report, brief))
        write("plan.md", plan_markdown(plan, brief).encode())
        for kind in ("srt", "vtt", "ass"):
            write(f"captions.{kind}", sidecar(plan.edl, kind, Path(report.media_dir)).encode())
        write("storyboard.png", storyboard_png(plan.edl, Path(report.media_dir)))
    write(REPORT, report.model_dump_json(indent=1).encode())


def cut_otio(plan: Plan, report: EditReport, brief: ResolvedBrief) -> bytes:
    """The cut as an OpenTimelineIO timeline (cut.otio, beside edl.json): for an NLE, and for
    `clipagent render`/`import`; `clipagent export` writes the other formats."""
    from .interchange.exchange import otio_text

    text = otio_text(plan.edl, Path(report.media_dir), brief_title=brief.title, planner=plan.planner)
    return text.encode()


def publish(staging: Path, out_dir: Path, *, history: Path | None = None) -> list[str]:
    """Rename every file in `staging` into `out_dir`, report.json last (it says what the others
    are). With `history`, first move the outputs these replace (and the standard ones) there.
    Returns the names published. Raises OutputPathError or DiskFullError."""
    names = sorted((p.name for p in staging.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda name: (name == REPORT, name))  # fmt: skip
    if history is not None:
        with output_errors(history):
            history.mkdir(parents=True)
            for name in dict.fromkeys([*OUTPUT_FILES, *names]):
                if (out_dir / name).is_file():
                    os.replace(out_dir / name, history / name)
    for name in names:
        with output_errors(out_dir / name):
            replace_file(staging / name, out_dir / name)  # never over a device or FIFO
    return names


def _rooted(edl: EDL, out_dir: Path, media_dir: Path) -> EDL:
    """The EDL with `media_root` pointing from the output folder to the media folder."""
    relative = os.path.relpath(media_dir, Path(out_dir).resolve())
    return edl.model_copy(update={"media_root": Path(relative).as_posix()})


# --- plan.md -----------------------------------------------------------------------------------


def plan_markdown(plan: Plan, brief: ResolvedBrief) -> str:
    edl = plan.edl
    out = edl.output
    lines = [
        f"# {edl.title or brief.title}",
        "",
        f"{out.width}x{out.height} at {float(out.fps):g} fps, {float(timeline_duration(edl)):.2f} s "
        f"(target {float(plan.target_duration or brief.target_duration):g} s, platform {brief.platform.name}, pace {brief.pace}); "
        f"planned by {plan.planner} in {len(plan.rounds)} round(s).",
        "",
        "## The cut",
        "",
        "| # | in the cut | source | what | why |",
        "|---:|---|---|---|---|",
    ]
    by_clip = {d.clip_id: d for d in plan.decisions if d.clip_id}
    for n, placement in enumerate(place_clips(edl), start=1):
        clip = placement.clip
        decision = by_clip.get(clip.id)
        what = decision.what if decision else clip.note
        why = decision.why if decision else ""
        lines.append(
            f"| {n} | {timecode(placement.start)}–{timecode(placement.end)} | {clip.media} "
            f"{float(clip.src_in):.2f}–{float(clip.src_out):.2f} s | {_cell(what)} | {_cell(why)} |"
        )
    general = [d for d in plan.decisions if not d.clip_id]
    if general:
        lines += ["", "## Across the cut", ""] + [f"- **{d.what}**: {d.why}" for d in general]
    lines += framing_lines(edl)
    lines += ["", "## Checks", ""]
    lines += [f"- [{'x' if c.passed else ' '}] {c.name}: {c.detail}" for c in plan.review.checks]
    lines += _score_markdown(plan)
    if plan.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in plan.notes]
    return "\n".join(lines) + "\n"


def _score_markdown(plan: Plan) -> list[str]:
    """The score with each component, then best-of-N's ranking and why the winner won."""
    if plan.score is None:
        return []
    from .planning.score import score_lines

    head, *parts = score_lines(plan.score)
    lines = ["", "## Score", "", f"**{head}**", ""] + [f"- {line}" for line in parts]
    if plan.ranking:
        why = next((d.why for d in plan.decisions if d.clip_id is None and d.what.startswith("best of ")), "")
        lines += ["", f"### Best of {len(plan.ranking)} plans", "", f"Winner: {why}", "",
                  "| rank | variant | score | passes checks | components |", "|---:|---|---:|---|---|"]  # fmt: skip
        lines += [f"| {r.rank} | {r.variant} | {r.score:.1f} | {'yes' if r.valid else 'no'} | {_cell(r.summary)} |"
                  for r in plan.ranking]  # fmt: skip
        if plan.planning_seconds:
            spent = ", ".join(f"{s:.3f}" for s in plan.planning_seconds)
            lines += ["", f"Planning and scoring took {sum(plan.planning_seconds):.3f} s ({spent} s each)."]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- captions sidecars: render/captions.py `sidecar` (pysubs2) ----------------------------------


# --- storyboard.png ----------------------------------------------------------------------------


def storyboard_png(edl: EDL, media_dir: Path) -> bytes:
    """A frame from the middle of every clip, captioned with its place in the cut and its words."""
    paths = {ref.id: media_dir / ref.path for ref in edl.media}
    cues = [cue for o in edl.overlays if isinstance(o, Captions) for cue in o.cues]
    tiles = []
    for n, placement in enumerate(place_clips(edl), start=1):
        clip = placement.clip
        middle = (clip.src_in + clip.src_out) / 2
        said = next((c.text for c in cues if placement.start <= c.start < placement.end), "")
        caption = [f"{n}. {float(placement.start):.1f}-{float(placement.end):.1f} s  {clip.media}"]
        tiles.append(Tile(image=frame_jpeg(paths[clip.media], middle), caption=caption + ([said[:44]] if said else [])))
    return render_contact_sheet(tiles, columns=4)


def frame_jpeg(path: Path, at: Fraction) -> bytes | None:
    """The first frame shown at or after `at` seconds, as a JPEG (turned as displayed), or None."""
    import av
    import cv2
    import numpy as np

    try:
        with av.open(file_url(path)) as container:
            stream = container.streams.video[0]
            container.seek(int(at / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.time is None or frame.time + 1e-3 >= float(at):
                    image = frame.to_ndarray(format="bgr24")
                    turns = round((frame.rotation or 0) / 90) % 4  # counter-clockwise, as PyAV reports
                    image = np.ascontiguousarray(np.rot90(image, turns)) if turns else image
                    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
                    return encoded.tobytes() if ok else None
    except (av.error.FFmpegError, IndexError, OSError):
        return None
    return None
