"""Turn the heuristic planner's ordered choice into an EDL, with a decision for every clip.

- Clips: a spoken sentence plays as one clip per piece (fillers and pauses cut out between them);
  a b-roll piece plays from its window's start for the length chosen. B-roll is muted when music
  plays (a cutaway shows; the music carries the sound); otherwise it keeps its own sound.
- Reframing (reframe.frame_clips): a source much wider than the frame (16:9 into 9:16, 1:1 or 4:5)
  gets a crop window that follows the face (or the speaker, motion, else the centre) inside its
  black bars (a letterboxed landscape on a phone is tiny); anything else is shown whole
  (fit="contain": a vertical clip in a landscape cut is pillarboxed, since a crop would keep a slice).
- Captions from the words the cut plays (captions.py), in the brief's style; the brand logo in a
  corner until the end card; the end card (the EDL's `end_card`: the brief's `cta` on the brand
  kit's slate, with its logo, inside the safe zone) over the last seconds, covering them rather
  than extending the cut, so the cut keeps the brief's length and the music plays on under it;
  the hook title (the brief's `hook_title`) over the first 2 s; the brief's music, ducked under
  speech, with b-roll cuts on its beats at a medium or fast pace (beats.py).
- A voice-over (an audio-only file of speech, segments.VoiceOver) takes the EDL's sound bed: it plays
  from its first speech region at full level, once, with the b-roll muted under it; its words, when
  recognised, become the captions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..analysis.models import IndexedFile
from ..brief import ResolvedBrief
from ..edl import EDL, MIN_END_CARD, Clip, EndCard, HookTitle, MediaRef, Music, SafeArea
from ..presets import EndCard as PresetEndCard
from ..presets import TitleStyle
from .base import Decision, PlanContext
from .beats import DRIFT, LENGTH_SLACK, PACES, Shot, measure, snap_to_beats, timeline_beats
from .captions import captions_overlay, place_off_faces, voice_over_cues
from .reframe import frame_clips
from .segments import MAX_GAP, Candidate, Removed, VoiceOver
from .select import Scored
from .text import file_for_path, normal_path

WIDER = 1.3
"""A source this many times wider (in aspect) than the frame is centre-cropped."""


class Tweaks(BaseModel):
    """What feedback and repairs change besides the brief."""

    model_config = ConfigDict(frozen=True)

    boost: tuple[str, ...] = ()
    """"more shots of X" subjects."""
    end_on_logo: bool = False
    hook_shorter_than: Fraction | None = None
    """"shorter intro": the opening must be shorter than this."""
    old_opening: str | None = None
    """"shorter intro": the candidate key of the previous opening, which may not open again."""
    excluded: frozenset[str] = frozenset()
    """Candidate keys dropped by repairs."""


@dataclass
class Draft:
    edl: EDL
    decisions: list[Decision]
    notes: list[str]
    owners: list[str] = field(default_factory=list)
    """owners[i]: the candidate key behind clips[i]."""


def assemble(
    context: PlanContext,
    sequence: list[tuple[str, Scored, Fraction]],
    tweaks: Tweaks,
    avoided: list[tuple[Candidate, str]],
    notes: list[str],
    voice: VoiceOver | None = None,
) -> Draft:
    brief, index = context.brief, context.index
    files = {f.id: f for f in index.files}
    music_file = _music(context, notes)
    if voice is not None and music_file is not None:
        notes.append(f"the voice-over {voice.path} takes the cut's one sound bed: the music {music_file.path} is not played")
        music_file = None
    media: dict[str, MediaRef] = {}
    clips: list[Clip] = []
    owners: list[str] = []
    decisions: list[Decision] = []
    shots: list[Shot] = []
    for role, s, length in sequence:
        c = s.candidate
        media.setdefault(c.file_id, MediaRef(id=c.file_id, path=c.path))
        fit = _fit(files[c.file_id], brief.output.width, brief.output.height)
        spans = (
            c.pieces
            if c.kind == "speech"
            else (c.pieces[0].model_copy(update={"end": _ms(c.pieces[0].start + length)}),)
        )
        why = "; ".join([*s.reasons, f"score {s.rate:.2f}"])
        mute = c.kind == "broll" and (music_file is not None or voice is not None)
        for n, span in enumerate(spans):
            clip_id = f"c{len(clips) + 1:02d}"
            note = f"{role}: {why}"[:2000]
            clips.append(Clip(id=clip_id, media=c.file_id, src_in=span.start, src_out=span.end, fit=fit, mute=mute,
                              note=note))  # fmt: skip
            owners.append(c.key)
            shots.append(Shot(clip=clips[-1], broll=c.kind == "broll", longest=c.duration, shortest=c.min_length))
            if n == 0:
                carrier = "the voice-over" if voice is not None else "the music"
                detail = why + _removed(c.removed) + (f"; muted: {carrier} carries the sound" if mute else "")
                decisions.append(Decision(clip_id=clip_id, what=_what(role, c, spans), why=detail))
            else:
                what = f"{role}, continued: {c.file_id} {float(span.start):.2f}-{float(span.end):.2f} s"
                decisions.append(
                    Decision(clip_id=clip_id, what=what, why="the same sentence, with filler or dead air cut out")
                )
    clips, cut_wide = on_the_beat(context, shots, music_file, files)
    moved = {c.id: c for c, s in zip(clips, shots) if c != s.clip}
    decisions = [d.model_copy(update={"why": d.why + _on_beat(moved[d.clip_id])}) if d.clip_id in moved else d
                 for d in decisions]  # fmt: skip
    edl = EDL(title=brief.title, output=brief.output, media=list(media.values()), clips=clips)
    total = sum((clip.duration for clip in clips), Fraction(0))
    overlays = []
    if brief.caption_style is not None:
        style = brief.caption_style
        voiced = voice_over_cues(files[voice.file_id], voice.start, total, style.max_chars_per_line) if voice else None
        captions, why = captions_overlay(edl, files, style, brief.safe_zone, voiced, place=False)  # placed once framed
        if captions is not None:
            overlays.append(captions)
            cut_wide.append(Decision(clip_id=None, what=f"captions: {style.name}, {len(captions.cues)} cues", why=why))
    logo_id = logo_media(context, media, notes)
    card = end_card_for(brief, total, logo_id, force_logo=tweaks.end_on_logo)
    hook_line = next((s.candidate.text for role, s, _ in sequence if role == "hook"), "")
    title = hook_title_for(brief, hook_line, total)
    if logo_id is not None:
        overlays.append(brief.brand.logo.overlay(logo_id, *corner_logo(total, card, title)))  # type: ignore[union-attr]
        cut_wide.append(Decision(clip_id=None, what=f"logo: {brief.brand.logo.path}", why=f"brand {brief.brand.name}"))  # type: ignore[union-attr]
    if card is not None:
        cut_wide.append(Decision(clip_id=None, what=f'end card: "{card.text}"', why=end_card_why(card)))
    elif brief.cta:
        notes.append(f"the cut ({float(total):.2f} s) is shorter than an end card ({float(MIN_END_CARD):g} s): no end card")
    if title is not None:
        cut_wide.append(Decision(clip_id=None, what=f'hook title: "{title.text}"',
                                 why=f"over the first {float(title.end):g} s, from the brief's hook_title"
                                     + (" (the hook line)" if brief.hook_title is True else "")))  # fmt: skip
    music = None
    if voice is not None:
        media[voice.file_id] = MediaRef(id=voice.file_id, path=voice.path)
        cut_short = voice.duration > total + Fraction(1, 10)
        music = Music(media=voice.file_id, src_in=voice.start, gain_db=0.0, duck=False, loop=False,
                      fade_out=min(Fraction(1), total) if cut_short else Fraction(0))  # fmt: skip
        if cut_short:
            notes.append(f"the voice-over {voice.path} ({float(voice.duration):.1f} s) is longer than the "
                         f"{float(total):.1f} s cut: it fades out at the end")  # fmt: skip
        cut_wide.append(Decision(clip_id=None, what=f"sound: the voice-over {voice.path}",
                                 why=f"plays from {float(voice.start):.2f} s of its source, once, at full level"))  # fmt: skip
    elif music_file is not None:
        media[music_file.id] = MediaRef(id=music_file.id, path=music_file.path)
        music = Music(media=music_file.id, src_in=bed_start(music_file), duck=True, fade_out=min(Fraction(1), total))
        cut_wide.append(
            Decision(clip_id=None, what=f"music: {music_file.path}", why="the brief's music, ducked under speech")
        )
    edl = EDL(title=brief.title, output=brief.output, media=list(media.values()), clips=clips, overlays=overlays,
              music=music, end_card=card, hook_title=title)  # fmt: skip
    edl, framed = frame_clips(edl, files)  # each clip's window: following a face, bars removed (reframe.py)
    edl, moved = place_off_faces(edl, files, brief.safe_zone)  # where the framed clips show the faces
    if moved:
        framed.append(Decision(clip_id=None, what=f"captions: {moved} cue(s) moved off a face",
                               why="a detected face would sit under them where the style puts them: moved to the top "
                                   "or the centre, inside the safe zone"))  # fmt: skip
    cut_wide += framed + _cut_wide(sequence, avoided, brief)
    return Draft(edl=edl, decisions=decisions + cut_wide, notes=notes, owners=owners)


def _what(role: str, c: Candidate, spans) -> str:
    where = f"{c.file_id} {float(spans[0].start):.2f}-{float(spans[-1].end):.2f} s"
    text = f' "{c.text}"' if c.text else ""
    return f"{role}: {where}{text}"


def _removed(removed: tuple[Removed, ...]) -> str:
    if not removed:
        return ""
    parts = [f'{r.what} "{r.text}"' if r.text else r.what for r in removed]
    return "; cut out: " + ", ".join(f"{p} at {float(r.start):.2f} s" for p, r in zip(parts, removed))


def _cut_wide(sequence, avoided: list[tuple[Candidate, str]], brief) -> list[Decision]:
    out = []
    removed = [(s.candidate, r) for _, s, _ in sequence for r in s.candidate.removed]
    for kind in ("filler", "dead air"):
        found = [f"{c.file_id} {float(r.start):.2f}-{float(r.end):.2f} s" + (f' "{r.text}"' if r.text else "")
                 for c, r in removed if r.what == kind]  # fmt: skip
        if found:
            out.append(Decision(clip_id=None, what=f"{kind} removed ({len(found)})", why="; ".join(found)))
    if avoided:
        left = "; ".join(f'{c.file_id} {float(c.pieces[0].start):.2f} s says "{term}"' for c, term in avoided)
        out.append(Decision(clip_id=None, what=f"left out ({len(avoided)})", why=left))
    low, high = float(brief.shot_length.min), float(brief.shot_length.max)
    out.append(Decision(clip_id=None, what=f"pace: {brief.pace}", why=f"b-roll shots of {low:g}-{high:g} s"))
    return out


def _fit(file: IndexedFile, width: int, height: int) -> str:
    video = file.info.video
    if video is None:
        return "contain"
    w, h = video.display_size
    return "cover" if Fraction(w, h) > WIDER * Fraction(width, height) else "contain"


def bed_start(music: IndexedFile) -> Fraction:
    """Where the bed's sound starts in its file (seconds): a music video's sound may start after
    its picture (`AudioStream.start`); the render keeps the file's clock, so the bed plays from
    there rather than opening the cut on the lead-in's silence. Under a frame's worth (codec
    delay) it is 0."""
    start = music.info.audio.start if music.info.audio is not None else Fraction(0)
    return start if start > Fraction(1, 30) else Fraction(0)


def _music(context: PlanContext, notes: list[str]) -> IndexedFile | None:
    if not context.brief.music:
        return None
    found = file_for_path(context.index, context.brief.music)
    if found is None or found.info.audio is None:
        notes.append(f"music {context.brief.music!r} is not an analysed audio file in the media folder: no music")
        return None
    return found


def logo_media(context: PlanContext, media: dict[str, MediaRef], notes: list[str]) -> str | None:
    """The EDL media id of the brand logo, added to `media` (None, with a note, when there is none)."""
    brand = context.brief.brand
    if brand is None or brand.logo is None:
        return None
    path = normal_path(brand.logo.path)
    indexed = file_for_path(context.index, path)
    if indexed is None and not (Path(context.media_root) / path).is_file():
        notes.append(f"the brand logo {path!r} is not in the media folder: no logo")
        return None
    logo_id = indexed.id if indexed else "brand-logo"
    media.setdefault(logo_id, MediaRef(id=logo_id, path=path))
    return logo_id


def end_card_for(brief: ResolvedBrief, total: Fraction, logo: str | None, force_logo: bool = False) -> EndCard | None:
    """The end card for the brief's `cta` over the last seconds of a `total`-second cut: the
    brand kit's slate (presets.EndCard) inside the platform's safe zone, `logo` (a media id) above
    the text when the kit shows it or `force_logo` ("end on the logo"); without a brand, white type
    on black. None without a cta, or when the cut is shorter than MIN_END_CARD."""
    if not brief.cta or total < MIN_END_CARD:
        return None
    kit = brief.brand.end_card if brief.brand is not None and brief.brand.end_card is not None else DEFAULT_CARD
    if force_logo:
        kit = kit.model_copy(update={"show_logo": True})
    return kit.slate(brief.cta, logo, brief.safe_zone, min(kit.duration, total))


def corner_logo(total: Fraction, card: EndCard | None, title: HookTitle | None) -> tuple[Fraction, Fraction]:
    """When the brand logo shows in its corner: after the hook title (whose box may reach the
    corner) and until the end card (which shows the logo large)."""
    end = total - card.duration if card is not None and card.logo is not None else total
    start = title.end if title is not None and title.end < end else Fraction(0)
    return start, end


def end_card_why(card: EndCard) -> str:
    background = "the last frame, blurred," if card.background == "blur" else f"a {card.background} slate"
    logo = ", the logo above it" if card.logo else ""
    return (f"the call to action closes the cut: {background} over the last {float(card.duration):g} s{logo}, "
            "in large type inside the platform's safe zone")  # fmt: skip


def hook_title_for(brief: ResolvedBrief, hook_line: str, total: Fraction) -> HookTitle | None:
    """The brief's `hook_title` (its text, or with `on` the words of `hook_line`) over the cut's
    first seconds (the brand kit's `hook_title.seconds`, 2 s by default), styled from the kit."""
    wanted = brief.hook_title
    if not wanted:
        return None
    text = " ".join((wanted if isinstance(wanted, str) else hook_line).split())[:200]
    if not text:
        return None
    style = brief.brand.hook_title if brief.brand is not None else TitleStyle()
    end = min(style.seconds, total)
    if brief.brand is not None:
        return brief.brand.title_for(text, brief.safe_zone, end)
    return HookTitle(text=text, end=end, color=style.color, box_color=style.box_color or "#000000B3", size=style.size,
                     safe_zone=SafeArea(**brief.safe_zone.model_dump()))  # fmt: skip


def on_the_beat(context: PlanContext, shots: list[Shot], music: IndexedFile | None,
                files: dict[str, IndexedFile]) -> tuple[list[Clip], list[Decision]]:  # fmt: skip
    """The clips with their b-roll cuts on the music's beats (beats.py) when the pace is medium or
    fast, and a decision that gives the share of b-roll cuts on a beat."""
    clips = [s.clip for s in shots]
    broll = [s.broll for s in shots]
    if music is None or not any(broll) or len(clips) < 2:
        return clips, []
    fps, pace = context.brief.output.fps, context.brief.pace
    total = sum((c.duration for c in clips), Fraction(0))
    beats = timeline_beats(music, bed_start(music), True, total + 1)
    tempo = music.audio.tempo_bpm if music.audio else None
    if not beats:
        return clips, [Decision(clip_id=None, what="beats: none found", why=f"no beat found in {music.path}: cuts not snapped")]
    snapped = snap_to_beats(shots, beats, files, fps, context.brief.target_duration) if pace in PACES else clips
    report = measure(snapped, broll, beats, fps, tempo, before=clips)
    what = f"beats: {report.on_beat} of {report.cuts} b-roll cuts on a beat ({report.share:.0%})"
    if pace in PACES:
        low, high = context.brief.shot_length.min, context.brief.shot_length.max
        why = (f"{music.path} at {tempo or 0:g} BPM; {report.moved} cut(s) moved onto the nearest beat (within one "
               f"frame) where the {pace} pace allows: b-roll shots of {float(low):g}-{float(high):g} s, pauses of at "
               f"most {float(MAX_GAP):g} s at a spoken edge, no cut moved over {float(DRIFT):g} s, the cut's length within "
               f"{float(LENGTH_SLACK):g} s of the target")  # fmt: skip
    else:
        why = f"{music.path} at {tempo or 0:g} BPM; the slow pace keeps its cuts where the talk puts them"
    return snapped, [Decision(clip_id=None, what=what, why=why)]


def _on_beat(clip: Clip) -> str:
    return f"; moved for the beat: plays {float(clip.src_in):.2f}-{float(clip.src_out):.2f} s"


DEFAULT_CARD = PresetEndCard(background="#000000", text_color="#FFFFFF", show_logo=False)
"""The end card of a brief with a cta and no brand kit."""


def _ms(value: Fraction) -> Fraction:
    return Fraction(round(value * 1000), 1000)
