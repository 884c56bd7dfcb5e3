"""What the score's components share about one cut (score_parts.py): each clip's place on the output
timeline, its source file, the words it plays (a voice-over's too), and each file's words with
their midpoints, fillers and sentences, made once per file so that every look-up is a bisection.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from fractions import Fraction

from ..analysis.models import IndexedFile, MediaIndex, Word
from ..brief import ResolvedBrief
from ..edl import EDL, Placement, place_clips, timeline_duration
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

    @classmethod
    def of(cls, edl: EDL, index: MediaIndex, brief: ResolvedBrief, target: Fraction) -> Cut:
        refs = edl.media_by_id()
        placements = place_clips(edl)
        files = [file_for_path(index, refs[p.clip.media].path) if p.clip.media in refs else None for p in placements]
        cut = cls(edl, index, brief, target, placements, files, [], timeline_duration(edl))
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
