"""Decode an audio stream to float arrays with PyAV, whatever its channel count and layout.

Every place that turns audio into arrays (the sound analysis, speech regions, Whisper) decodes
through here, because two defects of PyAV 18 crash the whole process on multichannel audio, and
a crash cannot be caught:

1. An `AudioLayout` read from a codec context or a decoded frame is a shallow copy of ffmpeg's
   `AVChannelLayout` that frees the layout's channel map when it is collected. A layout in custom
   order owns such a map (an 8-channel PCM `.mov` reads as FL+FR+FC+LFE+SL+SR+BL+BR), so ffmpeg
   frees it a second time: "double free or corruption", abort. Reading `codec_context.channels`
   (or decoding one frame) is enough.
2. `AudioFrame.planes`, and so `to_ndarray`, counts planes up to a NULL pointer that a planar
   frame of 8 or more channels does not have: it reads past the array (7.1 AAC: segfault).

So the codec context's layout is read once and that object is never freed (`stream_channels`);
the decoder is given an unspecified-order layout of the same channel count, which owns no map,
before it opens; and every frame is resampled to packed float (one plane, whatever the channel
count) before any array conversion. Channel names come from the first read, for weighting. Should
a decoder still hand out frames in a custom order (it sets their layout itself), their layout
objects are kept alive too (`keep_layout_alive`): a few bytes a frame, only for such files.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import MediaError
from .ffmpeg import file_url

MAX_LEAD_IN = 10.0
"""Seconds: the most silence prepended for audio that starts after the file does."""


class NoAudioError(MediaError):
    """The file has no audio stream to decode."""


def keep_layout_alive(layout) -> None:
    """Never free this PyAV `AudioLayout`: its destructor would free ffmpeg's channel map a second
    time (defect 1). Layouts that own no map (a named standard one such as "7.1", or "8 channels" in
    unspecified order) are left alone; those described with their channel list, "8 channels
    (FL+FR+FC+LFE+SL+SR+BL+BR)", may be in custom order and are kept."""
    if "(" in layout.name:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(layout))


def stream_channels(codec_context) -> tuple[str, ...]:
    """ffmpeg's name of each channel of an audio stream, in order ("FL", "LFE", ...; "NONE" where the
    layout does not say). The layout object PyAV makes is kept alive on purpose (see defect 1)."""
    layout = codec_context.layout
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(layout))  # always: one per stream, read before decoding
    return tuple(channel.name for channel in layout.channels)


class AudioDecoder:
    """One audio stream of `path`, decoded and resampled to `rate` Hz float32.

    Use as a context manager; `channels` names the channels; `chunks()` yields arrays of shape
    (channels, n), the first one the silence before a late-starting stream. Raises MediaError when
    the file cannot be opened, NoAudioError when it has no audio. A decode error partway
    ends the chunks: what decoded is kept."""

    def __init__(self, path: Path, index: int | None, rate: int) -> None:
        import av

        self.path, self.rate = Path(path), rate
        try:
            self._container = av.open(file_url(path), metadata_errors="ignore")
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: not a media file ffmpeg can read ({exc})") from None
        audio = list(self._container.streams.audio)
        streams = [s for s in audio if s.index == index] or audio
        if not streams:
            self._container.close()
            raise NoAudioError(f"{path}: no audio stream", hint="only files with sound can be decoded to audio")
        self._stream = streams[0]
        context = self._stream.codec_context
        self.channels = stream_channels(context)
        if not self.channels:
            self._container.close()
            raise MediaError(f"{path}: the audio stream has no channels")
        context.layout = f"{len(self.channels)} channels"  # unspecified order: no map to free twice

    def __enter__(self) -> AudioDecoder:
        return self

    def __exit__(self, *exc_info) -> None:
        self._container.close()

    def chunks(self) -> Iterator[np.ndarray]:
        import av

        resampler = av.AudioResampler(format="flt", rate=self.rate)  # packed: one plane
        first = True
        try:
            for frame in self._container.decode(self._stream):
                keep_layout_alive(frame.layout)
                if first:
                    first = False
                    yield np.zeros((len(self.channels), self._lead_in(frame)), np.float32)
                for out in resampler.resample(frame):
                    yield _planar(out)
            for out in resampler.resample(None):
                yield _planar(out)
        except (av.error.FFmpegError, ValueError):
            pass  # truncated or corrupt from here on (or the layout changed midway): keep what decoded

    def _lead_in(self, frame) -> int:
        """Samples of silence before the first audio frame, when the audio starts after the file does."""
        start = (self._container.start_time or 0) / 1_000_000
        return int(round(min(max((frame.time or 0.0) - start, 0.0), MAX_LEAD_IN) * self.rate))


def _planar(frame) -> np.ndarray:
    """A packed float frame as (channels, samples) float32."""
    keep_layout_alive(frame.layout)
    count = frame.layout.nb_channels
    return frame.to_ndarray().reshape(-1, count).T


def mono_weights(channels: tuple[str, ...]) -> np.ndarray:
    """Downmix weights to mono: every channel but the LFE (all of them if that is all) summed and
    scaled by 1/sqrt(count), which keeps the power of uncorrelated channels and is ffmpeg's own
    stereo downmix ((L + R) / sqrt 2, as `ffmpeg -ac 1` feeds Whisper); mono passes unchanged."""
    weights = np.array([0.0 if name.startswith("LFE") else 1.0 for name in channels])
    if not weights.any():
        weights[:] = 1.0
    return weights / np.sqrt(weights.sum())


def decode_mono(path: Path, index: int | None, rate: int) -> Iterator[np.ndarray]:
    """The stream as mono float32 chunks at `rate` Hz, timed from the file's start (see AudioDecoder)."""
    with AudioDecoder(path, index, rate) as decoder:
        weights = mono_weights(decoder.channels).astype(np.float32)
        for samples in decoder.chunks():
            yield weights @ samples
