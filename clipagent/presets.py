"""Presets: platform sizes and limits, caption styles and brand kits, as YAML data files.

Layout (one file per preset, the file name is the preset name):

    presets/defaults.yaml          global defaults, the first step of the cascade
    presets/platforms/<name>.yaml  frame size, frame rate, length limit, loudness, safe zone
    presets/captions/<name>.yaml   caption styles (fields of the EDL's Captions overlay)
    presets/brands/<name>.yaml     brand kits: logo, colours, font, end card

The shipped folder is the repository's `presets/` (an installed wheel carries it as
`clipagent/_presets/`, see pyproject.toml); `$CLIPAGENT_PRESETS` (one folder, or several
separated by os.pathsep) is searched first, so a user's preset of the same name wins and their
`defaults.yaml` overrides the shipped defaults key by key.
"""

from __future__ import annotations

import difflib
import os
import re
import reprlib
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ByteSize, ConfigDict, Field, ValidationError

from .edl import MIN_END_CARD, Captions, Color, Count, Cue, HookTitle, ImageOverlay, Number, OutputSpec, Position, SafeArea
from .edl import EndCard as EdlEndCard
from .listing import MAX_LISTED
from .timebase import CutTime, Rate



def _shipped_folder() -> Path:
    """The copy inside an installed wheel, else presets/ at the top of the checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "_presets"
    return installed if installed.is_dir() else package.parent / "presets"


SHIPPED = _shipped_folder()
ENV_VAR = "CLIPAGENT_PRESETS"

Kind = Literal["platform", "captions", "brand"]
_FOLDERS: dict[str, str] = {"platform": "platforms", "captions": "captions", "brand": "brands"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_media_path(value: str) -> str:
    """A path inside the media folder: relative, with no `..` part."""
    posix = value.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix) or ".." in posix.split("/"):
        raise ValueError("must be a path relative to the media folder, without '..'")
    return value


def _positive(value: Fraction) -> Fraction:
    if value <= 0:
        raise ValueError("must be > 0 seconds")
    return value


Seconds = Annotated[CutTime, AfterValidator(_positive)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SafeZone(_Model):
    """Where the platform's interface covers the video: margins as fractions of the frame."""

    top: Number = Field(0.05, ge=0, lt=0.5)
    bottom: Number = Field(0.05, ge=0, lt=0.5)
    left: Number = Field(0.05, ge=0, lt=0.5)
    right: Number = Field(0.05, ge=0, lt=0.5)


class VideoRules(_Model):
    """What a platform accepts of the video stream (render/spec.py checks the rendered cut)."""

    codec: str = Field("h264", description="ffmpeg's codec name")
    profiles: tuple[str, ...] = Field(("high", "main"), min_length=1, description="H.264 profiles, lower case")
    max_level: Number | None = Field(4.2, ge=1, le=6.2, description="Highest H.264 level (e.g. 4.2); null for any")
    pixel_format: str = "yuv420p"
    max_bitrate_kbps: Count | None = Field(None, ge=100, le=1_000_000, description="Average video bitrate ceiling")


class AudioRules(_Model):
    """What a platform accepts of the audio stream."""

    codec: str = Field("aac", description="ffmpeg's codec name")
    sample_rates: tuple[Count, ...] = Field((44100, 48000), min_length=1)
    channels: tuple[Count, ...] = Field((1, 2), min_length=1)
    layouts: tuple[str, ...] | None = Field(
        None, min_length=1, description="Channel layouts by ffmpeg's names (mono, stereo, 5.1); null for any"
    )
    min_bitrate_kbps: Count | None = Field(
        None, ge=8, le=2000, description="Lowest audio bitrate (declared, or in its busiest second); null for none"
    )


class ContainerRules(_Model):
    """What a platform asks of the MP4/MOV file's boxes (render/boxes.py reads their headers)."""

    faststart: bool = Field(False, description="The moov box (the index) must come before mdat (the media)")
    edit_lists: bool = Field(True, description="Whether edit lists (edts/elst boxes) are allowed")


class Platform(_Model):
    name: str
    source: str = Field(description="The preset file")
    description: str = ""
    width: Count = Field(ge=16, le=7680)
    height: Count = Field(ge=16, le=7680)
    fps: Rate
    max_duration: Seconds | None = Field(description="The platform's length limit in seconds; null for none")
    loudness_lufs: Number = Field(-14.0, ge=-40, le=-5)
    true_peak_db: Number = Field(-1.0, ge=-9, le=0)
    safe_zone: SafeZone = SafeZone()
    caption_style: str = "bold"
    min_duration: Seconds | None = Field(None, description="The platform's shortest upload in seconds; null for none")
    max_file_size: ByteSize | None = Field(None, gt=0, description="Largest upload, e.g. `300MB` (SI units); null for none")
    loudness_tolerance_lu: Number = Field(1.0, gt=0, le=10, description="How far from loudness_lufs a cut may measure")
    video: VideoRules = VideoRules()
    audio: AudioRules = AudioRules()
    container: ContainerRules = ContainerRules()

    def output_spec(self) -> OutputSpec:
        return OutputSpec(
            width=self.width,
            height=self.height,
            fps=self.fps,
            loudness_lufs=self.loudness_lufs,
            true_peak_db=self.true_peak_db,
            platform=self.name,
        )


class CaptionStyle(_Model):
    """How captions look; the fields are those of the EDL's `Captions` overlay."""

    name: str
    source: str
    description: str = ""
    position: Literal["bottom", "top", "center"] = "bottom"
    margin: Number = Field(0.1, ge=0, le=0.5, description="Distance from the edge, fraction of the frame height")
    size: Number = Field(0.055, gt=0, le=0.3, description="Font height, fraction of the frame height")
    color: Color = "#FFFFFF"
    box_color: Color | None = "#000000A0"
    max_chars_per_line: Count = Field(32, ge=8, le=120)
    bold: bool = True
    outline: Number = Field(0.0, ge=0, le=0.3, description="Outline width, fraction of the font height")
    outline_color: Color = "#000000"
    highlight_color: Color | None = Field(None, description="The spoken word's colour (karaoke); null for none")
    font: str | None = Field(
        None, description="A font file (relative to the media folder, or absolute); null: the brand's or the default"
    )
    brand_colors: dict[
        Literal["color", "box_color", "outline_color", "highlight_color"], Literal["primary", "secondary"]
    ] = Field(
        {}, description="Fields that take the brand kit's colour, when the brief names a brand (a box keeps its alpha)"
    )

    def branded(self, brand: Brand | None) -> CaptionStyle:
        """This style in `brand`'s colours (`brand_colors`) and font (unless the style names one)."""
        if brand is None:
            return self
        update: dict[str, object] = {}
        for field, which in self.brand_colors.items():
            colour = brand.primary if which == "primary" else brand.secondary
            current = getattr(self, field)
            alpha = current[7:9] if current and len(current) == 9 else ""
            update[field] = colour[:7] + alpha
        if self.font is None and brand.font:
            update["font"] = brand.font
        return self.model_copy(update=update)

    def overlay(self, cues: list[Cue]) -> Captions:
        """The EDL overlay that draws `cues` in this style."""
        fields = self.model_dump(include={"position", "margin", "size", "color", "box_color", "max_chars_per_line", "bold",
                                          "outline", "outline_color", "highlight_color", "font"})  # fmt: skip
        return Captions(cues=cues, style=self.name, **fields)


class Logo(_Model):
    path: Annotated[str, AfterValidator(check_media_path)] = Field(min_length=1, description="In the media folder")
    position: Position = "top_right"
    width: Number = Field(0.12, gt=0, le=1, description="Fraction of the frame width")
    margin: Number = Field(0.03, ge=0, le=0.5, description="Fraction of the frame height")
    opacity: Number = Field(1.0, ge=0, le=1)

    def overlay(self, media: str, start: Fraction, end: Fraction) -> ImageOverlay:
        """The EDL overlay that shows this logo; `media` is the EDL media id of `path`."""
        fields = self.model_dump(include={"position", "width", "margin", "opacity"})
        return ImageOverlay(media=media, start=start, end=end, **fields)


def _end_card_length(value: Fraction) -> Fraction:
    if value < MIN_END_CARD:
        raise ValueError(f"must be at least {float(MIN_END_CARD):g} seconds (an end card must be readable)")
    return value


class EndCard(_Model):
    """The closing slate that carries the brief's call to action (the EDL's `end_card`)."""

    duration: Annotated[Seconds, AfterValidator(_end_card_length)] = Fraction(5, 2)
    background: Color | Literal["blur"] = Field("#000000", description='A colour, or "blur": the last frame, blurred')
    text_color: Color = "#FFFFFF"
    accent: Color | None = Field(None, description="A bar under the call to action")
    text_size: Number = Field(0.09, gt=0, le=0.3, description="Font height, fraction of the frame's shorter side")
    logo_width: Number = Field(0.45, gt=0, le=1, description="The logo's width, fraction of the safe zone's width")
    show_logo: bool = True

    def slate(self, text: str, logo: str | None, zone: SafeZone, length: Fraction) -> EdlEndCard:
        """The EDL end card: `text` over the last `length` seconds, `logo` (a media id) above it."""
        return EdlEndCard(duration=length, background=self.background, text=text, text_color=self.text_color,
                          accent=self.accent, size=self.text_size, logo=logo if self.show_logo else None,
                          logo_width=self.logo_width, safe_zone=SafeArea(**zone.model_dump()))  # fmt: skip


class TitleStyle(_Model):
    """How the hook title looks (the EDL's `hook_title`); null colours take the brand's."""

    size: Number = Field(0.065, gt=0, le=0.3, description="Font height, fraction of the frame's shorter side")
    color: Color = "#FFFFFF"
    box_color: Color | None = Field(None, description="The box behind it; null: the brand's primary colour at 90%")
    seconds: Annotated[Seconds, AfterValidator(lambda v: _bounded(v, 10))] = Fraction(2)


def _bounded(value: Fraction, most: int) -> Fraction:
    if value > most:
        raise ValueError(f"must be at most {most} seconds")
    return value


class Brand(_Model):
    name: str
    source: str
    description: str = ""
    primary: Color
    secondary: Color = "#000000"
    font: str | None = Field(None, description="A font file, relative to the media folder or absolute")
    logo: Logo | None = None
    end_card: EndCard | None = EndCard()
    hook_title: TitleStyle = TitleStyle()

    def title_for(self, text: str, zone: SafeZone, end: Fraction) -> HookTitle:
        """The EDL hook title: `text` from 0 to `end` seconds, in this brand's style."""
        style = self.hook_title
        box = style.box_color or self.primary[:7] + "E6"
        return HookTitle(text=text, end=end, color=style.color, box_color=box, size=style.size,
                         safe_zone=SafeArea(**zone.model_dump()))  # fmt: skip


class Defaults(_Model):
    """Global defaults (presets/defaults.yaml). Every key is required in the shipped file."""

    sources: tuple[str, ...] = Field(description="The defaults.yaml files, shipped first")
    platform: str
    pace: Literal["slow", "medium", "fast"]
    captions: bool
    default_duration: Seconds
    pace_shot_seconds: dict[Literal["slow", "medium", "fast"], tuple[Seconds, Seconds]]


class ScoringWeights(_Model):
    """The cut score's component weights (presets/scoring.yaml; planning/score.py uses them)."""

    source: str = Field(description="The scoring.yaml file")
    brief: Number = Field(ge=0, le=100)
    hook: Number = Field(ge=0, le=100)
    pacing: Number = Field(ge=0, le=100)
    word_cuts: Number = Field(ge=0, le=100)
    beats: Number = Field(ge=0, le=100)
    dead_air: Number = Field(ge=0, le=100)
    jump_cuts: Number = Field(ge=0, le=100)
    visual: Number = Field(ge=0, le=100)
    repetition: Number = Field(ge=0, le=100)
    cta: Number = Field(ge=0, le=100)
    captions: Number = Field(ge=0, le=100)


# brief.py defines BriefError and uses the models above: import it only once they exist, so
# either module can be imported first.
from .brief import BriefError  # noqa: E402

# ---- YAML -------------------------------------------------------------------------------------


MAX_YAML_BYTES = 1_000_000
"""A brief's front matter or a preset file: at most 1 MB."""
MAX_YAML_DEPTH = 32
"""Nesting of lists and mappings (a brief needs 2, a preset 3)."""


class _Refused(yaml.YAMLError):
    """YAML we do not accept: `problem` has `{lines}` where the (1-based, offset) line numbers go."""

    def __init__(self, problem: str, lines: tuple[int, ...], hint: str) -> None:
        super().__init__(problem)
        self.problem, self.lines, self.hint = problem, lines, hint


class YamlLoader(yaml.SafeLoader):
    """YAML 1.2-style scalars: only true/false are booleans (`no` is Norway, not False), `9:16` is
    text (YAML 1.1 reads it as the base-60 number 556), dates stay text.

    Bounded and unambiguous (issue 10, kinds 2 and 11): anchors and aliases are refused (a
    367-byte alias bomb expanded to gigabytes), nesting stops at `MAX_YAML_DEPTH`, and a key given
    twice in one mapping is refused with both lines (YAML would keep the last value silently)."""

    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                "line {lines[0]}: YAML anchors and aliases (`&name`, `*name`) are not allowed",
                (event.start_mark.line,),
                "write each value out in full",
            )
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(
                    f"line {{lines[0]}}: nested more than {MAX_YAML_DEPTH} levels deep", (event.start_mark.line,),
                    "a field's value is text, a number or a list of text",
                )  # fmt: skip
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:
                continue  # unhashable: SafeLoader reports it
            if first != key_node.start_mark.line:
                raise _Refused(
                    f"line {{lines[1]}}: field `{str(key)[:80]}` is given twice (lines {{lines[0]}} and {{lines[1]}})",
                    (first, key_node.start_mark.line),
                    "keep one of them: YAML would silently use the last",
                )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):  # type: ignore[override]
        if len(node.value) > 40:  # int() of a long digit string is slow, and refused past 4300 digits
            raise _Refused("line {lines[0]}: a number with more than 40 digits", (node.start_mark.line,),
                           "write a number people can read")  # fmt: skip
        return super().construct_yaml_int(node)


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float", "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
YamlLoader.add_constructor("tag:yaml.org,2002:int", YamlLoader.construct_yaml_int)
YamlLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def read_yaml(text: str, source: str, *, line_offset: int = 0) -> Any:
    """Parse YAML; a syntax error names the file and line (`line_offset` lines precede `text`).

    Raises BriefError for invalid YAML, anchors or aliases, nesting deeper than `MAX_YAML_DEPTH`,
    a key given twice in one mapping, or more than `MAX_YAML_BYTES` of text."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise BriefError(f"{source}: more than {MAX_YAML_BYTES // 1_000_000} MB of settings", hint="is it a brief?")
    try:
        return yaml.load(text, Loader=YamlLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as exc:
        lines = tuple(line + 1 + line_offset for line in exc.lines)
        raise BriefError(f"{source}: {exc.problem.format(lines=lines)}", hint=exc.hint) from None
    except RecursionError:
        raise BriefError(f"{source}: nested too deeply to read") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1 + line_offset}: " if mark else ""
        raise BriefError(
            f"{source}: {line}not valid YAML: {exc.problem or exc}",
            hint="quote text that contains ':' or '#', and indent list items under their key",
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL
        line = text[: exc.position].count("\n") + 1 + line_offset
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        raise BriefError(
            f"{source}: line {line}: a character YAML does not allow (#x{code:04x}, a control character)",
            hint="remove it, and save the file as plain text",
        ) from None
    except yaml.YAMLError as exc:
        raise BriefError(f"{source}: not valid YAML: {exc}") from None


def describe_errors(exc: ValidationError, source: str, rules: dict[str, str] | None = None) -> list[str]:
    """Pydantic errors as readable lines: "<source>: field `a.b[2]`: <rule>, got <value>"; the
    first `MAX_LISTED` of them, then "... and N more"."""
    errors = exc.errors()
    lines = []
    for err in errors[:MAX_LISTED]:
        loc = _location(err["loc"])
        rule = (rules or {}).get(str(err["loc"][0])) if err["loc"] else None
        reason = rule or err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown field"
        shown = _short(err["input"])
        got = "" if err["type"] == "missing" else f", got {shown[:77] + '...' if len(shown) > 80 else shown}"
        lines.append(f"{source}: field `{loc}`: {reason}{got}")
    if len(errors) > MAX_LISTED:
        lines.append(f"... and {len(errors) - MAX_LISTED} more")
    return lines


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 4, 80, 80


def _short(value: Any) -> str:
    """A bounded repr, whatever the value's size (no int over Python's 4300-digit limit gets here)."""
    try:
        return _SHORT.repr(value)
    except ValueError:
        return f"a {type(value).__name__} too long to show"


def _location(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "(root)"


# ---- finding and loading ----------------------------------------------------------------------


def search_path() -> list[Path]:
    """Preset folders, first match wins: $CLIPAGENT_PRESETS entries, then the shipped folder."""
    extra = [Path(p).expanduser() for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return [*extra, SHIPPED]


def list_presets(kind: Kind) -> list[str]:
    """The names of the presets of a kind, sorted ("platform", "captions" or "brand")."""
    folder = _FOLDERS[kind]
    names = {p.stem.lower() for root in search_path() for p in (root / folder).glob("*.yaml") if p.is_file()}
    return sorted(n for n in names if _NAME.match(n))


def preset_file(kind: Kind, name: str) -> Path:
    """The file that defines a preset; an unknown name is a BriefError listing the known ones."""
    key = str(name).strip().lower()
    if _NAME.match(key):
        for root in search_path():
            path = root / _FOLDERS[kind] / f"{key}.yaml"
            if path.is_file():
                return path
    known = list_presets(kind)
    label = {"platform": "platform", "captions": "caption style", "brand": "brand"}[kind]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    raise BriefError(
        f"unknown {label} {name!r}; known: {', '.join(known) or '(none)'}",
        hint=f"{hint}add presets/{_FOLDERS[kind]}/{key}.yaml, or a folder of your own via ${ENV_VAR}",
    )


M = TypeVar("M", bound=BaseModel)


def _load(kind: Kind, name: str, model: type[M]) -> M:
    path = preset_file(kind, name)
    data = _read_mapping(path)
    reserved = {"name", "source"} & set(data)
    if reserved:
        raise BriefError(f"{path}: field `{sorted(reserved)[0]}` is not allowed: it comes from the file name")
    return _validate(model, {**data, "name": path.stem.lower(), "source": str(path)}, path)


def _read_mapping(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BriefError(f"cannot read preset {path}: {exc}") from None
    data = read_yaml(text, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BriefError(f"{path}: a preset is a YAML mapping of fields, got {type(data).__name__}")
    return data


def _validate(model: type[M], data: dict, path: Path | str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = describe_errors(exc, str(path))
        raise BriefError("\n".join(lines), hint="fix the preset file; the shipped presets/ show every field") from None


def load_platform(name: str) -> Platform:
    return _load("platform", name, Platform)


def load_caption_style(name: str) -> CaptionStyle:
    return _load("captions", name, CaptionStyle)


def load_brand(name: str) -> Brand:
    return _load("brand", name, Brand)


def load_defaults() -> Defaults:
    """The shipped defaults.yaml with each user defaults.yaml laid over it, key by key."""
    merged: dict = {}
    sources = []
    for root in reversed(search_path()):
        path = root / "defaults.yaml"
        if path.is_file():
            merged.update(_read_mapping(path))
            sources.append(str(path))
    merged.pop("sources", None)
    return _validate(Defaults, {**merged, "sources": sources}, sources[-1] if sources else "defaults.yaml")


def load_scoring() -> ScoringWeights:
    """The first scoring.yaml on the search path (a user's replaces the shipped one whole)."""
    path = next((root / "scoring.yaml" for root in search_path() if (root / "scoring.yaml").is_file()), None)
    if path is None:
        raise BriefError("no scoring.yaml in the preset folders", hint=f"restore presets/scoring.yaml or set ${ENV_VAR}")
    data = _read_mapping(path)
    data.pop("source", None)
    return _validate(ScoringWeights, {**data, "source": str(path)}, path)
