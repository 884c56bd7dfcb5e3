"""What the score's components share about one cut (score_parts.py): each clip's place on the output
timeline, its source file, the words it plays (a voice-over's too), and each file's words with
their midpoints, fillers and sentences, made once per file so that every look-up is a bisection.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from fractions import Fraction

from ..analysis.models import IndexedFile, MediaIndex, Shot, Word
from ..brief import ResolvedBrief
from ..edl import EDL, Placement, place_clips
from .segments import filler_mask, sentences
from .text import WORD_TOLERANCE, file_for_path, terms


@dataclass(frozen=True)
class Played:
    """A word the cut plays, at its place on the output timeline."""

    word: Word
    number: int
    """Its position in its file's transcript words."""
    clip: int
    start: Fraction
    end: Fraction


@dataclass
class Cut:
    edl: EDL
    index: MediaIndex
    brief: ResolvedBrief
    target: Fraction
    placements: list[Placement]
    files: list[IndexedFile | None]
    """files[i]: the indexed file of clips[i] (None when the index lacks it)."""
    played: list[Played]
    total: Fraction
    tables: dict[str, Words] = field(default_factory=dict)
    _terms: dict[int, list] = field(default_factory=dict)
    _by_clip: dict[int, list[Played]] | None = None
    _shots: dict[str, tuple[list, list, bool]] = field(default_factory=dict)
    _regions: dict[str, tuple[list, list, bool]] = field(default_factory=dict)

    @classmethod
    def of(cls, edl: EDL, index: MediaIndex, brief: ResolvedBrief, target: Fraction) -> Cut:
        refs = edl.media_by_id()
        placements = place_clips(edl)
        by_media = {ref_id: file_for_path(index, ref.path) for ref_id, ref in refs.items()}  # once a file, not a clip
        files = [by_media.get(p.clip.media) for p in placements]
        total = placements[-1].end  # edl.timeline_duration, without placing the clips twice
        cut = cls(edl, index, brief, target, placements, files, [], total)
        for k, (p, file) in enumerate(zip(placements, files)):
            if p.clip.mute or file is None:
                continue
            table = cut.words(file)
            for n in table.between(p.clip.src_in, p.clip.src_out):
                w = table.words[n]
                at = p.start + (max(w.start, p.clip.src_in) - p.clip.src_in) / p.clip.speed
                end = p.start + (min(w.end, p.clip.src_out) - p.clip.src_in) / p.clip.speed
                cut.played.append(Played(word=w, number=n, clip=k, start=at, end=end))
        cut._voice_over()
        return cut

    def _voice_over(self) -> None:
        """A voice-over's words (the music bed, when it is an audio file of speech) join the words
        played, as clip -1, at their output times; the list stays in output order."""
        music = self.edl.music
        ref = self.edl.media_by_id().get(music.media) if music is not None else None
        file = file_for_path(self.index, ref.path) if ref is not None else None
        if music is None or file is None or file.sound != "speech" or file.transcript is None:
            return
        for n, w in enumerate(file.transcript.words):
            at = w.start - music.src_in
            if at >= 0 and at + (w.end - w.start) <= self.total:
                self.played.append(Played(word=w, number=n, clip=-1, start=at, end=at + (w.end - w.start)))
        self.played.sort(key=lambda p: p.start)

    def words(self, file: IndexedFile) -> Words:
        """The file's words with what the components look up, made once per file."""
        if file.id not in self.tables:
            self.tables[file.id] = Words(file.transcript.words if file.transcript else [])
        return self.tables[file.id]

    def clip_terms(self, k: int) -> list[str]:
        """The terms clip k plays (cached)."""
        if not self._terms:
            for p in self.played:
                self._terms.setdefault(p.clip, []).append(p.word.text)
            self._terms = {clip: terms(" ".join(words)) for clip, words in self._terms.items()} or {-2: []}
        return self._terms.get(k, [])

    def played_in(self, k: int) -> list[Played]:
        """The words clip k plays, in order (grouped once for every clip: no scan of the cut per clip)."""
        if self._by_clip is None:
            self._by_clip = {}
            for p in self.played:
                self._by_clip.setdefault(p.clip, []).append(p)
        return self._by_clip.get(k, [])

    def shot_at(self, file: IndexedFile | None, time: Fraction) -> Shot | None:
        """score_parts.shot_at by bisection: the shot playing at `time` (the last one past the end)."""
        shots = file.shots.shots if file and file.shots else []
        if not shots:
            return None
        if file.id not in self._shots:  # type: ignore[union-attr]
            starts = [s.start for s in shots]
            ordered = all(a.start < a.end <= b.start for a, b in zip(shots, shots[1:]))
            self._shots[file.id] = (shots, starts, ordered)  # type: ignore[union-attr]
        shots, starts, ordered = self._shots[file.id]  # type: ignore[union-attr]
        if not ordered:  # overlapping or unsorted shots: the first that holds `time`, as the scan finds it
            return next((s for s in shots if s.start <= time < s.end), shots[-1] if time >= shots[-1].end else None)
        k = bisect_right(starts, time) - 1
        if k >= 0 and time < shots[k].end:
            return shots[k]
        return shots[-1] if time >= shots[-1].end else None

    def regions_between(self, file: IndexedFile, start: Fraction, end: Fraction) -> list:
        """The file's speech regions that overlap (start, end), in order, by bisection (a scan
        when the regions are not sorted and apart)."""
        regions = file.speech.regions if file.speech else []
        if file.id not in self._regions:
            ordered = all(a.start < a.end <= b.start for a, b in zip(regions, regions[1:]))
            self._regions[file.id] = ([r.start for r in regions], [r.end for r in regions], ordered)
        starts, ends, ordered = self._regions[file.id]
        if not ordered:
            return [r for r in regions if r.start < end and start < r.end]
        return regions[bisect_right(ends, start) : bisect_left(starts, end)]

    def spoken_terms(self) -> list[str]:
        return terms(" ".join(p.word.text for p in self.played))


class Words:
    """A transcript's words, with their midpoints, fillers and sentences, for fast look-ups."""

    def __init__(self, words: list[Word]) -> None:
        self.words = words
        self.mids = [(w.start + w.end) / 2 for w in words]
        self.starts = [w.start for w in words]
        self.fillers = filler_mask(words)
        self.sentence_of: dict[int, list[int]] = {i: group for group in sentences(words) for i in group}

    def between(self, start: Fraction, end: Fraction) -> range:
        """The words whose midpoint lies in [start, end) (what a clip of that range plays)."""
        return range(bisect_left(self.mids, start), bisect_left(self.mids, end))

    def inside(self, time: Fraction) -> bool:
        """True when `time` falls inside a word, beyond text.WORD_TOLERANCE of its edges."""
        k = bisect_right(self.starts, time) - 1
        return k >= 0 and self.words[k].start + WORD_TOLERANCE < time < self.words[k].end - WORD_TOLERANCE
