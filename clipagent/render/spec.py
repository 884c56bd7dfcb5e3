"""Platform spec checks: probe a rendered cut and check it against its platform preset's upload
rules (presets/platforms/<name>.yaml, `presets.Platform`), rule by rule.

The rules, each with the measured and the expected value:

- resolution: the coded frame; expected the preset's frame, or for a cut of another shape (the
  brief's `aspect`) the preset's short side at that shape;
- frame_rate: from the video's timestamps, and whether every frame lasts as long; expected the
  preset's `fps`, constant;
- video_codec, profile, pixel_format: expected `video.codec`, one of `video.profiles`,
  `video.pixel_format`;
- level: the H.264 level; expected at least what the frame size and rate need (ITU-T H.264
  Table A-1) and at most `video.max_level`;
- video_bitrate: the average (the video stream's bytes over its duration); expected at most
  `video.max_bitrate_kbps`;
- audio_codec, audio_rate, audio_channels: the first audio stream; expected `audio.codec`, one of
  `audio.sample_rates`, one of `audio.channels`;
- audio_layout: its channel layout by ffmpeg's name (mono, stereo, 5.1); expected one of
  `audio.layouts`;
- audio_bitrate: the rate the sound was coded at: the higher of the maximum bitrate its MP4
  sample entry declares (esds maxBitrate, where ffmpeg writes the encoder's target) and its
  bytes in its busiest second; the average is shown too. Expected at least
  `audio.min_bitrate_kbps`. The average alone would not do: an AAC encoder spends what a sound
  needs, up to its rate, and almost nothing on silence (ffmpeg's AAC asked for 192 kbps: 2 kbps
  for digital silence, 3 kbps for a 3 s cut of silence with one click). A silent cut passes, as
  for loudness;
- duration: the file's; expected `min_duration` to `max_duration`;
- file_size: bytes on disk; expected at most `max_file_size`;
- loudness: integrated loudness (EBU R128), expected `loudness_lufs` ± `loudness_tolerance_lu`;
- true_peak: the decoded cut's true peak (ITU-R BS.1770-4 Annex 2, 4x oversampled, ffmpeg's
  `ebur128=peak=true`, in the same pass as its loudness: render/loudness.py `measure_file`);
  expected at most `true_peak_db` (EBU R 128's -1 dBTP in every shipped preset). Measured on
  the decoded file because that is what a platform decodes: the AAC encoder overshoots the
  limited mix it is given (render/loudness.py). A silent cut passes;
- faststart: where the index (`moov`) sits; expected before the media (`mdat`) when
  `container.faststart` (render/boxes.py reads the box headers);
- edit_lists: the tracks that carry an edit list (`edts`/`elst`); expected none when
  `container.edit_lists` is false.

The container and audio rules come from what the platforms publish, quoted in each preset file:
Meta's Instagram Graph API reel and video specifications ("Container: MOV or MP4 (MPEG-4 Part
14), no edit lists, moov atom at the front of the file"; "AAC, 48khz sample rate maximum, 1 or 2
channels (mono or stereo)"; "Audio bitrate: 128kbps", "128kbs+" in Meta's Facebook Reels
specifications), and YouTube Help's "Recommended upload encoding settings" (answer/1722171:
"No Edit Lists (or the video might not be processed correctly)", "moov atom at the front of the
file (Fast Start)", "Stereo or Stereo + 5.1"). TikTok publishes none of them.

A rule the preset leaves out (null, or a container rule at its default) is not checked. Probing
uses PyAV (packets only, no decoding), the box headers (a few hundred bytes) and one ffmpeg pass
over the sound for its loudness and true peak.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..errors import MediaError, SpecFailedError
from ..ffmpeg import file_url
from ..presets import Platform
from .boxes import BoxLayout, read_box_layout

SILENT_LUFS = -70.0
"""EBU R128's absolute gate: a cut with nothing above it measures exactly -70 LUFS (silence)."""

# ITU-T H.264 (08/2021) Table A-1: level -> (MaxMBPS macroblocks/s, MaxFS macroblocks a frame).
# A frame's width and height in macroblocks are each at most sqrt(8 * MaxFS) (A.3.1 f, A.3.2 e).
H264_LEVELS: tuple[tuple[float, int, int], ...] = (
    (1.0, 1485, 99), (1.1, 3000, 396), (1.2, 6000, 396), (1.3, 11880, 396), (2.0, 11880, 396),
    (2.1, 19800, 792), (2.2, 20250, 1620), (3.0, 40500, 1620), (3.1, 108000, 3600), (3.2, 216000, 5120),
    (4.0, 245760, 8192), (4.1, 245760, 8192), (4.2, 522240, 8704), (5.0, 589824, 22080), (5.1, 983040, 36864),
    (5.2, 2073600, 36864), (6.0, 4177920, 139264), (6.1, 8355840, 139264), (6.2, 16711680, 139264),
)  # fmt: skip


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class CutFacts(_Frozen):
    """What the spec checks measure of a rendered file (`probe_cut`); None where it has no such stream."""

    size_bytes: int
    duration: float
    """Seconds, as the container gives it."""
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    profile: str | None = None
    """H.264 profile, lower case (e.g. "high")."""
    level: float | None = None
    """e.g. 4.0 (ffmpeg reports level_idc 40)."""
    pixel_format: str | None = None
    frame_rate: Fraction | None = None
    """Frames a second, from the most common interval between frames."""
    frame_interval_range: tuple[float, float] | None = None
    """The shortest and longest interval between frames, in seconds (equal for a constant rate)."""
    constant_rate: bool = True
    video_bitrate: float | None = None
    """Bits a second, the video stream's packets over its duration."""
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None
    audio_layout: str | None = None
    """ffmpeg's name of the channel layout (mono, stereo, 5.1)."""
    audio_bitrate: float | None = None
    """Bits a second, the audio stream's packets over its duration."""
    audio_peak_bitrate: float | None = None
    """Bits a second in the stream's busiest second (its whole length when shorter)."""
    loudness_lufs: float | None = None
    true_peak_db: float | None = None
    """dBTP: the decoded sound's largest true peak (ITU-R BS.1770-4 Annex 2); None where unmeasured."""
    boxes: BoxLayout | None = None
    """The MP4/MOV box layout (render/boxes.py); None for a file the spec checks do not read as boxes."""


class SpecRule(_Frozen):
    """One upload rule checked on the cut."""

    rule: str
    """resolution, frame_rate, video_codec, profile, level, pixel_format, video_bitrate, audio_codec,
    audio_rate, audio_channels, audio_layout, audio_bitrate, duration, file_size, loudness, true_peak,
    faststart or edit_lists."""
    passed: bool
    measured: str
    expected: str

    @property
    def detail(self) -> str:
        return f"{self.measured} (expected {self.expected})"


class SpecReport(_Frozen):
    """A rendered cut checked against a platform preset's rules."""

    platform: str
    preset: str
    """The preset file the rules came from."""
    cut: str
    rules: list[SpecRule]

    @property
    def passed(self) -> bool:
        return all(rule.passed for rule in self.rules)

    @property
    def failed(self) -> list[SpecRule]:
        return [rule for rule in self.rules if not rule.passed]

    def raise_if_failed(self) -> None:
        """SpecFailedError (exit 1) naming every broken rule; nothing when all pass."""
        if self.passed:
            return
        lines = [f"{rule.rule}: {rule.detail}" for rule in self.failed]
        raise SpecFailedError(
            f"{self.cut}: the cut is written, but it breaks {len(lines)} of the {len(self.rules)} upload rules of "
            f"the {self.platform} preset ({self.preset}):\n" + "\n".join(f"  - {line}" for line in lines),
            rules=lines,
            hint="the preset file names the source of each rule; --accept-failed-checks keeps such a cut with exit 0",
        )


def check_cut(path: Path, platform: Platform, width: int, height: int, *, room_tone: bool = False) -> SpecReport:
    """Probe the cut at `path` and check it against `platform`'s rules; `width` x `height` is the
    frame the EDL asked for (its shape sets the expected resolution); `room_tone`: the render capped
    the make-up gain of a mix that is only a noise floor (render/loudness.py), so a cut under the
    loudness target is that choice, not a fault. MediaError when the file cannot be read as media."""
    facts = probe_cut(path)
    return SpecReport(platform=platform.name, preset=platform.source, cut=str(path),
                      rules=check_facts(facts, platform, width, height, room_tone=room_tone))  # fmt: skip


def probe_cut(path: Path) -> CutFacts:
    """The facts the rules need, read with PyAV (demuxing packets, no decoding) and one ffmpeg
    pass over the sound for its loudness and true peak. MediaError when the file is not readable
    media."""
    import av

    from ..ffmpeg import find_ffmpeg
    from ..media import integrated_loudness
    from .loudness import measure_file

    path = Path(path)
    try:
        size = path.stat().st_size
        container = av.open(file_url(path))
    except (OSError, av.error.FFmpegError) as exc:
        raise MediaError(f"{path}: cannot probe the cut ({exc})") from None
    with container:
        facts: dict = {"size_bytes": size, "duration": (container.duration or 0) / 1_000_000}
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        packets: dict[str, list[tuple[int, int, int]]] = {"video": [], "audio": []}
        for packet in container.demux(*(s for s in (video, audio) if s is not None)):
            if packet.size and packet.pts is not None:
                packets[packet.stream.type].append((packet.pts, packet.size, packet.duration or 0))
        if video is not None:
            facts.update(_video_facts(video, packets["video"]))
        if audio is not None:
            facts.update(_audio_facts(audio, packets["audio"]))
        boxed = "mov" in container.format.name.split(",")  # ffmpeg's one demuxer for both: "mov,mp4,m4a,..."
    if facts.get("audio_codec"):
        measured = measure_file(find_ffmpeg().path, path)
        if measured is not None:
            facts.update(loudness_lufs=measured.lufs, true_peak_db=measured.true_peak_db)
        else:  # a layout ffmpeg's filters do not know (16 AAC channels): measured as its channel count
            facts["loudness_lufs"] = integrated_loudness(path)
    if boxed:
        facts["boxes"] = read_box_layout(path)
    return CutFacts(**facts)


def _audio_facts(stream, packets: list[tuple[int, int, int]]) -> dict:  # noqa: ANN001 (a PyAV stream)
    """Codec, rate, channels and layout, and the bitrate on average and in the busiest second,
    from `packets` (pts, bytes, duration in the stream's time base)."""
    codec = stream.codec_context
    facts = {"audio_codec": codec.name, "audio_rate": codec.sample_rate, "audio_channels": codec.channels,
             "audio_layout": codec.layout.name if codec.layout else None}  # fmt: skip
    if not packets or not stream.time_base:
        return facts
    base = stream.time_base
    packets = sorted(packets)
    length = float((packets[-1][0] + packets[-1][2] - packets[0][0]) * base)
    if length <= 0:
        return facts
    total = sum(size for _, size, _ in packets)
    window = int(1 / base)  # one second in the time base's ticks
    busiest, low, in_window = 0, 0, 0
    for pts, size, _ in packets:  # two pointers: the bytes of packets starting within a second
        in_window += size
        while packets[low][0] <= pts - window:
            in_window -= packets[low][1]
            low += 1
        busiest = max(busiest, in_window)
    facts.update(audio_bitrate=total * 8 / length, audio_peak_bitrate=busiest * 8 / min(length, 1.0))
    return facts


def _video_facts(stream, packets: list[tuple[int, int, int]]) -> dict:  # noqa: ANN001 (a PyAV stream)
    codec = stream.codec_context
    times = [pts for pts, _, _ in packets]
    total = sum(size for _, size, _ in packets)
    facts = {
        "width": codec.width, "height": codec.height, "video_codec": codec.name,
        "profile": (codec.profile or "").lower() or None,
        "level": codec.level / 10 if codec.level and codec.level > 0 else None,
        "pixel_format": codec.format.name if codec.format else None,
    }  # fmt: skip
    times.sort()
    steps = [b - a for a, b in zip(times, times[1:])]
    if not steps or not stream.time_base:
        return facts
    base = stream.time_base
    common = max(set(steps), key=steps.count)
    seconds = (times[-1] - times[0] + common) * base  # the last frame shown for the common interval
    facts.update(
        frame_rate=1 / (common * base),
        frame_interval_range=(float(min(steps) * base), float(max(steps) * base)),
        constant_rate=max(steps) - min(steps) <= 1,  # one tick of rounding in the time base
        video_bitrate=total * 8 / float(seconds) if seconds > 0 else None,
    )
    return facts


# ---- the rules (pure) -------------------------------------------------------------------------


def check_facts(
    facts: CutFacts, platform: Platform, width: int, height: int, *, room_tone: bool = False
) -> list[SpecRule]:
    """Every rule `platform` sets, checked on `facts`; `width` x `height` is the EDL's frame;
    `room_tone` as in `check_cut`."""
    video, audio = platform.video, platform.audio
    rules = [
        _resolution(facts, expected_frame(platform, width, height)),
        _frame_rate(facts, platform.fps),
        _equal("video_codec", facts.video_codec, video.codec),
        _one_of("profile", facts.profile, [p.lower() for p in video.profiles]),
        _level(facts, video.max_level),
        _equal("pixel_format", facts.pixel_format, video.pixel_format),
    ]
    if video.max_bitrate_kbps is not None:
        rules.append(_bitrate(facts, video.max_bitrate_kbps))
    rules += [
        _equal("audio_codec", facts.audio_codec, audio.codec),
        _one_of("audio_rate", facts.audio_rate, list(audio.sample_rates), unit=" Hz"),
        _one_of("audio_channels", facts.audio_channels, list(audio.channels)),
    ]
    if audio.layouts is not None:
        rules.append(_one_of("audio_layout", facts.audio_layout, list(audio.layouts)))
    if audio.min_bitrate_kbps is not None:
        rules.append(_audio_bitrate(facts, audio.min_bitrate_kbps))
    low, high = platform.min_duration, platform.max_duration
    if low is not None or high is not None:
        rules.append(_duration(facts.duration, low, high))
    if platform.max_file_size is not None:
        limit = int(platform.max_file_size)
        rules.append(SpecRule(rule="file_size", passed=facts.size_bytes <= limit, measured=_bytes(facts.size_bytes),
                              expected=f"at most {_bytes(limit)}"))  # fmt: skip
    rules.append(_loudness(facts.loudness_lufs, platform.loudness_lufs, platform.loudness_tolerance_lu, room_tone))
    rules.append(_true_peak(facts, platform.true_peak_db))
    if platform.container.faststart:
        rules.append(_faststart(facts.boxes))
    if not platform.container.edit_lists:
        rules.append(_edit_lists(facts.boxes))
    return rules


def expected_frame(platform: Platform, width: int, height: int) -> tuple[int, int]:
    """The platform's frame; for a cut of another shape (the brief's `aspect`), the platform's
    short side at that shape, as `brief.frame_size` makes it."""
    from ..brief import frame_size

    if width * platform.height == height * platform.width:
        return platform.width, platform.height
    g = math.gcd(width, height)
    return frame_size(platform.width, platform.height, f"{width // g}:{height // g}")


def min_h264_level(width: int, height: int, fps: Fraction) -> float | None:
    """The lowest H.264 level whose frame size and macroblock rate fit (Table A-1), or None
    when no level does."""
    mbs_w, mbs_h = math.ceil(width / 16), math.ceil(height / 16)
    frame = mbs_w * mbs_h
    for level, max_rate, max_frame in H264_LEVELS:
        side = math.isqrt(8 * max_frame)
        if frame <= max_frame and mbs_w <= side and mbs_h <= side and frame * fps <= max_rate:
            return level
    return None


def _resolution(facts: CutFacts, frame: tuple[int, int]) -> SpecRule:
    measured = f"{facts.width}x{facts.height}" if facts.width else "no video stream"
    return SpecRule(rule="resolution", passed=(facts.width, facts.height) == frame, measured=measured,
                    expected=f"{frame[0]}x{frame[1]}")  # fmt: skip


def _frame_rate(facts: CutFacts, fps: Fraction) -> SpecRule:
    expected = f"{_fps(fps)} fps, constant"
    if facts.frame_rate is None:
        return SpecRule(rule="frame_rate", passed=False, measured="no frame timing (fewer than 2 frames)",
                        expected=expected)  # fmt: skip
    if facts.constant_rate:
        measured = f"{_fps(facts.frame_rate)} fps, constant"
    else:
        short, long = facts.frame_interval_range or (0.0, 0.0)
        measured = f"{_fps(facts.frame_rate)} fps, variable ({short * 1000:.1f}-{long * 1000:.1f} ms a frame)"
    return SpecRule(rule="frame_rate", passed=facts.constant_rate and facts.frame_rate == fps, measured=measured,
                    expected=expected)  # fmt: skip


def _level(facts: CutFacts, max_level: float | None) -> SpecRule:
    need = None
    if facts.width and facts.height and facts.frame_rate:
        need = min_h264_level(facts.width, facts.height, facts.frame_rate)
    low = f"at least {need:.1f} (for {facts.width}x{facts.height} at {_fps(facts.frame_rate)} fps)" if need else ""
    high = f"at most {max_level:.1f}" if max_level is not None else ""
    expected = ", ".join(part for part in (low, high) if part) or "any level"
    if facts.level is None:
        return SpecRule(rule="level", passed=False, measured="not stated", expected=expected)
    passed = (need is None or facts.level >= need) and (max_level is None or facts.level <= max_level + 1e-9)
    if need is None and facts.width and facts.frame_rate:
        passed = False  # no H.264 level holds this frame size and rate
    return SpecRule(rule="level", passed=passed, measured=f"{facts.level:.1f}", expected=expected)


def _bitrate(facts: CutFacts, ceiling_kbps: int) -> SpecRule:
    expected = f"at most {_rate(ceiling_kbps * 1000)}"
    if facts.video_bitrate is None:
        return SpecRule(rule="video_bitrate", passed=False, measured="no video stream", expected=expected)
    return SpecRule(rule="video_bitrate", passed=facts.video_bitrate <= ceiling_kbps * 1000,
                    measured=f"{_rate(facts.video_bitrate)} average", expected=expected)  # fmt: skip


def _audio_bitrate(facts: CutFacts, floor_kbps: int) -> SpecRule:
    expected = f"at least {floor_kbps} kbps (declared, or in its busiest second)"
    if facts.audio_peak_bitrate is None or facts.audio_bitrate is None:
        return SpecRule(rule="audio_bitrate", passed=False, measured="no audio stream", expected=expected)
    declared = facts.boxes.audio_max_bitrate if facts.boxes else None
    parts = [f"{_rate(declared)} declared"] if declared else []
    parts += [f"{_rate(facts.audio_peak_bitrate)} in its busiest second", f"{_rate(facts.audio_bitrate)} on average"]
    measured = ", ".join(parts)
    if facts.loudness_lufs is not None and facts.loudness_lufs <= SILENT_LUFS + 0.05:
        return SpecRule(rule="audio_bitrate", passed=True, measured=f"{measured}: silent, nothing to code",
                        expected=expected)  # fmt: skip
    coded = max(declared or 0, facts.audio_peak_bitrate)
    return SpecRule(rule="audio_bitrate", passed=coded >= floor_kbps * 1000, measured=measured, expected=expected)


def _faststart(boxes: BoxLayout | None) -> SpecRule:
    expected = "moov (the index) before mdat (the media): a fast-start file"
    if boxes is None:
        return SpecRule(rule="faststart", passed=False, measured="not an MP4/MOV file", expected=expected)
    if boxes.moov_offset is None:
        measured = "no moov box"
    elif boxes.mdat_offset is None:
        measured = f"moov at byte {boxes.moov_offset}, no mdat"
    else:
        where = "before" if boxes.moov_first else "after"
        measured = f"moov at byte {boxes.moov_offset}, {where} mdat at byte {boxes.mdat_offset}"
    return SpecRule(rule="faststart", passed=boxes.moov_first, measured=measured, expected=expected)


def _edit_lists(boxes: BoxLayout | None) -> SpecRule:
    expected = "no edit lists (edts/elst boxes)"
    if boxes is None:
        return SpecRule(rule="edit_lists", passed=False, measured="not an MP4/MOV file", expected=expected)
    if boxes.moov_offset is None:
        return SpecRule(rule="edit_lists", passed=False, measured="no moov box", expected=expected)
    tracks = [f"{e.track} track ({e.entries} entr{'y' if e.entries == 1 else 'ies'})" for e in boxes.edit_lists]
    return SpecRule(rule="edit_lists", passed=not tracks, measured="; ".join(tracks) or "none", expected=expected)


def _duration(seconds: float, low: Fraction | None, high: Fraction | None) -> SpecRule:
    if low is not None and high is not None:
        expected = f"{float(low):g} s to {float(high):g} s"
    else:
        expected = f"at least {float(low):g} s" if low is not None else f"at most {float(high):g} s"
    # The container rounds to microseconds: a cut of exactly the limit may read a hair over it.
    passed = (low is None or seconds >= float(low) - 1e-3) and (high is None or seconds <= float(high) + 1e-3)
    return SpecRule(rule="duration", passed=passed, measured=f"{seconds:.2f} s", expected=expected)


def _loudness(lufs: float | None, target: float, tolerance: float, room_tone: bool = False) -> SpecRule:
    expected = f"{target:g} LUFS ± {tolerance:g} LU"
    if lufs is None:
        return SpecRule(rule="loudness", passed=False, measured="no audio stream", expected=expected)
    if lufs <= SILENT_LUFS + 0.05:  # nothing to normalise: a silent cut breaks no platform's rule
        return SpecRule(rule="loudness", passed=True, measured="silent (under the -70 LUFS gate)", expected=expected)
    if room_tone and lufs < target - tolerance:  # render/loudness.py: a noise floor is raised by +12 dB at most
        return SpecRule(rule="loudness", passed=True, expected=expected,
                        measured=f"{lufs:.1f} LUFS: room tone, its make-up gain capped on purpose (render/loudness.py)")
    return SpecRule(rule="loudness", passed=abs(lufs - target) <= tolerance, measured=f"{lufs:.1f} LUFS",
                    expected=expected)  # fmt: skip


def _true_peak(facts: CutFacts, ceiling_db: float) -> SpecRule:
    """The decoded cut's true peak at most the preset's `true_peak_db` (EBU R 128's maximum true
    peak level; measured as ITU-R BS.1770-4 Annex 2 says). Shown to 0.01 dB: the measurement
    reads the peak to three decimals of full scale."""
    expected = f"at most {ceiling_db:g} dBTP"
    if facts.audio_codec is None:
        return SpecRule(rule="true_peak", passed=False, measured="no audio stream", expected=expected)
    if facts.loudness_lufs is not None and facts.loudness_lufs <= SILENT_LUFS + 0.05:
        return SpecRule(rule="true_peak", passed=True, measured="silent (under the -70 LUFS gate)", expected=expected)
    if facts.true_peak_db is None:
        return SpecRule(rule="true_peak", passed=False, measured="not measurable (a channel layout ffmpeg's meter does "
                        "not know)", expected=expected)  # fmt: skip
    return SpecRule(rule="true_peak", passed=facts.true_peak_db <= ceiling_db, measured=f"{facts.true_peak_db:.2f} dBTP",
                    expected=expected)  # fmt: skip


def _equal(rule: str, measured: str | None, expected: str) -> SpecRule:
    shown = measured if measured is not None else f"no {'audio' if rule.startswith('audio') else 'video'} stream"
    return SpecRule(rule=rule, passed=measured == expected, measured=shown, expected=expected)


def _one_of(rule: str, measured: object, allowed: list, *, unit: str = "") -> SpecRule:
    stream = "audio" if rule.startswith("audio") else "video"
    shown = f"{measured}{unit}" if measured is not None else f"no {stream} stream"
    expected = " or ".join(str(a) for a in allowed) + unit
    return SpecRule(rule=rule, passed=measured in allowed, measured=shown, expected=expected)


def _fps(rate: Fraction | None) -> str:
    if rate is None:
        return "?"
    return str(rate.numerator) if rate.denominator == 1 else f"{float(rate):.3f}".rstrip("0")


def _rate(bits_per_second: float) -> str:
    if bits_per_second >= 1e6:
        return f"{bits_per_second / 1e6:.2f}".rstrip("0").rstrip(".") + " Mbps"
    return f"{bits_per_second / 1e3:.0f} kbps"


def _bytes(count: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if count >= size:
            return f"{count / size:.1f} {unit}".replace(".0 ", " ")
    return f"{count} bytes"
