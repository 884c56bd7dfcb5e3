"""Candidate segments for the heuristic planner: what the footage offers, cut clean.

- Speech (files with transcript words): one candidate per spoken sentence. Filler words and dead
  air are cut out of it, so a sentence may play as several pieces ("Um, so here is the tip"
  plays from "so"). Every piece starts and ends on a word boundary, padded by up to `PAD` into
  the silence around it but never into a neighbouring word.
- Speech without words (a video file with no transcript words whose speech regions, from voice
  activity, cover at least TALK_MIN_SHARE of it): one candidate per speech region, played whole;
  a cut never falls inside a region, and the silence between regions is left out.
- B-roll (video files without speech): each shot, cut into windows no longer than the pace's
  longest shot; a window starts on its shot boundary (or on a split of a long shot) and plays for
  a length the planner picks between the pace's shortest shot and the window's end.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..analysis.models import IndexedFile, MediaIndex, Shot, TimeRange, Word
from ..analysis.transcript import ends_sentence
from ..brief import ShotLength
from .text import plain_words

FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "mm", "mhm"})
"""Words that are always filler."""
COMMA_FILLERS = (("like",), ("you", "know"), ("i", "mean"))
"""Phrases that are filler only when written with a comma after them ("like," "you know,")
or when they close a sentence after a comma ("…, you know.")."""
MAX_GAP = Fraction(3, 10)
"""A pause between words longer than this is dead air and is cut out."""
PAD = Fraction(8, 100)
"""Room left before the first and after the last word of a piece (breath, consonant tails)."""
_SENTENCE_END = (".", "!", "?", "\u2026")
TALK_MIN_SHARE = 0.1
TALK_MIN_SPEECH = Fraction(1)
"""A video file without words is a talk (not b-roll) when its speech regions cover at least
TALK_MIN_SHARE of it and TALK_MIN_SPEECH seconds: a stray region in rain or engine noise
(mp_rain.mp3: 0.7 s, 1%) keeps a file b-roll; the talks measured cover 40% (ae_example.mp4) or more."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Span(_Frozen):
    start: Fraction
    end: Fraction


class Removed(_Frozen):
    """Something cut out of a sentence: a filler word or a stretch of dead air."""

    what: Literal["filler", "dead air"]
    text: str
    start: Fraction
    end: Fraction


class Candidate(_Frozen):
    key: str
    """Stable identity: "<file id>@<start>"."""
    kind: Literal["speech", "broll"]
    file_id: str
    path: str
    order: int
    """Source order over the whole index (file order, then time): the body's narrative order."""
    pieces: tuple[Span, ...]
    """Speech: the source ranges that play, in order. B-roll: one window (src_in = its start)."""
    words: tuple[Word, ...] = ()
    removed: tuple[Removed, ...] = ()
    signal: Literal["words", "speech regions", "pictures"] = "words"
    """What the candidate's edges were placed by: recognised words, voice-activity regions, or shots."""
    first_in_file: bool = False
    quality: float = 0.5
    min_length: Fraction = Fraction(0)
    """B-roll: the shortest it may play (the pace's shortest shot)."""

    @property
    def duration(self) -> Fraction:
        """Speech: what it plays. B-roll: the longest it may play (its window)."""
        return sum((p.end - p.start for p in self.pieces), Fraction(0))

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def shot_quality(shot: Shot) -> float:
    """0..1 from the shot's signals: crisp, well exposed, not clipped, some movement (`Shot.quality`)."""
    return shot.quality


def extract_candidates(index: MediaIndex, shot_length: ShotLength) -> list[Candidate]:
    found: list[Candidate] = []
    for file in index.files:
        role = file_role(file)
        if role == "speech":
            found += speech_candidates(file, len(found))
        elif role == "talk":
            found += region_candidates(file, len(found))
        elif role == "broll":
            found += broll_candidates(file, shot_length, len(found))
    return found


def file_role(file: IndexedFile) -> Literal["speech", "talk", "broll"] | None:
    """What a file gives the planner: speech (transcript words), a talk without words (speech
    regions, `talks_without_words`), b-roll (any other video), or nothing (audio, images)."""
    if file.info.kind != "video" or file.info.video is None:
        return None
    if file.transcript is not None and file.transcript.words:
        return "speech"
    return "talk" if talks_without_words(file) else "broll"


def talks_without_words(file: IndexedFile) -> bool:
    """True for a file without transcript words whose speech regions make it a talk (TALK_MIN_SHARE)."""
    speech = file.speech
    if speech is None or (file.transcript is not None and file.transcript.words):
        return False
    return speech.speech_seconds >= TALK_MIN_SPEECH and speech.share >= TALK_MIN_SHARE


class VoiceOver(_Frozen):
    """An audio-only file of speech that plays under b-roll, from the start of its first speech
    region to the end of its last (its lead-in and tail of silence are left out)."""

    file_id: str
    path: str
    start: Fraction
    end: Fraction

    @property
    def duration(self) -> Fraction:
        return self.end - self.start


def voice_overs(index: MediaIndex) -> list[VoiceOver]:
    """The audio-only files classified as speech (`IndexedFile.sound`), in index order."""
    found = []
    for file in index.files:
        if file.sound == "speech" and file.speech is not None and file.speech.regions:
            regions = file.speech.regions
            found.append(VoiceOver(file_id=file.id, path=file.path, start=regions[0].start, end=regions[-1].end))
    return found


# ---- speech -----------------------------------------------------------------------------------


def filler_mask(words: list[Word]) -> list[bool]:
    """True for each word that is filler (see FILLERS, COMMA_FILLERS)."""
    plain = [" ".join(plain_words(w.text)) for w in words]
    mask = [p in FILLERS for p in plain]
    for phrase in COMMA_FILLERS:
        n = len(phrase)
        for k in range(len(words) - n + 1):
            if tuple(plain[k : k + n]) != phrase:
                continue
            last = words[k + n - 1].text.rstrip()
            after_comma = k > 0 and words[k - 1].text.rstrip().endswith(",")
            if last.endswith(",") or (after_comma and last.endswith(_SENTENCE_END)):
                mask[k : k + n] = [True] * n
    return mask


def sentences(words: list[Word]) -> list[list[int]]:
    """Word indexes grouped into sentences (a sentence ends on `ends_sentence`: . ! ? … 。 ！ ？ । ؟ ...)."""
    groups: list[list[int]] = [[]]
    for k, word in enumerate(words):
        groups[-1].append(k)
        if ends_sentence(word.text):  # . ! ? … and every script's marks (。 ！ ？ । ؟ ...)
            groups.append([])
    return [g for g in groups if g]


def speech_candidates(file: IndexedFile, order: int) -> list[Candidate]:
    words = file.transcript.words if file.transcript else []
    silences = file.audio.silences if file.audio else []
    end_of_file = file.info.duration or (words[-1].end + PAD if words else Fraction(0))
    fillers = filler_mask(words)
    found: list[Candidate] = []
    for sentence in sentences(words):
        runs: list[list[int]] = []
        removed: list[Removed] = []
        for k in sentence:
            w = words[k]
            if fillers[k]:
                removed.append(Removed(what="filler", text=w.text, start=w.start, end=w.end))
                runs.append([])
                continue
            previous = runs[-1][-1] if runs and runs[-1] else None
            pause = _pause(words[previous], w, silences) if previous is not None else None
            if pause is not None:
                removed.append(Removed(what="dead air", text="", start=pause[0], end=pause[1]))
                runs.append([])
            if not runs:
                runs.append([])
            runs[-1].append(k)
        runs = [r for r in runs if r]
        if not runs:
            continue
        pieces = tuple(_padded(words, r[0], r[-1], end_of_file) for r in runs)
        kept = tuple(words[k] for r in runs for k in r)
        found.append(
            Candidate(
                key=f"{file.id}@{float(pieces[0].start):.3f}", kind="speech", file_id=file.id, path=file.path,
                order=order + len(found), pieces=pieces, words=kept, removed=tuple(removed),
                first_in_file=not found, quality=_quality_at(file, pieces[0].start),
            )
        )  # fmt: skip
    return found


def _pause(before: Word, after: Word, silences) -> tuple[Fraction, Fraction] | None:
    """The dead air between two words: a gap over MAX_GAP, or a long silence the audio found
    between their midpoints (word times estimated from a sidecar can run over a pause)."""
    if after.start - before.end > MAX_GAP:
        return before.end, after.start
    low, high = (before.start + before.end) / 2, (after.start + after.end) / 2
    silence = next((s for s in silences if s.end - s.start > MAX_GAP and low <= (s.start + s.end) / 2 < high), None)
    return (silence.start, silence.end) if silence else None


def _padded(words: list[Word], first: int, last: int, end_of_file: Fraction) -> Span:
    start = words[first].start - PAD
    if first > 0:
        start = max(start, min(words[first - 1].end, words[first].start))
    end = words[last].end + PAD
    if last + 1 < len(words):
        end = min(end, max(words[last + 1].start, words[last].end))
    return Span(start=max(Fraction(0), start), end=min(end, end_of_file))


def _quality_at(file: IndexedFile, time: Fraction) -> float:
    shots = file.shots.shots if file.shots else []
    shot = next((s for s in shots if s.start <= time < s.end), shots[0] if shots else None)
    return shot_quality(shot) if shot else 0.5


# ---- speech without words ---------------------------------------------------------------------


def region_candidates(file: IndexedFile, order: int) -> list[Candidate]:
    """One candidate per speech region, played whole; the gap before it (over MAX_GAP) is dead air."""
    regions: list[TimeRange] = file.speech.regions if file.speech else []
    found: list[Candidate] = []
    previous = Fraction(0)
    for region in regions:
        gap = region.start - previous
        removed = (Removed(what="dead air", text="", start=previous, end=region.start),) if gap > MAX_GAP else ()
        found.append(
            Candidate(
                key=f"{file.id}@{float(region.start):.3f}", kind="speech", file_id=file.id, path=file.path,
                order=order + len(found), pieces=(Span(start=region.start, end=region.end),), removed=removed,
                signal="speech regions", first_in_file=not found, quality=_quality_at(file, region.start),
            )
        )  # fmt: skip
        previous = region.end
    return found


# ---- b-roll -----------------------------------------------------------------------------------


def broll_spans(file: IndexedFile) -> list[tuple[Fraction, Fraction, float]]:
    """(start, end, quality) of each shot of a b-roll file, in seconds; the whole file as one shot
    when shot detection found none."""
    shots = file.shots.shots if file.shots else []
    spans = [(s.start, s.end, shot_quality(s)) for s in shots]
    if not spans and file.info.duration:
        spans = [(Fraction(0), file.info.duration, 0.5)]  # shot detection failed: one shot
    return spans


def broll_shot_lengths(index: MediaIndex) -> list[Fraction]:
    """Seconds of every shot that b-roll candidates come from (planning/pace_fit.py weighs them
    against the pace's shortest shot)."""
    return [end - start for file in index.files if file_role(file) == "broll" for start, end, _ in broll_spans(file)]


def broll_candidates(file: IndexedFile, shot_length: ShotLength, order: int) -> list[Candidate]:
    found: list[Candidate] = []
    for start, end, quality in broll_spans(file):
        length = end - start
        if length < shot_length.min:
            continue  # shorter than the pace allows
        count = ceil(length / shot_length.max)
        window = length / count
        for n in range(count):
            begin = _ms(start + n * window)
            found.append(
                Candidate(
                    key=f"{file.id}@{float(begin):.3f}", kind="broll", file_id=file.id, path=file.path,
                    order=order + len(found), pieces=(Span(start=begin, end=_ms(start + (n + 1) * window)),),
                    quality=quality, min_length=shot_length.min, signal="pictures",
                )
            )  # fmt: skip
    return found


def _ms(value: Fraction) -> Fraction:
    """Rounded down to the millisecond (a window never reaches past its shot)."""
    return Fraction(int(value * 1000), 1000)
