"""The LLM agent's tools: typed arguments, their JSON schemas, and a dispatcher over one PlanContext.

Tools see only the context (the media index and the brief); nothing here touches the file
system. Every result is JSON text. Transcripts and file names are footage *data*: they reach the
model only inside tool results, never in its instructions.

The model never chooses file paths. A submitted EDL names media by index id; `submit_edl` fills
in each id's index path, refuses any other path and any id the index does not have, and sets
the output from the brief, before the EDL goes through `review_edl`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..analysis.models import IndexedFile
from ..analysis.search import search
from ..edl import EDL, Count, dump_edl, parse_edl
from ..errors import EDLError
from ..timebase import Time
from ..listing import listing
from ..validate import Violation, resolve_media_path, summarize
from .base import PlanContext, Review
from .layers import add_layers
from .llm_client import FunctionSpec, ToolSpec, parse_json
from .text import normal_path

MAX_WORDS = 300  # per read_transcript answer
MAX_HIT_WORDS = 400  # characters of spoken text per search hit
QueryEmbedder = Callable[[str], "np.ndarray | None"]
"""The query's CLIP text vector for search_shots (None: words only)."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ListMediaArgs(_Args):
    media_id: str | None = None


class SearchShotsArgs(_Args):
    query: str = Field(min_length=1, max_length=300)
    limit: Count = Field(8, ge=1, le=25)


class ReadTranscriptArgs(_Args):
    media_id: str
    start: Time = Fraction(0)
    end: Time | None = None


class SubmitEdlArgs(_Args):
    edl: dict[str, Any]


class FinishArgs(_Args):
    summary: str = ""


class NoArgs(_Args):
    pass


_TIME = {"type": "number", "minimum": 0}
_CLIP = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "unique clip id, e.g. c1"},
        "media": {"type": "string", "description": "a media id from list_media"},
        "src_in": {**_TIME, "description": "seconds into the source where the clip starts (at a word boundary)"},
        "src_out": {**_TIME, "description": "seconds into the source where the clip ends (at a word boundary)"},
        "note": {"type": "string", "description": "why this clip is here, one sentence"},
        "transition_in": {
            "type": "object",
            "properties": {"kind": {"enum": ["cut", "crossfade", "dip"]}, "duration": _TIME},
        },
        "speed": {"type": "number", "minimum": 0.25, "maximum": 4},
        "fit": {"enum": ["contain", "cover"]},
        "mute": {"type": "boolean"},
        "gain_db": {"type": "number"},
        "reframe": {
            "enum": ["auto"],
            "description": "framing left to clipagent, as when left out: a window that follows the face is added "
            "after you submit",
        },
    },
    "required": ["id", "media", "src_in", "src_out"],
}
EDL_ARGUMENT_SCHEMA = {
    "type": "object",
    "description": "The cut. Media are named by id; their paths and the output format are filled in for you.",
    "properties": {
        "title": {"type": "string"},
        "clips": {"type": "array", "minItems": 1, "items": _CLIP, "description": "the clips in playing order"},
        "overlays": {
            "type": "array",
            "items": {"type": "object"},
            "description": 'text ({"kind":"text","start","end","text","position"}), image ({"kind":"image",'
            '"start","end","media"}) or captions ({"kind":"captions","cues":[{"start","end","text"}]}); times on the cut',
        },
        "music": {
            "type": "object",
            "properties": {"media": {"type": "string"}, "src_in": _TIME, "gain_db": {"type": "number"}},
            "description": "an optional music bed under the whole cut, by media id",
        },
    },
    "required": ["clips"],
}


class Tool(BaseModel):
    name: str
    description: str
    args: type[_Args]
    parameters: dict[str, Any]

    def spec(self) -> ToolSpec:
        return ToolSpec(function=FunctionSpec(name=self.name, description=self.description, parameters=self.parameters))


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in [
        Tool(
            name="list_media",
            description="The media files: id, kind, duration, shots, whether and how much is spoken. "
            "With media_id: that file's shots (times, sharpness, motion) and silences.",
            args=ListMediaArgs,
            parameters={"type": "object", "properties": {"media_id": {"type": "string"}}},
        ),
        Tool(
            name="search_shots",
            description="Rank shots and spoken sentences for a text query (words spoken, and pictures when "
            "the index has image embeddings). Returns media id, shot, start, end, score and the words spoken.",
            args=SearchShotsArgs,
            parameters={
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 25}},
                "required": ["query"],
            },
        ),
        Tool(
            name="read_transcript",
            description=f"The words spoken in a file between start and end (seconds), each with its start and "
            f"end time: cut only at these boundaries. At most {MAX_WORDS} words per call.",
            args=ReadTranscriptArgs,
            parameters={
                "type": "object",
                "properties": {"media_id": {"type": "string"}, "start": _TIME, "end": _TIME},
                "required": ["media_id"],
            },
        ),
        Tool(
            name="submit_edl",
            description="Submit the cut. It is checked against the media, the brief and the policy; the "
            "result lists every violation to fix, or says it passed.",
            args=SubmitEdlArgs,
            parameters={"type": "object", "properties": {"edl": EDL_ARGUMENT_SCHEMA}, "required": ["edl"]},
        ),
        Tool(
            name="finish",
            description="Confirm the last EDL that passed review as the final cut, with a short summary of it.",
            args=FinishArgs,
            parameters={"type": "object", "properties": {"summary": {"type": "string"}}},
        ),
        Tool(
            name="current_edl",
            description="The current cut (the EDL being revised).",
            args=NoArgs,
            parameters={"type": "object", "properties": {}},
        ),
    ]
}


class ToolResult(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    text: str
    """JSON text for the model."""
    error: bool = False
    """The call could not be run (unknown tool, malformed arguments, unknown id)."""
    malformed: bool = False
    """The call itself was wrong: an unknown tool, arguments that are not JSON or do not fit."""
    edl: EDL | None = None
    """submit_edl: the EDL as checked (None when it did not parse)."""
    review: Review | None = None
    violations: list[Violation] = Field(default_factory=list)
    """submit_edl: what must be fixed (parse problems, refused media, review violations)."""
    summary: str | None = None
    """finish: the model's summary."""

    @property
    def passed(self) -> bool:
        return self.name == "submit_edl" and self.edl is not None and not self.violations


class Toolbox:
    """The tools over one context. `query_embedder` turns a search query into a CLIP vector."""

    def __init__(
        self, context: PlanContext, *, query_embedder: QueryEmbedder | None = None, current: EDL | None = None
    ) -> None:
        self.context = context
        self.query_embedder = query_embedder
        self.current = current
        self._last_submission: tuple[str, ToolResult] | None = None
        """(the submitted EDL's JSON, its result): an identical resubmission is answered from it."""

    def specs(self) -> list[ToolSpec]:
        names = [n for n in TOOLS if n != "current_edl" or self.current is not None]
        return [TOOLS[n].spec() for n in names]

    def call(self, name: str, arguments: str) -> ToolResult:
        """Run one tool call; every problem becomes an error result the model can read."""
        tool = TOOLS.get(name)
        if tool is None or (name == "current_edl" and self.current is None):
            names = ", ".join(t.function.name for t in self.specs())
            return _error(name, f"no tool named {name!r}; the tools are: {names}", malformed=True)
        try:
            raw = parse_json(arguments or "{}")
        except ValueError as exc:
            return _error(name, f"the arguments are not valid JSON ({exc}); send one JSON object", malformed=True)
        if name == "submit_edl" and isinstance(raw, dict):
            raw = _edl_argument(raw)
        try:
            args = tool.args.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(arguments)'}: {e['msg']}" for e in exc.errors())
            return _error(name, f"bad arguments: {problems}", malformed=True)
        return getattr(self, f"_{name}")(args)

    # -- the tools

    def _list_media(self, args: ListMediaArgs) -> ToolResult:
        index = self.context.index
        if args.media_id is not None:
            file = index.file(args.media_id)
            if file is None:
                return self._unknown("list_media", args.media_id)
            return _ok("list_media", _file_detail(file))
        files = [_file_summary(f) for f in index.files]
        skipped = [{"path": s.path, "reason": s.reason} for s in index.skipped]
        return _ok("list_media", {"files": files, "skipped": skipped, "notes": index.notes})

    def _search_shots(self, args: SearchShotsArgs) -> ToolResult:
        vector = self.query_embedder(args.query) if self.query_embedder else None
        hits = search(self.context.index, args.query, vector, args.limit)
        rows = [
            {"media_id": h.file_id, "shot": h.shot, "start": _s(h.start), "end": _s(h.end), "score": h.score,
             "words": h.words[:MAX_HIT_WORDS]}
            for h in hits
        ]  # fmt: skip
        return _ok("search_shots", {"query": args.query, "hits": rows})

    def _read_transcript(self, args: ReadTranscriptArgs) -> ToolResult:
        file = self.context.index.file(args.media_id)
        if file is None:
            return self._unknown("read_transcript", args.media_id)
        if file.transcript is None:
            return _ok("read_transcript", {"media_id": file.id, "words": [], "note": "no transcript for this file"})
        end = args.end if args.end is not None else file.info.duration or Fraction(10**9)
        words = [w for w in file.transcript.words if w.end > args.start and w.start < end]
        shown = words[:MAX_WORDS]
        result: dict[str, Any] = {
            "media_id": file.id,
            "start": _s(args.start),
            "end": _s(end),
            "text": " ".join(w.text for w in shown),
            "words": [{"text": w.text, "start": _s(w.start), "end": _s(w.end)} for w in shown],
        }
        if len(words) > len(shown):
            result["truncated"] = True
            result["next_start"] = _s(shown[-1].end)
        return _ok("read_transcript", result)

    def _submit_edl(self, args: SubmitEdlArgs) -> ToolResult:
        """Parse, add the brief's layers, review. The same EDL submitted again gets the same answer
        without a second review (a weak or hostile model resubmitting 10,000 clips each round)."""
        key = json.dumps(args.edl, sort_keys=True, default=str)
        if self._last_submission is not None and self._last_submission[0] == key:
            return self._last_submission[1]
        result = self._review_submission(args)
        self._last_submission = (key, result)
        return result

    def _review_submission(self, args: SubmitEdlArgs) -> ToolResult:
        from .review import review_edl

        data, refused = self._with_index_media(_framing_left_to_us(args.edl))
        try:
            edl = parse_edl(json.dumps(data), source="the submitted EDL")
        except EDLError as exc:
            return _violations(None, None, [*refused, *exc.violations])
        edl, added = add_layers(edl, self.context)
        review = review_edl(edl, self.context, self.query_embedder)
        return _violations(edl, review, [*refused, *review.violations], added)

    def _finish(self, args: FinishArgs) -> ToolResult:
        return ToolResult(name="finish", text=json.dumps({"ok": True}), summary=args.summary)

    def _current_edl(self, args: NoArgs) -> ToolResult:
        return ToolResult(name="current_edl", text=dump_edl(self.current))

    # -- helpers

    def _unknown(self, name: str, media_id: str) -> ToolResult:
        known = listing(f.id for f in self.context.index.files)
        return _error(name, f"no media with id {media_id[:100]!r}; the ids are: {known}")

    def _with_index_media(self, edl: dict[str, Any]) -> tuple[dict[str, Any], list[Violation]]:
        """The EDL with `media` rebuilt from the index (every listed or referenced known id, with its
        index path), the brief's output format, and the violations for refused media entries."""
        index, root = self.context.index, self.context.media_root
        refused: list[Violation] = []
        ids: list[str] = []
        given = edl.get("media") if isinstance(edl.get("media"), list) else []
        for i, ref in enumerate(given):
            ref = ref if isinstance(ref, dict) else {"id": ref}
            ref_id, path = str(ref.get("id", "")), ref.get("path")
            file = index.file(ref_id)
            if file is None:
                refused.append(_unknown_id(f"media[{i}].id", ref_id, index.files))
            elif path not in (None, "") and normal_path(str(path)) != normal_path(file.path):
                escapes = resolve_media_path(root, str(path)) is None
                code = "path_escapes_root" if escapes else "invalid_value"
                why = "is outside the media root" if escapes else "is not this id's file"
                refused.append(Violation(code=code, location=f"media[{i}].path", message=(
                    f"path {str(path)[:200]!r} {why}; media are named by id only (id {ref_id!r} is {file.path!r}): "
                    "leave `media` out, it is filled in from the index")))  # fmt: skip
            else:
                ids.append(ref_id)
        ids += [m for m in _referenced_ids(edl) if index.file(m) is not None]
        media = [{"id": i, "path": index.file(i).path} for i in dict.fromkeys(ids)]
        output = self.context.brief.output.model_dump(mode="json")
        return {**edl, "media": media, "output": output, "media_root": "."}, refused


def _edl_argument(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept the EDL as an object, as JSON text, or (from weaker models) as the arguments themselves."""
    edl = raw.get("edl")
    if isinstance(edl, str):
        try:
            edl = parse_json(edl)
        except ValueError:
            return raw
        return {**raw, "edl": edl}
    if edl is None and "clips" in raw:
        return {"edl": raw}
    return raw


def _framing_left_to_us(edl: dict[str, Any]) -> dict[str, Any]:
    """The EDL without the `reframe` (and any `crop`) of each clip that says `"reframe": "auto"`: its
    framing is then clipagent's, added before review (layers.add_layers, planning/reframe.py)."""
    clips = edl.get("clips")
    if not isinstance(clips, list):
        return edl
    auto = [isinstance(c, dict) and c.get("reframe") == "auto" for c in clips]
    if not any(auto):
        return edl
    return {**edl, "clips": [{k: v for k, v in c.items() if k not in ("reframe", "crop")} if a else c
                             for c, a in zip(clips, auto)]}  # fmt: skip


def _referenced_ids(edl: dict[str, Any]) -> list[str]:
    ids = [c.get("media") for c in edl.get("clips") or [] if isinstance(c, dict)]
    ids += [o.get("media") for o in edl.get("overlays") or [] if isinstance(o, dict) and o.get("kind") == "image"]
    if isinstance(edl.get("music"), dict):
        ids.append(edl["music"].get("media"))
    return [str(i) for i in ids if isinstance(i, str)]


def _unknown_id(location: str, media_id: str, files: list[IndexedFile]) -> Violation:
    known = listing(f.id for f in files)
    return Violation(
        code="unknown_media", location=location, message=f"no media with id {media_id[:100]!r} (known: {known})"
    )


def _violations(
    edl: EDL | None, review: Review | None, violations: list[Violation], added: list[str] = ()
) -> ToolResult:
    if not violations and edl is not None:
        text = {
            "ok": True,
            "message": "The EDL passed review.",
            "checks": [c.name for c in review.checks if c.passed] if review else [],
        }
        if added:
            text["added_for_you"] = added
    else:
        summary = summarize(violations)
        text = {
            "ok": False,
            "message": f"The EDL has {len(violations)} problem(s). Fix every one and call submit_edl again with the whole EDL.",
            "violations": [{"code": v.code, "location": v.location, "message": v.message} for v in summary.shown],
        }
        if summary.total > len(summary.shown):
            text["message"] += (
                f" The first {len(summary.shown)} are listed; `counts` has how many of each kind there are in all:"
                " the rest are like the listed ones of the same code."
            )
            text["counts"] = summary.by_code
    return ToolResult(
        name="submit_edl", text=json.dumps(text, ensure_ascii=False), edl=edl, review=review, violations=violations
    )


def _file_summary(file: IndexedFile) -> dict[str, Any]:
    info, words = file.info, (file.transcript.words if file.transcript else [])
    row: dict[str, Any] = {"id": file.id, "path": file.path, "kind": info.kind}
    if info.duration is not None:
        row["duration"] = _s(info.duration)
    if info.video:
        row["size"] = f"{info.video.width}x{info.video.height}"
    row["audio"] = info.audio is not None
    if file.shots is not None:
        row["shots"] = len(file.shots.shots)
    row["words"] = len(words)
    if file.transcript:
        row["language"] = file.transcript.language
    if file.audio is not None:
        row["silences"] = len(file.audio.silences)
        if file.audio.tempo_bpm:
            row["tempo_bpm"] = round(file.audio.tempo_bpm, 1)
    if file.speech is not None:  # voice activity: speech without words still shows
        row["speech_seconds"] = _s(file.speech.speech_seconds)
    if file.sound is not None:
        row["sound"] = "voice-over" if file.sound == "speech" else "music"
    return row


def _file_detail(file: IndexedFile) -> dict[str, Any]:
    detail = _file_summary(file)
    if file.shots is not None:
        detail["shot_list"] = [
            {"shot": s.index, "start": _s(s.start), "end": _s(s.end), "sharpness": round(s.sharpness, 2),
             "brightness": round(s.brightness, 2), "motion": round(s.motion, 2)}
            for s in file.shots.shots[:200]
        ]  # fmt: skip
    if file.audio is not None:
        detail["silence_list"] = [{"start": _s(r.start), "end": _s(r.end)} for r in file.audio.silences[:100]]
    if file.speech is not None:
        detail["speech_regions"] = [{"start": _s(r.start), "end": _s(r.end)} for r in file.speech.regions[:200]]
    return detail


def _s(value: Fraction) -> float:
    return round(float(value), 3)


def _ok(name: str, payload: dict[str, Any]) -> ToolResult:
    return ToolResult(name=name, text=json.dumps(payload, ensure_ascii=False))


def _error(name: str, message: str, *, malformed: bool = False) -> ToolResult:
    return ToolResult(
        name=name, text=json.dumps({"error": message}, ensure_ascii=False), error=True, malformed=malformed
    )
