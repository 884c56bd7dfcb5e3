"""The EDL: the one timeline model, the contract between planners and the renderer.

An EDL names media by id (each id maps to a path relative to a media root) and says which
ranges of them play, in what order, joined how, with which overlays and which music.
Times are rational seconds (`timebase.Time`). Field types and simple bounds live here;
checks that need the real media or several fields at once live in `validate.py`, which
returns them as data so a planner can repair its plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_serializer

from .errors import EDLError
from .timebase import CutTime, Rate, Time, frames

SCHEMA_VERSION = 2
"""Version 2 added `Clip.reframe` (a crop window that moves over time). Version-1 files load
unchanged (they have no reframe) and are written back as version 2."""

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Letters, digits, _ . -")]
Color = Annotated[
    str,
    Field(pattern=r"^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$", description="#RRGGBB or #RRGGBBAA"),
]
Position = Literal[
    "top", "center", "bottom", "lower_third", "top_left", "top_right", "bottom_left", "bottom_right"
]




def _not_bool(value: object) -> object:
    """JSON's true/false are not numbers (pydantic would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
"""A finite float (the models refuse NaN and infinities), never a boolean."""
Count = Annotated[int, BeforeValidator(_not_bool)]
"""An integer, never a boolean."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class OutputSpec(_Model):
    """What the finished cut is: frame size, constant frame rate, loudness."""

    width: Count = Field(1280, ge=16, le=7680)
    height: Count = Field(720, ge=16, le=7680)
    fps: Rate = Fraction(30)
    loudness_lufs: Number = Field(-14.0, ge=-40, le=-5, description="Integrated loudness target (EBU R128)")
    true_peak_db: Number = Field(-1.5, ge=-9, le=0)
    audio_rate: Literal[44100, 48000] = 48000
    background: Color = "#000000"
    platform: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="The platform preset the cut is for (e.g. tiktok): the render keeps under its bitrate ceiling "
        "and checks the cut against its upload rules; null for none",
    )

    @property
    def frame(self) -> Fraction:
        return 1 / self.fps


class MediaRef(_Model):
    """A source file, by id; `path` is relative to the EDL's media root."""

    id: Id
    path: str = Field(min_length=1, max_length=4096)


class Crop(_Model):
    """A reframing window in the source picture, as fractions of its displayed width and height."""

    x: Number = Field(0.0, ge=0, le=1)
    y: Number = Field(0.0, ge=0, le=1)
    w: Number = Field(1.0, gt=0, le=1)
    h: Number = Field(1.0, gt=0, le=1)


class CropKeyframe(_Model):
    """Where the reframing window is at one source time: its top-left corner, as fractions of the
    displayed picture. `interpolation` says how it goes on to the next keyframe: `linear` (moves
    at constant speed) or `hold` (stays, then jumps at the next keyframe: a shot boundary)."""

    time: Time = Field(description="Source seconds, inside the clip's range")
    x: Number = Field(ge=0, le=1)
    y: Number = Field(ge=0, le=1)
    interpolation: Literal["linear", "hold"] = "linear"


class Reframe(_Model):
    """A crop window of fixed size that moves over the clip (schema version 2): `w` and `h` are
    fractions of the displayed picture (ffmpeg's crop keeps its size for a whole stream, so the size
    is one per clip), the keyframes place its corner over time, in increasing source time. Before
    the first keyframe the window stays at the first, after the last at the last. The window is
    then scaled to the output frame; make w:h match the output's shape."""

    w: Number = Field(gt=0, le=1)
    h: Number = Field(gt=0, le=1)
    keyframes: list[CropKeyframe] = Field(min_length=1, max_length=10_000)
    subject: str = Field("", max_length=200, description="What the window follows, for people (plan.md)")


class Transition(_Model):
    """How a clip begins after the one before it. Crossfade and dip overlap the two clips."""

    kind: Literal["cut", "crossfade", "dip"] = "cut"
    duration: CutTime = Fraction(0)


class Clip(_Model):
    """A range of a source on the video track. Its own audio plays with it unless muted."""

    id: Id
    media: Id
    src_in: Time
    src_out: Time
    speed: Rate = Field(Fraction(1), description="Playback speed, 0.25 to 4 (the validator's range; above 0 to parse)")
    fit: Literal["contain", "cover"] = Field(
        "contain", description="contain: letterbox to show all; cover: fill the frame, cropping the centre"
    )
    crop: Crop | None = None
    reframe: Reframe | None = Field(None, description="A moving crop window (schema 2); not with `crop`")
    gain_db: Number = Field(0.0, ge=-60, le=24)
    mute: bool = False
    transition_in: Transition = Transition()
    note: str = Field("", max_length=2000, description="Why this clip is here (for people)")

    @property
    def duration(self) -> Fraction:
        """Seconds on the timeline."""
        return (self.src_out - self.src_in) / self.speed


class TextOverlay(_Model):
    kind: Literal["text"] = "text"
    start: CutTime
    end: CutTime
    text: str = Field(min_length=1, max_length=500)
    position: Position = "center"
    size: Number = Field(0.06, gt=0, le=0.5, description="Font height as a fraction of the output height")
    color: Color = "#FFFFFF"
    box_color: Color | None = "#00000099"


class ImageOverlay(_Model):
    """A still picture (a logo) over the video."""

    kind: Literal["image"] = "image"
    start: CutTime
    end: CutTime
    media: Id
    position: Position = "top_right"
    width: Number = Field(0.15, gt=0, le=1, description="Width as a fraction of the output width")
    margin: Number = Field(0.03, ge=0, le=0.5, description="Distance from the edges, fraction of output height")
    opacity: Number = Field(1.0, ge=0, le=1)


class CueWord(_Model):
    """One spoken word of a cue, on the output timeline (seconds from the cut's start): the
    karaoke style highlights it from `start` until the next word starts."""

    text: str = Field(min_length=1, max_length=100)
    start: CutTime
    end: CutTime


CaptionPosition = Literal["bottom", "top", "center"]


class Cue(_Model):
    start: CutTime
    end: CutTime
    text: str = Field(min_length=1, max_length=500)
    words: list[CueWord] = Field(
        [], max_length=200, description="The cue's words with their times (optional; karaoke highlights them)"
    )
    position: CaptionPosition | None = Field(
        None, description="This cue's place, when not the overlay's (e.g. moved off a face)"
    )
    margin: Number | None = Field(None, ge=0, le=0.5, description="Distance from that edge, fraction of output height")

    @model_serializer(mode="wrap")
    def _compact(self, handler):  # noqa: ANN001, ANN202 (pydantic's serializer protocol)
        """A cue without words or its own place is written as before them: text and times only."""
        data = handler(self)
        for key in ("words", "position", "margin"):
            if data.get(key) in (None, []):
                data.pop(key, None)
        return data


class Captions(_Model):
    """Timed caption lines, drawn by libass from an ASS file (render/captions.py) inside the frame's
    safe zone: 1-2 lines per cue, the spoken word highlighted when `highlight_color` is set and the
    cues carry their words."""

    kind: Literal["captions"] = "captions"
    cues: list[Cue]
    position: CaptionPosition = "bottom"
    margin: Number = Field(0.1, ge=0, le=0.5, description="Distance from the edge, fraction of output height")
    size: Number = Field(0.055, gt=0, le=0.3)
    color: Color = "#FFFFFF"
    box_color: Color | None = "#000000A0"
    max_chars_per_line: Count = Field(32, ge=8, le=120)
    style: str = Field("", max_length=64, description="The caption style preset these came from (for people)")
    font: str | None = Field(
        None, min_length=1, max_length=4096,
        description="A font file: relative to the media root, or absolute; null for the default font",
    )
    bold: bool = True
    outline: Number = Field(0.0, ge=0, le=0.3, description="Outline width, fraction of the font height")
    outline_color: Color = "#000000"
    highlight_color: Color | None = Field(
        None, description="The spoken word's colour (karaoke), for cues that carry their words"
    )


Overlay = Annotated[Union[TextOverlay, ImageOverlay, Captions], Field(discriminator="kind")]


class Music(_Model):
    """A music bed under the whole cut, ducked under speech."""

    media: Id
    src_in: Time = Fraction(0)
    gain_db: Number = Field(-8.0, ge=-60, le=12)
    duck: bool = Field(True, description="Lower the music while the clips' own audio is loud")
    fade_in: CutTime = Fraction(0)
    fade_out: CutTime = Fraction(1)
    loop: bool = True


class SafeArea(_Model):
    """The frame's margins that a platform's interface covers (presets/platforms/*.yaml `safe_zone`):
    top and bottom as fractions of the height, left and right of the width. Text stays inside."""

    top: Number = Field(0.05, ge=0, lt=0.5)
    bottom: Number = Field(0.05, ge=0, lt=0.5)
    left: Number = Field(0.05, ge=0, lt=0.5)
    right: Number = Field(0.05, ge=0, lt=0.5)


MIN_END_CARD = Fraction(3, 2)
"""An end card lasts at least 1.5 s (issue 11): time to read a short call to action."""


class EndCard(_Model):
    """A closing slate over the cut's last `duration` seconds (render/endcard.py): a solid colour, or
    the last frame before it held and blurred; the logo; the call to action in large type, wrapped
    and shrunk to fit inside `safe_zone`. It covers the end of the timeline rather than extending
    it, so the cut keeps the brief's length and the sound (music, the last clip) plays on under it."""

    duration: CutTime = Field(Fraction(5, 2), description="Seconds, at least 1.5 and at most the cut (the validator)")
    background: Color | Literal["blur"] = Field("#000000", description='A colour, or "blur": the last frame, blurred')
    text: str = Field(min_length=1, max_length=200, description="The call to action")
    text_color: Color = "#FFFFFF"
    accent: Color | None = Field(None, description="A bar under the call to action")
    size: Number = Field(
        0.09, gt=0, le=0.3, description="Font height, fraction of the frame's shorter side (smaller when it cannot fit)"
    )
    logo: Id | None = Field(None, description="Media id of a picture shown above the call to action")
    logo_width: Number = Field(0.45, gt=0, le=1, description="The logo's width, fraction of the safe zone's width")
    safe_zone: SafeArea = SafeArea()


class HookTitle(_Model):
    """A title over the cut's opening, from 0 to `end` seconds (render/endcard.py): centred near
    the top of `safe_zone`, wrapped (at most 2 lines) and shrunk to fit inside it."""

    text: str = Field(min_length=1, max_length=200)
    end: CutTime = Field(Fraction(2), description="Seconds from the cut's start")
    color: Color = "#FFFFFF"
    box_color: Color | None = "#000000B3"
    size: Number = Field(0.065, gt=0, le=0.3, description="Font height, fraction of the frame's shorter side")
    safe_zone: SafeArea = SafeArea()


class EDL(_Model):
    schema_version: Annotated[Literal[1, 2], AfterValidator(lambda v: SCHEMA_VERSION)] = Field(
        SCHEMA_VERSION, description="2 (written); 1 is read and upgraded: it has no `reframe`"
    )
    title: str = Field("", max_length=200)
    media_root: str = Field(".", description="Folder the media paths are relative to, itself relative to the EDL file")
    output: OutputSpec = OutputSpec()
    media: list[MediaRef]
    clips: list[Clip] = Field(min_length=1)
    overlays: list[Overlay] = []
    music: Music | None = None
    end_card: EndCard | None = None
    hook_title: HookTitle | None = None

    def media_by_id(self) -> dict[str, MediaRef]:
        return {ref.id: ref for ref in self.media}


@dataclass(frozen=True)
class Placement:
    """Where a clip sits on the output timeline, in seconds and in output frames."""

    clip: Clip
    start: Fraction
    end: Fraction
    start_frame: int
    end_frame: int

    @property
    def frame_count(self) -> int:
        return self.end_frame - self.start_frame


def place_clips(edl: EDL) -> list[Placement]:
    """Lay the clips on the timeline. A transition of d seconds overlaps the clip with the one
    before it by d. Frame boundaries round the exact positions, so rounding never accumulates."""
    fps = edl.output.fps
    placements: list[Placement] = []
    cursor = Fraction(0)
    for clip in edl.clips:
        start = cursor - clip.transition_in.duration if placements else Fraction(0)
        end = start + clip.duration
        placements.append(Placement(clip, start, end, frames(start, fps), frames(end, fps)))
        cursor = end
    return placements


def timeline_duration(edl: EDL) -> Fraction:
    """The cut's exact length in seconds (before frame rounding)."""
    return place_clips(edl)[-1].end


def timeline_frames(edl: EDL) -> int:
    return place_clips(edl)[-1].end_frame


# ---- JSON in and out -------------------------------------------------------------------------


def parse_edl(text: str, *, source: str = "EDL") -> EDL:
    """An EDL from JSON text; every structural problem is reported at once as an EDLError (a key
    given twice in one object too: JSON would keep the last value without a word)."""
    from .validate import Violation  # validate imports this module

    violations = [
        Violation(code="schema", location=_location(loc), message=f"`{loc[-1]}` is given twice; keep one")
        for loc in _keys_given_twice(text)
    ]
    try:
        edl = EDL.model_validate_json(text)
    except ValidationError as exc:
        if reason := _not_an_edl(text, exc.errors()):
            raise not_an_edl(source, reason) from None
        violations += [
            Violation(code="schema", location=_location(err["loc"]), message=err["msg"].removeprefix("Value error, "))
            for err in exc.errors()
        ]
    if violations:
        raise EDLError(
            f"{source} is not a valid EDL ({len(violations)} problem(s))",
            violations=violations,
            hint=SCHEMA_HINT,
        ) from None
    return edl


SCHEMA_HINT = "`clipagent schema` prints the EDL's JSON Schema"


def not_an_edl(source: str, reason: str) -> EDLError:
    """The error for a file that is not an EDL at all (empty, not JSON, binary, JSON that is not an
    object): "SOURCE is not a valid EDL (REASON)", its one schema violation at (root) for
    `validate --json` and planners, and the schema hint."""
    from .validate import Violation  # validate imports this module

    return EDLError(
        f"{source} is not a valid EDL ({reason})",
        violations=[Violation(code="schema", location="(root)", message=reason)],
        hint=SCHEMA_HINT,
    )


def _not_an_edl(text: str, errors: list) -> str | None:
    """Why `text` is not an EDL at all, from pydantic's errors at the root; None when it is a JSON
    object (its problems are field by field)."""
    root = [err for err in errors if not err["loc"]]
    if not root:
        return None
    if not text.strip():
        return "an empty file, not JSON"
    if root[0]["type"] == "json_invalid":
        return "not JSON: " + root[0]["msg"].removeprefix("Invalid JSON: ")
    try:
        kind = type(json.loads(text)).__name__
    except (ValueError, RecursionError):
        return None
    kind = {"list": "an array", "str": "a string", "int": "a number", "float": "a number", "bool": "true/false",
            "NoneType": "null"}.get(kind)  # fmt: skip
    return f"JSON, but {kind}: an EDL is an object of fields" if kind else None


class _Object(dict):
    """A JSON object that remembers which of its keys were given more than once."""

    twice: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Object(obj)
    marked.twice = tuple(key for i, (key, _) in enumerate(pairs) if any(k == key for k, _ in pairs[:i]))
    return marked


def _keys_given_twice(text: str) -> list[tuple]:
    """The location of every key given twice in one object; [] when the text is not JSON (pydantic
    reports that)."""
    try:
        data = json.loads(text, object_pairs_hook=_object)
    except (ValueError, RecursionError):
        return []
    if not _has_twice(data):  # the common case: one cheap pass, no paths built
        return []
    found: list[tuple] = []

    def walk(node: object, loc: tuple) -> None:
        if isinstance(node, dict):
            found.extend((*loc, key) for key in getattr(node, "twice", ()))
            for key, value in node.items():
                walk(value, (*loc, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*loc, i))

    try:
        walk(data, ())
    except RecursionError:
        pass
    return found


def _has_twice(node: object) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, _Object):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def load_edl(path: Path) -> EDL:
    """The EDL in the file `path`: the one loader of every command (render, validate, score,
    revise, export). EDLError when it is missing, a folder, unreadable, or not an EDL (empty, not
    JSON, binary, not an object: "is not a valid EDL (...)" with the schema hint), or its fields
    are wrong (every schema violation)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EDLError(f"EDL not found: {path}", hint="check the path; `clipagent edit` writes OUT_DIR/edl.json") from None
    except IsADirectoryError:
        raise EDLError(f"{path} is a folder, not an EDL file",
                       hint="give the edl.json inside it (`clipagent edit` writes OUT_DIR/edl.json)") from None  # fmt: skip
    except OSError as exc:
        raise EDLError(f"cannot read EDL {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_an_edl(str(path), f"binary data, not JSON text: byte {exc.start} is not UTF-8") from None
    return parse_edl(text, source=str(path))


def dump_edl(edl: EDL) -> str:
    return json.dumps(edl.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def edl_json_schema() -> dict:
    schema = EDL.model_json_schema(mode="validation")
    schema["$id"] = f"https://clipagent.dev/schema/edl-{SCHEMA_VERSION}.json"
    schema["title"] = "clipagent EDL"
    return schema


def _location(loc: tuple) -> str:
    """("clips", 2, "src_in") -> "clips[2].src_in"."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(root)"
