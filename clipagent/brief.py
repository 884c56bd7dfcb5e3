"""The brief: `brief.md` is YAML front matter (settings) plus a Markdown body (creative direction).

`parse_brief` / `load_brief` give a `Brief` that keeps the fields as written; `Brief.resolve()`
applies the cascade  global defaults -> platform preset -> brief  (CLI flags come last, through
`Brief.override`) and gives a `ResolvedBrief` with concrete values for the planner and validator.
Every problem is a `BriefError` naming the file, the field and the reason.
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from .analysis.models import LanguageCode
from .edl import OutputSpec
from .errors import BadInputError
from .listing import MAX_LISTED
from .timebase import MAX_CUT_SECONDS, CutTime, format_time, parse_cut_time


class BriefError(BadInputError):
    """A brief or a preset is malformed, or names a preset that does not exist."""


MIN_CUT_SECONDS = Fraction(1)
"""The shortest `duration` a brief may ask for: a 1 s cut holds one shot at the fast pace (0.8-2 s
shots) and is 24-60 frames; under it the planner found nothing to fit (0.001 s was "nothing fits
in 0.0 s", exit 1, naming neither file nor field). A platform's own minimum (TikTok's 3 s) is
checked too."""


from . import presets  # noqa: E402  (presets imports BriefError from this module)

Pace = Literal["slow", "medium", "fast"]

# What each front-matter field must be: the reason shown when a value does not fit.
FIELD_RULES: dict[str, str] = {
    "title": "must be text (up to 200 characters)",
    "platform": "must be a platform preset name such as tiktok, reels, shorts, youtube, square",
    "aspect": 'must be a width:height ratio such as "9:16", "16:9", "1:1" or "4:5" (between 1:4 and 4:1)',
    "duration": "must be a number of seconds > 0 and at most 24 h (or the platform's maximum)",
    "pace": "must be one of slow, medium, fast",
    "captions": "must be on, off, or a caption style name such as bold or minimal",
    "music": 'must be a file path relative to the media folder (no "..", not absolute), or none',
    "brand": "must be a brand preset name",
    "cta": "must be text (up to 200 characters)",
    "hook_title": "must be text (up to 200 characters) to show over the opening, on to show the hook line, or off",
    "must_include": "must be a list of phrases (text, up to 200 characters each)",
    "avoid": "must be a list of phrases (text, up to 200 characters each)",
    "language": 'must be a language code such as "en" or "pt-BR"',
    "variants": "must be a mapping of axes to lists of values, or a list of rows (clipagent variants; README's "
    "variants section)",
}
# Names people reach for, pointing at the real field (suggestions only, never accepted).
_ALIASES = {
    "length": "duration", "target": "duration", "time": "duration", "aspect_ratio": "aspect", "ratio": "aspect",
    "size": "aspect", "subtitles": "captions", "subs": "captions", "caption_style": "captions",
    "style": "captions", "call_to_action": "cta", "must_have": "must_include", "include": "must_include",
    "exclude": "avoid", "lang": "language", "name": "title", "logo": "brand", "song": "music",
    "soundtrack": "music", "preset": "platform", "speed": "pace", "tempo": "pace",
    "hook": "hook_title", "headline": "hook_title", "title_card": "hook_title", "end_card": "cta",
}


# ---- field types ------------------------------------------------------------------------------


def _seconds(value: Any) -> Fraction:
    seconds = parse_cut_time(value)
    if seconds <= 0:
        raise ValueError("must be > 0")
    return seconds


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _pace(value: Any) -> Any:
    word = _lower(value)
    if word not in ("slow", "medium", "fast"):
        raise ValueError("not a pace")
    return word


def _aspect(value: str) -> str:
    match = re.fullmatch(r"\s*(\d{1,3})\s*:\s*(\d{1,3})\s*", value)
    if not match or int(match[1]) == 0 or int(match[2]) == 0:
        raise ValueError("not a ratio")
    ratio = Fraction(int(match[1]), int(match[2]))
    if not Fraction(1, 4) <= ratio <= 4:
        raise ValueError("out of range")
    return f"{int(match[1])}:{int(match[2])}"


def _captions(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("on", "yes", "true"):
            return True
        if word in ("off", "no", "false", "none"):
            return False
        if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", word):
            return word
    raise ValueError("not a caption setting")


def _music(value: Any) -> Any:
    if value is False or (isinstance(value, str) and value.strip().lower() in ("none", "off", "no")):
        return "none"
    return presets.check_media_path(value.strip()) if isinstance(value, str) else value


def _hook_title(value: Any) -> Any:
    """on/true: title the cut with its hook line; off/false/none: no title; else the title's text."""
    if isinstance(value, str) and value.strip().lower() in ("on", "yes", "true", "off", "no", "false", "none"):
        return value.strip().lower() in ("on", "yes", "true")
    if not isinstance(value, (str, bool, int, float)):
        raise ValueError("not text")  # one error at the field, not one per branch of the union
    return value


def _variants(value: Any) -> Any:
    """The `variants:` block as written: a mapping or a list (batch/matrix.py checks the rest); one
    error at the field otherwise, not one per branch of a union."""
    if value is not None and not isinstance(value, (dict, list)):
        raise ValueError("not a matrix")
    return value


def _listify(value: Any) -> Any:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PresetName = Annotated[str, BeforeValidator(_lower), StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Phrases = Annotated[tuple[Text, ...], BeforeValidator(_listify)]
Seconds = Annotated[CutTime, BeforeValidator(_seconds)]
Language = LanguageCode


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Brief(_Model):
    """The brief as written: front-matter fields (None where absent), the body and the file name."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    title: Text | None = None
    platform: PresetName | None = None
    aspect: Annotated[str, AfterValidator(_aspect)] | None = None
    duration: Seconds | None = None
    pace: Annotated[Pace, BeforeValidator(_pace)] | None = None
    captions: Annotated[bool | str, BeforeValidator(_captions)] | None = None
    music: Annotated[str, BeforeValidator(_music)] | None = None
    brand: PresetName | None = None
    cta: Text | None = None
    hook_title: Annotated[bool | Text, BeforeValidator(_hook_title)] | None = None
    must_include: Phrases = ()
    avoid: Phrases = ()
    language: Language | None = None
    variants: Annotated[Any, BeforeValidator(_variants)] = None
    """The `variants:` block as written, read by `clipagent variants` (batch/matrix.py checks it)."""
    body: str = ""
    source: str = "brief.md"

    def override(self, *, source: str = "command line", **fields: Any) -> Brief:
        """The last step of the cascade: flags given on the command line (None = not given)."""
        given = {k: v for k, v in fields.items() if v is not None}
        _check_names(given, source)
        return _build({**self.model_dump(exclude_unset=True), **given}, source).model_copy(
            update={"source": self.source}
        )

    def resolve(self) -> ResolvedBrief:
        """Global defaults -> platform preset -> this brief's fields."""
        defaults = presets.load_defaults()
        from_defaults = f"{defaults.sources[-1]}: field `platform`"
        platform = presets.load_platform(self._preset("platform", self.platform, defaults.platform, from_defaults))
        width, height = frame_size(platform.width, platform.height, self.aspect)
        output = platform.output_spec().model_copy(update={"width": width, "height": height})

        target = self.duration
        if target is not None:
            self._check_duration(target, platform)
        if target is None:
            limit = platform.max_duration
            target = min(limit, defaults.default_duration) if limit else defaults.default_duration
        pace = self.pace or defaults.pace
        shortest, longest = defaults.pace_shot_seconds[pace]

        captions = defaults.captions if self.captions is None else self.captions
        style = None
        if captions:
            named = captions if isinstance(captions, str) else None
            from_platform = f"{platform.source}: field `caption_style`"
            style = presets.load_caption_style(self._preset("captions", named, platform.caption_style, from_platform))
            style = fit_captions(style, platform.safe_zone, width, height)
        brand = presets.load_brand(self._preset("brand", self.brand, "", "")) if self.brand else None
        if style is not None:
            style = style.branded(brand)

        return ResolvedBrief(
            source=self.source,
            title=self.title or _first_heading(self.body) or Path(self.source).stem,
            output=output,
            platform=platform,
            aspect=self.aspect,
            safe_zone=platform.safe_zone,
            max_duration=platform.max_duration,
            target_duration=target,
            duration_set=self.duration is not None,
            empty=not self.body.strip() and not (self.model_fields_set - {"body", "source"}),
            pace=pace,
            shot_length=ShotLength(min=shortest, max=longest),
            caption_style=style,
            brand=brand,
            music=None if self.music in (None, "none") else self.music,
            cta=self.cta,
            hook_title=self.hook_title or None,
            must_include=self.must_include,
            avoid=self.avoid,
            language=self.language,
            body=self.body,
            defaults_sources=defaults.sources,
        )

    def key_terms(self, n: int = 10) -> list[str]:
        return key_terms(self.body, n)

    def _check_duration(self, duration: Fraction, platform: presets.Platform) -> None:
        """The brief's duration is at least `MIN_CUT_SECONDS` and the platform's minimum (a shorter
        cut fails its upload rules after the whole render), and at most the platform's maximum, or
        24 h where it has none (a longer target makes no sense, and a huge one made the planner's
        knapsack run out of memory)."""
        shortest = max(MIN_CUT_SECONDS, platform.min_duration or 0)
        if duration < shortest:
            whose = f"the {platform.name} platform's minimum" if shortest > MIN_CUT_SECONDS else "the shortest cut"
            raise BriefError(
                f"{self.source}: field `duration`: {format_time(duration)} s is shorter than {whose}, "
                f"{format_time(shortest)} s",
                hint=f"give a duration of at least {format_time(shortest)} s"
                + (", or a platform with a shorter minimum" if shortest > MIN_CUT_SECONDS else ""),
            )
        limit = platform.max_duration or Fraction(MAX_CUT_SECONDS)
        if duration > limit:
            whose = f"the {platform.name} platform's maximum" if platform.max_duration else "the longest cut"
            raise BriefError(
                f"{self.source}: field `duration`: {format_time(duration)} s is longer than {whose}, "
                f"{format_time(limit)} s",
                hint=f"give a duration of at most {format_time(limit)} s"
                + (", or a platform with a longer limit" if platform.max_duration else ""),
            )

    def _preset(self, kind: presets.Kind, named: str | None, fallback: str, fallback_source: str) -> str:
        """The preset this brief names, else `fallback`, checked to exist; an unknown name is a
        BriefError that says where the name came from (the brief's field, or `fallback_source`)."""
        try:
            return presets.preset_file(kind, named or fallback).stem
        except BriefError as exc:
            field = {"platform": "platform", "captions": "captions", "brand": "brand"}[kind]
            where = f"{self.source}: field `{field}`" if named else fallback_source
            raise BriefError(f"{where}: {exc.message}", hint=exc.hint) from None


class ShotLength(_Model):
    """The typical length of one shot for a pace, in seconds."""

    min: CutTime
    max: CutTime


class ResolvedBrief(_Model):
    """Concrete settings for one cut: every default applied, every preset loaded."""

    source: str
    title: str
    output: OutputSpec
    platform: presets.Platform
    aspect: str | None
    safe_zone: presets.SafeZone
    max_duration: CutTime | None
    target_duration: CutTime
    """The brief's `duration`; without one, the default (min(platform limit, default_duration)),
    which the heuristic planner replaces by a length from the content and the brief's intent
    (planning/length.py) when `duration_set` is False."""
    duration_set: bool = True
    """False when neither the brief nor a flag gave a `duration`."""
    empty: bool = False
    """True when the brief has no settings and no direction (an empty file): `empty_note` says so."""
    pace: Pace
    shot_length: ShotLength
    caption_style: presets.CaptionStyle | None
    brand: presets.Brand | None
    music: str | None
    cta: str | None
    hook_title: str | bool | None = None
    """A title over the opening seconds: its text, or True for the cut's hook line; None: none."""
    hook_strategy: str | None = None
    """How the cut opens (a variant's `hook` axis, batch/matrix.py): question, bold-claim,
    product-first, face-first, or a literal opening line (planning/hooks.py); None: the planner's
    own best hook line."""
    must_include: tuple[str, ...]
    avoid: tuple[str, ...]
    language: str | None
    body: str
    defaults_sources: tuple[str, ...]

    @property
    def preset_files(self) -> list[str]:
        """The preset files these settings came from."""
        used = [*self.defaults_sources, self.platform.source]
        used += [p.source for p in (self.caption_style, self.brand) if p is not None]
        return used

    @property
    def over_max(self) -> bool:
        """True when the target is longer than the platform allows (the validator reports it)."""
        return self.max_duration is not None and self.target_duration > self.max_duration

    def empty_note(self) -> str | None:
        """For an empty brief (no settings, no direction): a note saying so and what the cut gets."""
        if not self.empty:
            return None
        captions = self.caption_style.name if self.caption_style else "off"
        return (f"{self.source}: the brief is empty, so the cut uses the defaults: platform {self.platform.name}, "
                f"{format_time(self.target_duration)} s, {self.pace} pace, captions {captions}, the title "
                f"{self.title!r} from the file name, and no direction (README's brief section lists the fields)")

    def key_terms(self, n: int = 10) -> list[str]:
        return key_terms(self.body, n)


# ---- parsing ----------------------------------------------------------------------------------


MAX_BRIEF_BYTES = 10_000_000
"""A brief file is at most 10 MB (a brief is a page of text)."""
_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)  # fmt: skip


def load_brief(path: str | Path) -> Brief:
    """A Brief from a file: UTF-8, or UTF-16/UTF-32/UTF-8 with a byte-order mark (as Windows
    editors save); BriefError when missing, unreadable, over `MAX_BRIEF_BYTES`, or not such text."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BRIEF_BYTES:
            raise BriefError(f"{path}: over {MAX_BRIEF_BYTES // 1_000_000} MB; a brief is a page of text")
        data = path.read_bytes()
    except FileNotFoundError:
        raise BriefError(f"brief not found: {path}") from None
    except OSError as exc:
        raise BriefError(f"cannot read brief {path}: {exc.strerror or exc}") from None
    return parse_brief(decode_text(data, str(path)), source=str(path))


def decode_text(data: bytes, source: str, what: str = "brief", error: type[BadInputError] = BriefError) -> str:
    """A text file's bytes as text: UTF-8, or UTF-16/UTF-32/UTF-8 with a byte-order mark. `error`
    (naming `source`; the hint says to save the `what` as UTF-8) when it is not such text. Bytes
    with NUL and no mark are not UTF-8 text: a brief saved as UTF-16 without a mark is valid UTF-8
    (a NUL after each ASCII letter) that read as body text, every setting dropped, exit 0."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    hint = f"save the {what} as UTF-8 (in most editors: Save As, encoding UTF-8)"
    if encoding == "utf-8" and data.count(0) * 4 >= len(data) > 0:  # Latin text in UTF-16: half its bytes
        raise error(f"{source}: not UTF-8 text (NUL bytes: UTF-16 without a byte-order mark?)", hint=hint)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise error(f"{source}: not {encoding.upper().removesuffix('-SIG')} text", hint=hint) from None
    if "\0" in text:  # a stray one: text never has it
        line = text.count("\n", 0, text.index("\0")) + 1
        raise error(f"{source}: line {line}: a NUL character (#x0000), which text never has",
                    hint="remove it, and save the file as plain text")  # fmt: skip
    return text


def parse_brief(text: str, source: str = "brief.md") -> Brief:
    """A Brief from Markdown text; checks field types and that the named presets exist."""
    front, body, offset = _split(text, source)
    data = presets.read_yaml(front, source, line_offset=offset) if front is not None else None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BriefError(
            f"{source}: the front matter must be `field: value` lines, got a {type(data).__name__}",
            hint=f"fields: {', '.join(FIELD_RULES)}",
        )
    data = {str(k): v for k, v in data.items()}
    _check_names(data, source)
    brief = _build({**data, "body": body.strip(), "source": source}, source)
    brief.resolve()  # unknown or malformed presets are rejected now, before any work
    return brief


def _split(text: str, source: str) -> tuple[str | None, str, int]:
    """(front matter or None, body, lines before the front matter's first). The front matter sits
    between two `---` lines at the top
    (blank lines before it are allowed). Settings that would otherwise be read as direction
    without a word are refused: TOML front matter (`+++`), and a body that opens with
    `field: value` lines of the brief's fields but no `---`."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    top = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    first = lines[top].strip() if top < len(lines) else ""
    if first == "+++":
        raise BriefError(f"{source}: line {top + 1}: TOML front matter (`+++`) is not read",
                         hint="write the settings as YAML between two `---` lines")  # fmt: skip
    if first != "---":
        match = re.match(r"([A-Za-z_]+)\s*[:=]", first)
        if match and match[1].lower() in FIELD_RULES:
            raise BriefError(f"{source}: line {top + 1}: `{first[:60]}` looks like a setting, but there is no front matter",
                             hint="put the settings between two `---` lines at the top of the brief")  # fmt: skip
        return None, "".join(lines), 0
    for i in range(top + 1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "".join(lines[top + 1 : i]), "".join(lines[i + 1 :]), top + 1
    raise BriefError(f"{source}: line {top + 1}: the front matter opened by `---` is never closed",
                     hint="end it with `---`")  # fmt: skip


def _check_names(data: dict, source: str) -> None:
    unknown = [key for key in data if key not in FIELD_RULES]
    if not unknown:
        return
    lines, hints = [], []
    for key in unknown[:MAX_LISTED]:
        lines.append(f"{source}: unknown field `{key}`")
        guess = _ALIASES.get(key.lower()) or next(iter(difflib.get_close_matches(key.lower(), FIELD_RULES, n=1)), None)
        if guess:
            hints.append(f"did you mean `{guess}` (not `{key}`)?")
    if len(unknown) > MAX_LISTED:
        lines.append(f"... and {len(unknown) - MAX_LISTED} more unknown fields")
    hints.append(f"the fields are: {', '.join(FIELD_RULES)}")
    raise BriefError("\n".join(lines), hint=" ".join(hints))


def _build(data: dict, source: str) -> Brief:
    try:
        return Brief.model_validate(data)
    except ValidationError as exc:
        lines = presets.describe_errors(exc, source, FIELD_RULES)
        raise BriefError("\n".join(lines), hint="README's brief section lists every field") from None


# ---- resolution helpers -----------------------------------------------------------------------


def frame_size(width: int, height: int, aspect: str | None) -> tuple[int, int]:
    """The platform's frame, or `aspect` at the platform's short side (1080 -> 1080x1350 for 4:5),
    rounded to even numbers for 4:2:0 video."""
    if not aspect:
        return width, height
    a, b = (int(part) for part in aspect.split(":"))
    short = min(width, height)
    even = lambda x: int(2 * round(Fraction(x) / 2))  # noqa: E731
    return (even(short * Fraction(a, b)), short) if a >= b else (short, even(short * Fraction(b, a)))


def fit_captions(style: presets.CaptionStyle, zone: presets.SafeZone, width: int, height: int) -> presets.CaptionStyle:
    """The style moved inside the platform's safe zone (its box included) and with lines short
    enough to fit between the side margins (a glyph is about 0.6 of the font height)."""
    margin = caption_margin(style, zone, style.position)
    usable = width * (1 - 2 * max(zone.left, zone.right))
    chars = max(8, min(style.max_chars_per_line, int(usable / (0.6 * style.size * height))))
    return style.model_validate({**style.model_dump(), "margin": margin, "max_chars_per_line": chars})


def caption_margin(style: presets.CaptionStyle, zone: presets.SafeZone, position: str) -> float:
    """The distance from `position`'s edge (bottom, top; centre has none) that keeps a caption in
    `style`, with its box's border (0.35 of the font height, render/captions.BOX_PAD), inside the
    platform's safe zone: the style's margin, or more. Fraction of the frame height."""
    pad = 0.35 * style.size
    edge = {"bottom": zone.bottom, "top": zone.top}.get(position, 0.0)
    return min(0.5, max(style.margin, round(edge + pad, 4)))


def _first_heading(body: str) -> str | None:
    match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", body, re.MULTILINE)
    return match[1][:200] if match else None


# ---- key terms --------------------------------------------------------------------------------

_STOP = set(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just let like
    make makes me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up us very was we were what when where which while who
    whom why will with would you your yours yourself yourselves get gets got one two three via per
    thing things way really want need use using used""".split()
)
# Words that direct the edit rather than describe the content.
_DIRECTION = set(
    """cut cuts cutting open opens close closes show shows shot shots clip clips video videos footage
    b-roll broll scene scenes tone start end ending beginning second seconds frame frames""".split()
)
_WORD = re.compile(r"[a-z0-9](?:[a-z0-9'-]*[a-z0-9])?")


def key_terms(text: str, n: int = 10) -> list[str]:
    """The `n` most frequent content words of `text`, lower-case, without stop words or editing
    directions; ties keep the order of first appearance."""
    text = re.sub(r"https?://\S+|`[^`]*`", " ", text.lower().replace("\u2019", "'"))
    words = [w.removesuffix("'s") for w in _WORD.findall(text)]
    words = [w for w in words if len(w) > 2 and not w.isdigit() and w not in _STOP and w not in _DIRECTION]
    counts = Counter(words)
    first = {w: i for i, w in reversed(list(enumerate(words)))}
    return sorted(counts, key=lambda w: (-counts[w], first[w]))[:n]
