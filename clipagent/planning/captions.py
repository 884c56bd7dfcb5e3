"""Caption cues from the words a cut actually plays, on the output timeline.

A voice-over's words become cues on its own timing (`voice_over_cues`).

Each sentence becomes one cue, or the fewest near-equal cues that keep to two lines
(2 x max_chars_per_line characters) and about `MAX_CUE` seconds; a cue never spans two clips (the words on
either side of a cut may be far apart in the source). A cue stays up until the next one starts
or its clip ends, so captions do not flicker between words.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil

from ..analysis.models import IndexedFile, Word
from ..edl import EDL, Cue, place_clips
from .text import words_in

MAX_CUE = Fraction(3)


def caption_cues(edl: EDL, files: dict[str, IndexedFile | None], max_chars_per_line: int) -> list[Cue]:
    cues: list[Cue] = []
    for placement in place_clips(edl):
        clip = placement.clip
        if clip.mute:
            continue
        words = words_in(files.get(clip.media), clip.src_in, clip.src_out)
        timed: list[tuple[Fraction, str]] = []
        for group in _groups(words, 2 * max_chars_per_line):
            start = max(group[0].start, clip.src_in)
            timed.append((placement.start + (start - clip.src_in) / clip.speed, " ".join(w.text for w in group)))
        for k, (start, text) in enumerate(timed):
            end = timed[k + 1][0] if k + 1 < len(timed) else placement.end
            if end > start:
                cues.append(Cue(start=start, end=end, text=text))
    return cues


def _groups(words: list[Word], max_chars: int) -> list[list[Word]]:
    """Sentences, each split into the fewest near-equal parts (by characters) that fit the limits."""
    groups: list[list[Word]] = []
    sentence: list[Word] = []
    for k, word in enumerate(words):
        sentence.append(word)
        if word.text.rstrip("\"')]").endswith((".", "!", "?")) or k == len(words) - 1:
            groups += _split(sentence, max_chars)
            sentence = []
    return groups


def _split(words: list[Word], max_chars: int) -> list[list[Word]]:
    length = len(" ".join(w.text for w in words))
    seconds = words[-1].end - words[0].start
    parts = max(ceil(length / max_chars), ceil(seconds / MAX_CUE), 1)
    while True:
        share = length / parts
        out: list[list[Word]] = [[]]
        done = 0
        for word in words:
            if out[-1] and done + len(word.text) / 2 > share * len(out) and len(out) < parts:
                out.append([])
            out[-1].append(word)
            done += len(word.text) + 1
        if parts >= len(words) or all(len(" ".join(w.text for w in g)) <= max_chars for g in out):
            return out
        parts += 1


def voice_over_cues(file: IndexedFile, start: Fraction, total: Fraction, max_chars_per_line: int) -> list[Cue]:
    """Cues of a voice-over's recognised words: it plays from `start` of its source at output time 0,
    for `total` seconds (words past the end are left out). None without a transcript."""
    words = [w for w in (file.transcript.words if file.transcript else []) if start <= w.start and w.end <= start + total]
    timed = [(max(group[0].start - start, Fraction(0)), " ".join(w.text for w in group))
             for group in _groups(words, 2 * max_chars_per_line)]  # fmt: skip
    cues = []
    for k, (begin, text) in enumerate(timed):
        end = timed[k + 1][0] if k + 1 < len(timed) else min(total, words[-1].end - start + Fraction(1, 2))
        if end > begin:
            cues.append(Cue(start=begin, end=end, text=text))
    return cues
