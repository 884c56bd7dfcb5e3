"""Turn the heuristic planner's ordered choice into an EDL, with a decision for every clip.

- Clips: a spoken sentence plays as one clip per piece (fillers and pauses cut out between them);
  a b-roll piece plays from its window's start for the length chosen. B-roll is muted when music
  plays (a cutaway shows; the music carries the sound); otherwise it keeps its own sound.
- Reframing (reframe.frame_clips): a source much wider than the frame (16:9 into 9:16, 1:1 or 4:5)
  gets a crop window that follows the face (or the speaker, motion, else the centre) inside its
  black bars (a letterboxed landscape on a phone is tiny); anything else is shown whole
  (fit="contain": a vertical clip in a landscape cut is pillarboxed, since a crop would keep a slice).
- Captions from the words the cut plays (captions.py), in the brief's style; the brand logo over
  the whole cut; the end card (the brief's `cta`) over the last seconds, with the logo large above
  it after "end on the logo"; the brief's music, ducked under speech.
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
from ..edl import EDL, Clip, ImageOverlay, MediaRef, Music, TextOverlay
from .base import Decision, PlanContext
from .captions import captions_overlay, place_off_faces, voice_over_cues
from .reframe import frame_clips
from .segments import Candidate, Removed, VoiceOver
from .select import Scored
from .text import file_for_path, normal_path

WIDER = 1.3
"""A source this many times wider (in aspect) than the frame is centre-cropped."""
END_CARD = Fraction(5, 2)


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
            if n == 0:
                carrier = "the voice-over" if voice is not None else "the music"
                detail = why + _removed(c.removed) + (f"; muted: {carrier} carries the sound" if mute else "")
                decisions.append(Decision(clip_id=clip_id, what=_what(role, c, spans), why=detail))
            else:
                what = f"{role}, continued: {c.file_id} {float(span.start):.2f}-{float(span.end):.2f} s"
                decisions.append(
                    Decision(clip_id=clip_id, what=what, why="the same sentence, with filler or dead air cut out")
                )
    edl = EDL(title=brief.title, output=brief.output, media=list(media.values()), clips=clips)
    total = sum((clip.duration for clip in clips), Fraction(0))
    overlays, cut_wide = [], []
    if brief.caption_style is not None:
        style = brief.caption_style
        voiced = voice_over_cues(files[voice.file_id], voice.start, total, style.max_chars_per_line) if voice else None
        captions, why = captions_overlay(edl, files, style, brief.safe_zone, voiced, place=False)  # placed once framed
        if captions is not None:
            overlays.append(captions)
            cut_wide.append(Decision(clip_id=None, what=f"captions: {style.name}, {len(captions.cues)} cues", why=why))
    logo_id = logo_media(context, media, notes)
    if logo_id is not None:
        overlays.append(brief.brand.logo.overlay(logo_id, Fraction(0), total))  # type: ignore[union-attr]
        cut_wide.append(Decision(clip_id=None, what=f"logo: {brief.brand.logo.path}", why=f"brand {brief.brand.name}"))  # type: ignore[union-attr]
    if brief.cta:
        overlays += end_card_overlays(context, total, logo_id if tweaks.end_on_logo else None)
        cut_wide.append(
            Decision(clip_id=None, what=f'end card: "{brief.cta}"', why="the call to action closes the cut")
        )
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
        music = Music(media=music_file.id, duck=True, fade_out=min(Fraction(1), total))
        cut_wide.append(
            Decision(clip_id=None, what=f"music: {music_file.path}", why="the brief's music, ducked under speech")
        )
    edl = EDL(
        title=brief.title, output=brief.output, media=list(media.values()), clips=clips, overlays=overlays, music=music
    )
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


def end_card_overlays(context: PlanContext, total: Fraction, big_logo: str | None = None) -> list:
    """The end card over the last seconds of a `total`-second cut: the CTA, and a large logo when asked."""
    brand = context.brief.brand
    card = brand.end_card if brand is not None else None
    length = min(card.duration if card else END_CARD, total)
    start = total - length
    text_color = card.text_color if card else "#FFFFFF"
    box = (card.background[:7] + "E6") if card else "#000000B3"
    position = "lower_third" if big_logo else "center"
    overlays: list = [TextOverlay(start=start, end=total, text=context.brief.cta, position=position, size=0.08,
                                  color=text_color, box_color=box)]  # fmt: skip
    if big_logo is not None:
        overlays.append(ImageOverlay(start=start, end=total, media=big_logo, position="center", width=0.3, margin=0.0))
    return overlays


def _ms(value: Fraction) -> Fraction:
    return Fraction(round(value * 1000), 1000)
