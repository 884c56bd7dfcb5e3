"""The layout of an MP4 or QuickTime file, read from its box headers: where the index (`moov`)
sits against the media (`mdat`), and which tracks carry an edit list (`edts`/`elst`).

ISO/IEC 14496-12 (ISO base media file format) §4.2: every box starts with a 32-bit big-endian
size and a four-character type; a size of 1 means a 64-bit size follows the type, a size of 0
means "to the end of the file". The walk reads those 8 or 16 bytes a box and seeks over the rest,
descending only into moov > trak > edts/mdia, and reads 8 bytes of each `elst` (its entry count,
§8.6.6) and 12 of each `hdlr` (its handler type, §8.4.3); in a sound track it goes on down to the
AAC sample entry's `esds` (mdia > minf > stbl > stsd > mp4a > esds) for the bitrate the stream
declares (ISO/IEC 14496-1 §7.2.6.6, DecoderConfigDescriptor: maxBitrate, avgBitrate). A file of
any length costs a few hundred bytes of reading; a broken or hostile file is bounded by MAX_BOXES
headers.

Platforms ask for both: YouTube ("moov atom at the front of the file (Fast Start)", "No Edit
Lists") and Meta ("no edit lists, moov atom at the front of the file"); presets/platforms/*.yaml
cite the pages.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from ..errors import MediaError

MAX_BOXES = 4096
"""Box headers read at most, over the whole walk: a real file has a few dozen (ftyp, moov and its
tracks' boxes, mdat, free); a file with more is not one we wrote, and stops the walk there."""

_SAMPLE_ENTRY = {0: 28, 1: 44, 2: 64}
"""Bytes before an audio sample entry's child boxes, by its (QuickTime) version: ISO/IEC 14496-12
§12.2.3 AudioSampleEntry (8 + 20 bytes); QuickTime's sound description v1 adds 16, v2 36."""
_HANDLERS = {"vide": "video", "soun": "sound", "subt": "subtitle", "text": "text", "sbtl": "subtitle"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class TrackEdits(_Frozen):
    """One track that carries an edit list."""

    track: str
    """What the track holds, from its hdlr box: video, sound, subtitle, text, or the raw handler type."""
    entries: int
    """The elst box's entry count (ffmpeg writes one entry to hide an encoder's start delay)."""


class BoxLayout(_Frozen):
    """Where the top-level boxes sit (byte offsets from the start of the file) and the edit lists."""

    top_level: tuple[str, ...]
    """The top-level box types in file order (e.g. ftyp, moov, free, mdat)."""
    moov_offset: int | None = None
    mdat_offset: int | None = None
    """The first mdat's offset; None when the file has none."""
    edit_lists: tuple[TrackEdits, ...] = ()
    audio_max_bitrate: int | None = None
    """The first sound track's declared maximum bitrate in bits a second (its esds
    DecoderConfigDescriptor's maxBitrate; ffmpeg writes the encoder's target rate there, or the
    measured average where that is higher); None without an MP4 audio sample entry or a stated rate."""

    @property
    def moov_first(self) -> bool:
        """True when the index comes before the media (a "fast start" file, playable and
        processable while it downloads); False when it comes after or is missing."""
        if self.moov_offset is None:
            return False
        return self.mdat_offset is None or self.moov_offset < self.mdat_offset


def read_box_layout(path: Path) -> BoxLayout:
    """The box layout of the MP4/MOV file at `path`. MediaError when it cannot be read, or when
    its first box is not a box header (a file that is not ISO BMFF / QuickTime)."""
    path = Path(path)
    try:
        with path.open("rb", buffering=0) as handle:  # unbuffered: only the header bytes are read
            walk = _Walk(handle)
            top = walk.children(0, handle.seek(0, 2))
            moov = next(((offset, body, size) for kind, offset, body, size in top if kind == b"moov"), None)
            edits, declared = walk.tracks(moov[1], moov[0] + moov[2]) if moov else ([], None)
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the file's boxes ({exc})") from None
    if not top:
        raise MediaError(f"{path}: not an MP4/QuickTime file (no box header at its start)")
    first = {kind: offset for kind, offset, _, _ in reversed(top)}
    return BoxLayout(
        top_level=tuple(_name(kind) for kind, *_ in top),
        moov_offset=first.get(b"moov"),
        mdat_offset=first.get(b"mdat"),
        edit_lists=tuple(edits),
        audio_max_bitrate=declared,
    )


class _Walk:
    """Box headers read from one open file, at most MAX_BOXES of them."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.headers = 0

    def children(self, start: int, end: int) -> list[tuple[bytes, int, int, int]]:
        """The boxes between `start` and `end`: (type, offset, where its body starts, size). Stops
        at a header that does not fit (a truncated or broken file keeps the boxes before it)."""
        boxes = []
        position = start
        while position + 8 <= end and self.headers < MAX_BOXES:
            self.handle.seek(position)
            header = self.handle.read(8)
            if len(header) < 8:
                break
            self.headers += 1
            size, kind = struct.unpack(">I4s", header)
            body = position + 8
            if size == 1:
                large = self.handle.read(8)
                if len(large) < 8:
                    break
                size, body = struct.unpack(">Q", large)[0], position + 16
            elif size == 0:
                size = end - position
            if size < body - position or position + size > end or not _printable(kind):
                break
            boxes.append((kind, position, body, size))
            position += size
        return boxes

    def tracks(self, start: int, end: int) -> tuple[list[TrackEdits], int | None]:
        """In moov's body: every trak that has an edts > elst box, with its handler type, and the
        first sound track's declared maximum bitrate."""
        found, declared = [], None
        for kind, offset, body, size in self.children(start, end):
            if kind != b"trak":
                continue
            entries, handler, mdia = None, "unknown", None
            for inner, inner_offset, inner_body, inner_size in self.children(body, offset + size):
                if inner == b"edts":
                    entries = self._elst_entries(inner_body, inner_offset + inner_size)
                elif inner == b"mdia":
                    mdia = (inner_body, inner_offset + inner_size)
                    handler = self._handler(*mdia) or handler
            if entries is not None:
                found.append(TrackEdits(track=_HANDLERS.get(handler, handler), entries=entries))
            if handler == "soun" and declared is None and mdia:
                declared = self._declared_bitrate(*mdia)
        return found, declared

    def _child(self, start: int, end: int, *path: bytes) -> tuple[int, int] | None:
        """The body and end of the box at `path` below [start, end), each step the first of its type."""
        for step in path:
            boxes = self.children(start, end)
            box = next(((body, offset + size) for kind, offset, body, size in boxes if kind == step), None)
            if box is None:
                return None
            start, end = box
        return start, end

    def _declared_bitrate(self, start: int, end: int) -> int | None:
        """maxBitrate of the esds in mdia > minf > stbl > stsd > mp4a, or None."""
        stsd = self._child(start, end, b"minf", b"stbl", b"stsd")
        if stsd is None:
            return None
        entry = self._child(stsd[0] + 8, stsd[1], b"mp4a")  # stsd: version, flags, entry count
        if entry is None:
            return None
        self.handle.seek(entry[0] + 8)  # reserved (6), data reference index (2), then the version
        version = struct.unpack(">H", self.handle.read(2) or b"\0\0")[0]
        if version not in _SAMPLE_ENTRY:
            return None
        esds = self._child(entry[0] + _SAMPLE_ENTRY[version], entry[1], b"esds")
        if esds is None:
            return None
        self.handle.seek(esds[0] + 4)  # version and flags
        return _max_bitrate(self.handle.read(min(esds[1] - esds[0] - 4, 256)))

    def _elst_entries(self, start: int, end: int) -> int | None:
        for kind, offset, body, size in self.children(start, end):
            if kind == b"elst" and offset + size >= body + 8:
                self.handle.seek(body + 4)  # after version and flags
                data = self.handle.read(4)
                return struct.unpack(">I", data)[0] if len(data) == 4 else None
        return None

    def _handler(self, start: int, end: int) -> str | None:
        for kind, offset, body, size in self.children(start, end):
            if kind == b"hdlr" and offset + size >= body + 12:
                self.handle.seek(body + 8)  # after version, flags and pre_defined
                data = self.handle.read(4)
                return data.decode("latin-1") if len(data) == 4 else None
        return None


def _max_bitrate(data: bytes) -> int | None:
    """maxBitrate from an esds body's descriptors (ISO/IEC 14496-1 §7.2.6.5-6): ES_Descriptor (tag
    3: ES_ID, flags, optional fields) holding a DecoderConfigDescriptor (tag 4: object type, stream
    type, buffer size (3 bytes), maxBitrate, avgBitrate). None when the bytes do not parse; 0 (no
    rate stated) is None too."""
    position = 0

    def descriptor() -> int | None:
        """Skip a tag and its size (1-4 bytes of 7 bits); the tag, or None past the end."""
        nonlocal position
        if position >= len(data):
            return None
        tag = data[position]
        position += 1
        for _ in range(4):
            if position >= len(data):
                return None
            more = data[position] & 0x80
            position += 1
            if not more:
                break
        return tag

    if descriptor() != 3 or position + 3 > len(data):
        return None
    flags = data[position + 2]
    position += 3  # ES_ID (2), flags (1)
    if flags & 0x80:  # streamDependenceFlag: dependsOn_ES_ID
        position += 2
    if flags & 0x40 and position < len(data):  # URL_Flag: a length and the URL
        position += 1 + data[position]
    if flags & 0x20:  # OCRstreamFlag
        position += 2
    if descriptor() != 4 or position + 13 > len(data):
        return None
    rate = struct.unpack(">I", data[position + 5 : position + 9])[0]
    return rate or None


def _printable(kind: bytes) -> bool:
    """Box types are four printable characters (ISO/IEC 14496-12 §4.2; "©nam" style types use
    byte 0xA9, also allowed)."""
    return all(32 <= byte < 127 or byte == 0xA9 for byte in kind)


def _name(kind: bytes) -> str:
    return kind.decode("latin-1")
