"""Compile a valid EDL into one ffmpeg invocation: inputs and one filtergraph. Pure: no I/O.

The graph, in order:
  1. each clip: its own input (-ss/-t seek), normalised to the output size, rate, pixel
     format and audio layout, then trimmed or padded to its exact frame and sample count;
  2. clips joined by cuts are concatenated; runs joined by crossfade/dip go through xfade
     and acrossfade;
  3. overlays (text, images, captions) are drawn over the joined picture;
  4. the music bed is ducked under the clips' audio, mixed in, and the mix is normalised
     to the target loudness.

Loudness is measured before the render by cheap audio-only graphs (`compile_loudness_probe`):
the render then applies one linear gain and a peak limiter, chosen so the finished mix lands
on the target integrated loudness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..edl import EDL, Captions, Clip, ImageOverlay, Placement, TextOverlay, place_clips
from ..media import MediaInfo
from ..timebase import format_time, to_ffmpeg
from .filters import chain, clean_text, f
from .text import place_box, place_expression, wrap_lines

SEEK_MARGIN = Fraction(1, 2)
"""Extra source seconds read past a clip's end, so padding is only ever a safety net."""


@dataclass(frozen=True)
class Source:
    path: Path
    info: MediaInfo


SILENCE_LUFS = -69.9
MAX_GAIN_DB = 40.0
"""Never raise a mix by more than this: a whisper-quiet source stays quieter than target rather
than turning its noise floor into hiss."""


@dataclass(frozen=True)
class LoudnessGain:
    """The gain that brings the mix (after the peak limiter) to the target loudness."""

    gain_db: float
    measured_lufs: float
    """The mix before the gain. EBU R128 gates everything under -70 LUFS, and ebur128 then
    reports exactly -70: that is silence or a bare noise floor, and no gain applies."""

    @property
    def silent(self) -> bool:
        return self.measured_lufs <= SILENCE_LUFS


@dataclass(frozen=True)
class CompiledGraph:
    input_args: list[str]
    filtergraph: str
    video_label: str | None
    audio_label: str
    duration: Fraction
    frame_count: int
    fps: Fraction


@dataclass
class _Builder:
    edl: EDL
    sources: dict[str, Source]
    font: Path | None
    hwaccel: bool
    video: bool = True
    """False for the audio-only loudness pass."""
    loudness: LoudnessGain | None = None
    probe_gains: list[float | None] = field(default_factory=list)
    probe_dir: Path | None = None
    input_args: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    n_inputs: int = 0

    def add_input(self, path: Path, *before: str) -> int:
        self.input_args += [*before, "-i", str(path)]
        self.n_inputs += 1
        return self.n_inputs - 1

    def add(self, inputs: list[str], filters: list[str], outputs: list[str]) -> None:
        self.chains.append(chain(inputs, filters, outputs))


def compile_edl(
    edl: EDL,
    sources: dict[str, Source],
    *,
    loudness: LoudnessGain | None,
    font: Path | None = None,
    hwaccel: bool = False,
) -> CompiledGraph:
    """The ffmpeg inputs and filtergraph for `edl`. `sources` maps every media id to its file and
    probe; `loudness` is the mix as `compile_loudness_probe` measured it."""
    return _compile(_Builder(edl, sources, font, hwaccel, loudness=loudness))


def compile_loudness_probe(
    edl: EDL, sources: dict[str, Source], gains: list[float | None], report_dir: Path
) -> CompiledGraph:
    """An audio-only graph of the same mix, split into one branch per gain (None: the raw mix;
    a number: that gain, then the render's limiter). Branch i logs its running loudness and
    peak to `report_dir/branch{i}.txt`; the last line holds the totals."""
    return _compile(_Builder(edl, sources, None, False, video=False, probe_gains=gains, probe_dir=report_dir))


def _compile(b: _Builder) -> CompiledGraph:
    edl = b.edl
    placements = place_clips(edl)
    for k, placement in enumerate(placements):
        _clip_streams(b, k, placement)
    video, audio = _join(b, placements)
    video = _overlays(b, video) if b.video else None
    audio = _finish_audio(b, audio, placements[-1].end_frame)
    return CompiledGraph(
        input_args=b.input_args,
        filtergraph=";\n".join(b.chains),
        video_label=video,
        audio_label=audio,
        duration=Fraction(placements[-1].end_frame) / edl.output.fps,
        frame_count=placements[-1].end_frame,
        fps=edl.output.fps,
    )


# ---- 1. each clip ---------------------------------------------------------------------------


def _samples(frame: int, edl: EDL) -> int:
    """The audio sample at an output frame boundary (so audio and video stay in step)."""
    return round(Fraction(frame) * edl.output.audio_rate / edl.output.fps)


def _clip_streams(b: _Builder, k: int, p: Placement) -> None:
    clip = p.clip
    source = b.sources[clip.media]
    read_for = clip.src_out - clip.src_in + SEEK_MARGIN * clip.speed
    # Every clip's decoder stays open for the whole render (ffmpeg opens all inputs up front): a
    # single-threaded one holds ~14 MB at 720p where a frame-threaded one holds ~22 MB, and only
    # one or two decode at a time while the encoder keeps the cores busy.
    decode = (["-hwaccel", "cuda"] if b.hwaccel else ["-threads", "1"]) if b.video else []
    index = b.add_input(source.path, *decode, "-ss", to_ffmpeg(clip.src_in), "-t", to_ffmpeg(read_for))
    if b.video:
        _clip_video(b, k, p, index)
    _clip_audio(b, k, p, index)


def _clip_video(b: _Builder, k: int, p: Placement, index: int) -> None:
    clip, out = p.clip, b.edl.output
    source = b.sources[clip.media]
    video = [f("setpts", "PTS-STARTPTS" if clip.speed == 1 else f"(PTS-STARTPTS)/{float(clip.speed):.6f}")]
    video += [f("fps", fps=format_time(out.fps))]
    video += _reframe(clip, source.info, out.width, out.height, out.background)
    video += [
        f("format", "yuv420p"),
        # Pad with the last frame, then cut at the exact count: a clip is never a frame short or long.
        f("tpad", stop_mode="clone", stop_duration=2),
        f("trim", end_frame=p.frame_count),
        f("setpts", "PTS-STARTPTS"),
    ]
    assert source.info.video is not None
    # Absolute stream indexes: the probe chose the stream (a cover picture is never "the video").
    b.add([f"{index}:{source.info.video.index}"], video, [f"v{k}"])


def _clip_audio(b: _Builder, k: int, p: Placement, index: int) -> None:
    clip, out = p.clip, b.edl.output
    source = b.sources[clip.media]

    samples = _samples(p.end_frame, b.edl) - _samples(p.start_frame, b.edl)
    layout = [f("aformat", sample_fmts="fltp", sample_rates=out.audio_rate, channel_layouts="stereo")]
    if source.info.audio is None or clip.mute:
        b.add([], [f("anullsrc", r=out.audio_rate, cl="stereo"), f("atrim", end_sample=samples), *layout], [f"a{k}"])
        return
    audio = [f("asetpts", "PTS-STARTPTS"), *_atempo(clip.speed), f("aresample", out.audio_rate), *layout]
    if clip.gain_db:
        audio.append(f("volume", f"{clip.gain_db}dB"))
    audio += [f("apad", whole_len=samples), f("atrim", end_sample=samples), f("asetpts", "PTS-STARTPTS")]
    b.add([f"{index}:{source.info.audio.index}"], audio, [f"a{k}"])


def _reframe(clip: Clip, info: MediaInfo, width: int, height: int, background: str) -> list[str]:
    """Crop (optional), then scale to fit (contain: pad; cover: crop the centre), square pixels."""
    assert info.video is not None
    display_w, display_h = info.video.display_size
    filters = []
    if clip.crop is not None:
        c = clip.crop
        filters.append(f("crop", w=f"iw*{c.w:.6f}", h=f"ih*{c.h:.6f}", x=f"iw*{c.x:.6f}", y=f"ih*{c.y:.6f}"))
        display_w, display_h = display_w * c.w, display_h * c.h
    cover = clip.fit == "cover"
    scale = (max if cover else min)(width / display_w, height / display_h)
    scaled_w = max(2, _even(display_w * scale))
    scaled_h = max(2, _even(display_h * scale))
    filters.append(f("scale", scaled_w, scaled_h, flags="bicubic"))
    filters.append(f("setsar", 1))
    if cover:
        filters.append(f("crop", width, height, (scaled_w - width) // 2, (scaled_h - height) // 2))
    elif (scaled_w, scaled_h) != (width, height):
        pad_color = background[:7]
        filters.append(f("pad", width, height, (width - scaled_w) // 2, (height - scaled_h) // 2, color=pad_color))
    return filters


def _even(value: float) -> int:
    return int(round(value / 2)) * 2


def _atempo(speed: Fraction) -> list[str]:
    """atempo takes 0.5..2 per instance; chain instances for speeds outside that."""
    filters, rest = [], float(speed)
    while rest > 2.0:
        filters.append(f("atempo", 2.0))
        rest /= 2.0
    while rest < 0.5:
        filters.append(f("atempo", 0.5))
        rest /= 0.5
    if abs(rest - 1.0) > 1e-9:
        filters.append(f("atempo", f"{rest:.6f}"))
    return filters


# ---- 2. joining -----------------------------------------------------------------------------


def _join(b: _Builder, placements: list[Placement]) -> tuple[str, str]:
    """Concatenate runs of cuts, then join the runs with their crossfades or dips."""
    runs: list[list[int]] = []
    for k, p in enumerate(placements):
        if k == 0 or p.clip.transition_in.kind != "cut":
            runs.append([k])
        else:
            runs[-1].append(k)

    joined: list[tuple[str, str]] = []
    for r, members in enumerate(runs):
        if len(members) == 1:
            joined.append((f"v{members[0]}", f"a{members[0]}"))
            continue
        if not b.video:
            b.add([f"a{k}" for k in members], [f("concat", n=len(members), v=0, a=1)], [f"run{r}a"])
            joined.append(("", f"run{r}a"))
            continue
        pads = [label for k in members for label in (f"v{k}", f"a{k}")]
        b.add(pads, [f("concat", n=len(members), v=1, a=1)], [f"run{r}cv", f"run{r}a"])
        # concat works in microseconds; blending needs both sides in the output frame timebase.
        b.add([f"run{r}cv"], [_frame_timebase(b)], [f"run{r}v"])
        joined.append((f"run{r}v", f"run{r}a"))

    video, audio = joined[0]
    for r in range(1, len(runs)):
        first = placements[runs[r][0]]
        previous_end = placements[runs[r - 1][-1]].end_frame
        overlap = previous_end - first.start_frame
        kind = "fadeblack" if first.clip.transition_in.kind == "dip" else "fade"
        if b.video:
            _blend_video(b, r, video, joined[r][0], first.start_frame, overlap, kind)
        overlap_samples = _samples(previous_end, b.edl) - _samples(first.start_frame, b.edl)
        b.add([audio, joined[r][1]], [f("acrossfade", ns=overlap_samples, c1="tri", c2="tri")], [f"x{r}a"])
        video, audio = f"x{r}v", f"x{r}a"
    return video, audio


def _blend_video(b: _Builder, r: int, outgoing: str, incoming: str, start: int, overlap: int, kind: str) -> None:
    """Join two runs, blending only the `overlap` frames where they meet.

    Only those frames go through a blend: the rest of both runs reaches the output untouched in
    yuv420p. (Handing whole runs to xfade, which accepts no chroma-subsampled format in ffmpeg
    5.1, made ffmpeg convert every frame of the cut to yuv444p and back, and run the overlays on
    yuv444p.) A crossfade is the incoming head, fading in through its alpha, laid over the
    outgoing tail: no yuv444p frames at all. A dip keeps xfade's fadeblack, on the overlap alone."""
    fps = b.edl.output.fps
    p = f"x{r}"
    b.add([outgoing], [f("split", 2)], [f"{p}o0", f"{p}o1"])
    b.add([f"{p}o0"], [f("trim", end_frame=start)], [f"{p}body"])
    b.add([f"{p}o1"], [f("trim", start_frame=start), f("setpts", "PTS-STARTPTS")], [f"{p}tail"])
    b.add([incoming], [f("split", 2)], [f"{p}i0", f"{p}i1"])
    b.add([f"{p}i0"], [f("trim", end_frame=overlap), f("setpts", "PTS-STARTPTS")], [f"{p}head"])
    b.add([f"{p}i1"], [f("trim", start_frame=overlap), f("setpts", "PTS-STARTPTS")], [f"{p}rest"])
    seconds = to_ffmpeg(Fraction(overlap) / fps)
    if kind == "fade":
        b.add([f"{p}head"], [f("format", "yuva420p"), f("fade", t="in", st=0, d=seconds, alpha=1)], [f"{p}fadein"])
        b.add([f"{p}tail", f"{p}fadein"], [f("overlay", format="yuv420", shortest=1)], [f"{p}mid"])
    else:
        b.add([f"{p}tail", f"{p}head"], [f("xfade", transition=kind, duration=seconds, offset=0), f("format", "yuv420p")], [f"{p}mid"])
    b.add(
        [f"{p}body", f"{p}mid", f"{p}rest"],
        [f("concat", n=3, v=1, a=0), _frame_timebase(b)],
        [f"{p}v"],
    )


def _frame_timebase(b: _Builder) -> str:
    fps = b.edl.output.fps
    return f("settb", f"{fps.denominator}/{fps.numerator}")


# ---- 3. overlays ----------------------------------------------------------------------------


def _overlays(b: _Builder, video: str) -> str:
    for i, overlay in enumerate(b.edl.overlays):
        if isinstance(overlay, TextOverlay):
            drawn = [_drawtext(b, overlay.text, overlay.start, overlay.end, overlay.position, overlay.size, overlay.color, overlay.box_color)]
        elif isinstance(overlay, Captions):
            drawn = _captions(b, overlay)
        else:
            video = _image(b, i, overlay, video)
            continue
        if drawn:
            b.add([video], drawn, [f"o{i}"])
            video = f"o{i}"
    return video


def _drawtext(
    b: _Builder,
    text: str,
    start: Fraction,
    end: Fraction,
    position: str,
    size: float,
    color: str,
    box_color: str | None,
    margin: float = 0.05,
) -> str:
    height = b.edl.output.height
    font_px = max(8, round(height * size))
    x, y = place_expression(position, round(height * margin))
    return f(
        "drawtext",
        fontfile=str(b.font) if b.font else None,
        expansion="none",
        text=clean_text(text),
        fontsize=font_px,
        fontcolor=color,
        line_spacing=round(font_px * 0.25),
        box=box_color is not None,
        boxcolor=box_color,
        boxborderw=round(font_px * 0.35) if box_color else None,
        x=x,
        y=y,
        enable=f"between(t,{to_ffmpeg(start)},{to_ffmpeg(end)})",
    )


def _captions(b: _Builder, captions: Captions) -> list[str]:
    position = {"bottom": "bottom", "top": "top", "center": "center"}[captions.position]
    return [
        _drawtext(
            b,
            wrap_lines(clean_text(cue.text), captions.max_chars_per_line),
            cue.start,
            cue.end,
            position,
            captions.size,
            captions.color,
            captions.box_color,
            margin=captions.margin,
        )
        for cue in captions.cues
    ]


def _image(b: _Builder, i: int, overlay: ImageOverlay, video: str) -> str:
    out = b.edl.output
    source = b.sources[overlay.media]
    assert source.info.video is not None
    src_w, src_h = source.info.video.display_size
    width = max(2, _even(out.width * overlay.width))
    height = max(2, _even(width * src_h / src_w))
    index = b.add_input(source.path)  # one decoded frame, held by overlay's eof_action=repeat
    b.add(
        [f"{index}:{source.info.video.index}"],
        [f("scale", width, height), f("format", "rgba"), f("colorchannelmixer", aa=f"{overlay.opacity:.4f}")],
        [f"img{i}"],
    )
    x, y = place_box(overlay.position, (out.width, out.height), (width, height), round(out.height * overlay.margin))
    b.add(
        [video, f"img{i}"],
        [f("overlay", x=x, y=y, eof_action="repeat", enable=f"between(t,{to_ffmpeg(overlay.start)},{to_ffmpeg(overlay.end)})")],
        [f"o{i}"],
    )
    return f"o{i}"


# ---- 4. audio -------------------------------------------------------------------------------


def _finish_audio(b: _Builder, speech: str, total_frames: int) -> str:
    out, music = b.edl.output, b.edl.music
    total_samples = _samples(total_frames, b.edl)
    mix = speech
    if music is not None:
        source = b.sources[music.media]
        loop = ["-stream_loop", "-1"] if music.loop else []
        index = b.add_input(source.path, *loop, "-ss", to_ffmpeg(music.src_in))
        total = Fraction(total_samples, out.audio_rate)
        bed = [
            f("aresample", out.audio_rate),
            f("aformat", sample_fmts="fltp", sample_rates=out.audio_rate, channel_layouts="stereo"),
            f("atrim", end_sample=total_samples),
            f("asetpts", "PTS-STARTPTS"),
            f("volume", f"{music.gain_db}dB"),
        ]
        if music.fade_in > 0:
            bed.append(f("afade", t="in", st=0, d=to_ffmpeg(music.fade_in)))
        if music.fade_out > 0:
            fade = min(music.fade_out, total)
            bed.append(f("afade", t="out", st=to_ffmpeg(total - fade), d=to_ffmpeg(fade)))
        assert source.info.audio is not None
        b.add([f"{index}:{source.info.audio.index}"], bed, ["bed"])
        if music.duck:
            b.add([speech], [f("asplit", 2)], ["speech", "key"])
            # Music drops by up to ~15 dB within 20 ms of speech and recovers over 400 ms.
            b.add(["bed", "key"], [f("sidechaincompress", threshold=0.02, ratio=8, attack=20, release=400)], ["ducked"])
            b.add(["speech", "ducked"], [f("amix", inputs=2, duration="first", normalize=0)], ["mix"])
        else:
            b.add([speech, "bed"], [f("amix", inputs=2, duration="first", normalize=0)], ["mix"])
        mix = "mix"
    if not b.video:
        return _probe_branches(b, mix)
    b.add(
        [mix],
        [
            *_normalise(b.loudness, out.true_peak_db),
            f("aresample", out.audio_rate),
            f("aformat", sample_fmts="fltp", channel_layouts="stereo"),
            f("apad", whole_len=total_samples),
            f("atrim", end_sample=total_samples),
        ],
        ["aout"],
    )
    return "aout"


def _normalise(loudness: LoudnessGain | None, true_peak_db: float) -> list[str]:
    if loudness is None or loudness.silent:
        return []  # nothing audible to normalise
    return _gain_and_limiter(loudness.gain_db, true_peak_db)


def _gain_and_limiter(gain_db: float, true_peak_db: float) -> list[str]:
    ceiling = 10 ** (true_peak_db / 20)
    return [
        f("volume", f"{gain_db:.2f}dB"),
        f("alimiter", limit=f"{ceiling:.4f}", attack=5, release=50, level="disabled"),
    ]


def _probe_branches(b: _Builder, mix: str) -> str:
    assert b.probe_dir is not None and b.probe_gains
    n = len(b.probe_gains)
    labels = [f"probe{i}" for i in range(n)]
    if n > 1:
        b.add([mix], [f("asplit", n)], labels)
    else:
        labels = [mix]
    for i, gain in enumerate(b.probe_gains):
        shaped = [] if gain is None else _gain_and_limiter(gain, b.edl.output.true_peak_db)
        measure = [
            f("ebur128", metadata=1),
            f("astats", metadata=1, measure_overall="Peak_level", measure_perchannel="none", reset=0),
            f("ametadata", mode="print", file=str(b.probe_dir / f"branch{i}.txt")),
        ]
        b.add([labels[i]], [*shaped, *measure], [f"measured{i}"])
    for i in range(n - 1):
        b.add([f"measured{i}"], ["anullsink"], [])
    return f"measured{n - 1}"
