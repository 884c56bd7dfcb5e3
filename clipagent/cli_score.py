"""The `score` command: a cut's score, 0-100, with its eleven components (planning/score.py).

    clipagent score OUT_DIR                                 a folder `clipagent edit` wrote
    clipagent score EDL --brief BRIEF --media MEDIA_DIR     any EDL

The footage is analysed through the cache (an edited folder: as `edit` analysed it), so a score
after an edit reads everything from the cache and renders nothing. Nothing is scored that cannot be
checked: an EDL that does not fit its media (as `clipagent validate` reports it) and a folder with
no usable footage are bad input (exit 2).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli_analysis import CacheDirOption, TranscriptsFlag, TranscriptsOption
from .cli_common import err, out, translate_errors
from .errors import BadInputError


@translate_errors
def score(
    target: Annotated[Path, typer.Argument(metavar="OUT_DIR|EDL", help="A folder `clipagent edit` wrote, or an edl.json.")],
    brief: Annotated[Optional[Path], typer.Option("--brief", help="The brief (with an EDL; an OUT_DIR names its own).")] = None,
    media: Annotated[Optional[Path], typer.Option("--media", help="The media folder (with an EDL).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the score and its components as JSON.")] = False,
    transcripts: TranscriptsFlag = TranscriptsOption.auto,
    cache_dir: CacheDirOption = None,
) -> None:
    """Score a cut 0-100 from its EDL, the footage's index and the brief (no render)."""
    from .analysis.cache import Cache
    from .analysis.index import AnalyzeOptions, SilentReporter, analyze_folder
    from .brief import load_brief
    from .edl import load_edl
    from .planning.score import score_edl, score_lines
    from .validate import validate_edl

    faces = {"faces": None} if "faces" in AnalyzeOptions.model_fields else {}  # the score does not look at faces
    fresh = AnalyzeOptions(transcripts=transcripts.value, **faces)
    edl_path, brief_path, media_dir, options, goal = _inputs(target, brief, media, fresh)
    edl = load_edl(edl_path)  # a malformed EDL: EDLError, exit 2
    validate_edl(edl, edl_path.parent / edl.media_root).raise_if_invalid(str(edl_path))  # as `clipagent validate`
    resolved = load_brief(brief_path).resolve()
    index = analyze_folder(media_dir, options, Cache(cache_dir), SilentReporter())
    _check_usable(index, media_dir)
    result = score_edl(edl, index, resolved, goal)
    if as_json:
        out.print_json(json.dumps(result.model_dump(mode="json")))
        return
    head, *parts = score_lines(result)
    out.print(f"{edl_path}: {head}", markup=False, highlight=False)
    for line in parts:
        out.print(f"  {line}", markup=False, highlight=False)
    missing = sorted({c.media for c in edl.clips} - {f.id for f in index.files})
    if missing:
        err.print(f"note: media the index does not know count as footage without words or shots: {', '.join(missing)}",
                  markup=False, highlight=False)  # fmt: skip


def _inputs(target: Path, brief: Path | None, media: Path | None, options):
    """(edl.json, brief, media folder, analysis options, target length) for an OUT_DIR or an EDL."""
    if target.is_dir():
        from .outputs import read_report

        report = read_report(target)  # no report.json: BadInputError naming the folder
        if not (target / "edl.json").is_file():
            raise BadInputError(f"{target}: no edl.json here; is it a folder `clipagent edit` wrote?")
        media_dir = media or Path(report.media_dir)
        _check_media(media_dir)
        return target / "edl.json", brief or Path(report.brief), media_dir, report.analyze_options, Fraction(
            report.target_duration
        )
    if not target.exists():
        raise BadInputError(f"{target}: no such folder or EDL file",
                            hint="give a folder `clipagent edit` wrote, or an edl.json with --brief and --media")  # fmt: skip
    if brief is None or media is None:
        raise BadInputError(f"{target}: scoring an EDL file needs the brief and the footage",
                            hint=f"clipagent score {target} --brief BRIEF.md --media MEDIA_DIR")  # fmt: skip
    _check_media(media)
    return target, brief, media, options, None


def _check_usable(index, media_dir: Path) -> None:
    """A score needs footage to judge the cut by: a folder without a video clipagent can read is
    bad input (exit 2), as it is for `edit`."""
    if not any(f.info.kind == "video" for f in index.files):
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in index.skipped[:5])
        found = "no files" if not index.files and not index.skipped else "no usable video"
        raise BadInputError(f"{media_dir}: {found} to score the cut against" + (f" ({reasons})" if reasons else ""),
                            hint="pass the folder of footage the cut was made from with --media")  # fmt: skip


def _check_media(media_dir: Path) -> None:
    if not media_dir.is_dir():
        raise BadInputError(f"{media_dir}: the media folder is not there",
                            hint="pass the folder of footage the cut was made from with --media")  # fmt: skip
