"""Compile a valid EDL into ffmpeg invocations: inputs and filtergraphs. Pure: no I/O.

A render is two ffmpeg passes:
  1. the mix (`compile_mix`), audio only: every clip's sound, seeked with -ss/-t, made stereo at
     the output rate and cut or padded to its exact sample count; the clips joined by cuts,
     crossfades and dips; the music bed ducked under them. The mix goes to a float WAV, and a
     branch of it measures its integrated loudness and peak;
  2. the render (`compile_render`), one encoding process and one filtergraph: each clip's picture
     converted and normalised to the output (clips.py) and cut to its exact frame count; joined
     the same way; the overlays drawn over it; and the mixed WAV with one gain and a true-peak
     limiter, chosen from the measurement so the cut lands on the target loudness.

A timeline with more clips than one process should open (segments.py) has its clips' pictures
(or sounds) made by one `compile_segment` process per segment, piped in order into the pass's
stdin as raw frames (or samples); the pass then reads `pipe:0` instead of the clips.

The sound is decoded and mixed once, and the render does not redo it. Where the limiter has to
work, `compile_limiter_probe` measures candidate gains on the mixed WAV; `compile_sound_probe`
gives the render's sound alone, which run.py encodes as the render does to measure the true peak
the AAC encoder leaves (render/loudness.py); the render pass then muxes that encoding as it is
(`compile_render`'s `encoded_sound`), so the sound is encoded once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from ..edl import EDL, Captions, ImageOverlay, Placement, TextOverlay, place_clips
from ..ffmpeg import file_url
from ..timebase import format_time, to_ffmpeg
from .builder import Builder, CompiledGraph, Namespace, Source, samples_at
from .endcard import draw_titles
from .clips import OUTPUT_COLOUR, clip_audio, clip_video, even, stereo_downmix
from .encoders import AAC_PRIMING_SAMPLES
from .filters import clean_text, f
from .loudness import SILENCE_LUFS, TRUE_PEAK_OVERSAMPLING
from .segments import Segment
from .captions import CaptionTrack, ass_filter
from .text import place_box, place_expression

__all__ = ["CompiledGraph", "LoudnessGain", "Source", "compile_limiter_probe", "compile_mix", "compile_render",
           "compile_segment", "compile_sound_probe", "raw_audio_input", "raw_video_input"]  # fmt: skip



@dataclass(frozen=True)
class LoudnessGain:
    """The gain that brings the mix (after the peak limiter) to the target loudness."""

    gain_db: float
    measured_lufs: float
    """The mix before the gain. EBU R128 gates everything under -70 LUFS, and ebur128 then
    reports exactly -70: that is silence or a bare noise floor, and no gain applies."""
    capped_from_db: float | None = None
    """The gain the target asked for, where the room-tone cap (run.py) lowered it; else None."""
    limit_db: float | None = None
    """The limiter's ceiling in dBTP, on the 4x oversampled sound: the output's `true_peak_db`
    less the headroom the encoded sound was measured to need (loudness.py); None: `true_peak_db`."""
    encoded_true_peak_db: float | None = None
    """The true peak of the sound as the render encodes it (AAC, decoded, ebur128), measured
    before the render (run.py); None where it was not measured (a silent mix, a dry run)."""

    @property
    def silent(self) -> bool:
        return self.measured_lufs <= SILENCE_LUFS


def raw_video_input(edl: EDL) -> list[str]:
    """Input options for a segment's raw frames on stdin (what `compile_segment` writes)."""
    out = edl.output
    return ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{out.width}x{out.height}",
            "-framerate", format_time(out.fps), "-i", "pipe:0"]  # fmt: skip


def raw_audio_input(edl: EDL, ffmpeg_major: int) -> list[str]:
    """Input options for segments' raw float stereo samples on stdin."""
    channels = ["-ch_layout", "stereo"] if ffmpeg_major >= 7 else ["-ac", "2"]
    return ["-f", "f32le", "-ar", str(edl.output.audio_rate), *channels, "-i", "pipe:0"]


def compile_segment(
    edl: EDL,
    sources: dict[str, Source],
    placements: list[Placement],
    segment: Segment,
    *,
    video: bool,
    hwaccel: bool = False,
) -> CompiledGraph:
    """One segment's clips, joined: the picture (yuv420p at the output size, exactly its frames)
    or the sound (stereo float, exactly its samples), at `video_label` or `audio_label`.
    `placements`: the whole timeline's, from `place_clips(edl)`."""
    b = Builder(edl, sources, video=video, hwaccel=hwaccel, origin=segment.start_frame)
    placements = placements[segment.first : segment.end]
    for k, placement in enumerate(placements):
        (clip_video if video else clip_audio)(b, k, placement)
    joined = _join(b, placements)
    return b.compiled(video_label=joined if video else None, audio_label=None if video else joined)


def compile_mix(
    edl: EDL,
    sources: dict[str, Source],
    report: Path,
    *,
    piped: bool = False,
    ffmpeg_major: int = 5,
    placements: list[Placement] | None = None,
) -> CompiledGraph:
    """Pass 1: the cut's whole sound, at `audio_label` (the caller writes it to a WAV). A branch
    logs the mix's running loudness and peak to `report`; its last line holds the totals.
    `piped`: the clips' sound arrives on stdin from `compile_segment` processes."""
    b = Builder(edl, sources, video=False)
    placements = placements or place_clips(edl)
    if piped:
        index = b.add_raw_input(*raw_audio_input(edl, ffmpeg_major))
        b.add([f"{index}:a:0"], [f("aformat", sample_fmts="fltp", channel_layouts="stereo")], ["clips"])
        speech = "clips"
    else:
        for k, placement in enumerate(placements):
            clip_audio(b, k, placement)
        speech = _join(b, placements)
    total_samples = b.samples(placements[-1].end_frame)
    mix = _add_music(b, speech, total_samples)
    exact_length = [f("apad", whole_len=total_samples), f("atrim", end_sample=total_samples)]
    b.add([mix], [*exact_length, f("asplit", 2)], ["mix", "tap"])
    b.add(["tap"], [*_measure(report, edl.output.audio_rate), "anullsink"], [])
    return b.compiled(video_label=None, audio_label="mix")


def compile_limiter_probe(edl: EDL, mix: Path, gains: list[float], report_dir: Path, limit_db: float) -> CompiledGraph:
    """The mixed WAV through each candidate gain and the render's limiter at `limit_db`; branch i
    logs its running loudness and peak to `report_dir/limit{i}.txt`.

    The probes limit at the output's rate, not oversampled as the render does: they measure only
    the loudness the limiter costs, which a sample-peak limiter at the same ceiling costs nearly
    alike (bench/README.md, "True peak after encoding": the render's loudness error stayed within
    the platforms' tolerance), at a quarter of the samples. The true peak is measured where it
    matters, on the encoded sound (run.py)."""
    b = Builder(edl, {}, video=False)
    index = b.add_input(mix)
    labels = [f"candidate{i}" for i in range(len(gains))]
    b.add([f"{index}:a:0"], [f("asplit", len(gains))], labels)
    for i, gain in enumerate(gains):
        limited = [f("volume", f"{gain:.3f}dB"), _limiter(limit_db)]
        b.add([labels[i]], [*limited, *_measure(report_dir / f"limit{i}.txt", edl.output.audio_rate)], [f"measured{i}"])
    for i in range(len(gains) - 1):
        b.add([f"measured{i}"], ["anullsink"], [])
    return b.compiled(video_label=None, audio_label=f"measured{len(gains) - 1}")


def compile_render(
    edl: EDL,
    sources: dict[str, Source],
    mix: Path,
    loudness: LoudnessGain,
    *,
    font: Path | None = None,
    hwaccel: bool = False,
    piped: bool = False,
    placements: list[Placement] | None = None,
    captions: dict[int, CaptionTrack] | None = None,
    namespace: Namespace | None = None,
    encoded_sound: Path | None = None,
) -> CompiledGraph:
    """Pass 2: the picture of every clip, joined and overlaid, and the mixed WAV from pass 1 with
    the gain that `loudness` asks for. `sources` maps every media id to its file and probe.
    `encoded_sound`: that sound already encoded (run.py encodes it to measure its true peak; an
    MP4 keeps the encoder's packets, timestamps and last packet's length): the graph then has no
    sound, and `audio_copy` names the stream the render muxes as it is.
    `piped`: the clips' pictures arrive on stdin as raw frames from `compile_segment` processes.
    `captions`: the ASS file of each Captions overlay, by overlay index (`write_caption_tracks`);
    the overlays draw over the whole joined cut, so their times are the output timeline's.
    `namespace`: this output's part of a process that renders several (render/multi.py)."""
    b = Builder(edl, sources, video=True, font=font, hwaccel=hwaccel, caption_tracks=captions or {}, namespace=namespace)
    placements = placements or place_clips(edl)
    if piped:
        index = b.add_raw_input(*raw_video_input(edl))
        b.add([f"{index}:v:0"], [f("setsar", 1)], ["clips"])
        joined = "clips"
    else:
        for k, placement in enumerate(placements):
            clip_video(b, k, placement)
        joined = _join(b, placements)
    video = draw_titles(b, _overlays(b, joined), placements[-1].end_frame)
    b.add([video], [f("setparams", **OUTPUT_COLOUR)], ["vout"])
    if encoded_sound is not None:
        index = b.add_input(encoded_sound)
        return replace(b.compiled(video_label="vout", audio_label=None), audio_copy=f"{index}:a:0")
    index = b.add_input(mix)
    b.add([f"{index}:a:0"], _sound(edl, loudness, b.samples(placements[-1].end_frame)), ["aout"])
    return b.compiled(video_label="vout", audio_label="aout")


def compile_sound_probe(edl: EDL, mix: Path, loudness: LoudnessGain) -> CompiledGraph:
    """The render's sound alone, at `audio_label`: the mixed WAV through exactly the filters
    `compile_render` applies, so that encoded with the render's AAC settings (deterministic) it
    gives the same packets the render will write, and their true peak can be measured first."""
    b = Builder(edl, {}, video=False)
    index = b.add_input(mix)
    b.add([f"{index}:a:0"], _sound(edl, loudness, b.samples(place_clips(edl)[-1].end_frame)), ["aout"])
    return b.compiled(video_label=None, audio_label="aout")


def _sound(edl: EDL, loudness: LoudnessGain, total_samples: int) -> list[str]:
    """The mixed WAV's filters in the render: gain and limiter, the output's rate and layout, its
    exact length, the encoder's priming samples taken off its head."""
    return [
        *_normalise(loudness, edl.output.true_peak_db, edl.output.audio_rate),
        f("aresample", edl.output.audio_rate),
        f("aformat", sample_fmts="fltp", channel_layouts="stereo"),
        f("apad", whole_len=total_samples),
        # The encoder's priming packet takes the place of the mix's first samples: no edit list
        # skips it (encoders.AAC_PRIMING_SAMPLES), so sound and picture stay in step.
        f("atrim", start_sample=min(AAC_PRIMING_SAMPLES, total_samples - 1), end_sample=total_samples),
    ]


def _samples(frame: int, edl: EDL) -> int:  # the sample at an output frame boundary
    return samples_at(frame, edl)


# ---- 2. joining -----------------------------------------------------------------------------


def _join(b: Builder, placements: list[Placement]) -> str:
    """Concatenate runs of cuts, then join the runs with their crossfades or dips: the clips'
    pictures in the render pass, their sound in the mix pass."""
    runs: list[list[int]] = []
    for k, p in enumerate(placements):
        if k == 0 or p.clip.transition_in.kind != "cut":
            runs.append([k])
        else:
            runs[-1].append(k)

    joined: list[str] = []
    for r, members in enumerate(runs):
        if len(members) == 1:
            joined.append(f"{'v' if b.video else 'a'}{members[0]}")
        elif b.video:
            b.add([f"v{k}" for k in members], [f("concat", n=len(members), v=1, a=0)], [f"run{r}cv"])
            # concat works in microseconds; blending needs both sides in the output frame timebase.
            b.add([f"run{r}cv"], [_frame_timebase(b)], [f"run{r}v"])
            joined.append(f"run{r}v")
        else:
            b.add([f"a{k}" for k in members], [f("concat", n=len(members), v=0, a=1)], [f"run{r}a"])
            joined.append(f"run{r}a")

    stream = joined[0]
    for r in range(1, len(runs)):
        first = placements[runs[r][0]]
        previous_end = placements[runs[r - 1][-1]].end_frame
        if b.video:
            kind = "fadeblack" if first.clip.transition_in.kind == "dip" else "fade"
            start = first.start_frame - b.origin  # frames into this graph's stream
            _blend_video(b, r, stream, joined[r], start, previous_end - first.start_frame, kind)
            stream = f"x{r}v"
        else:
            overlap_samples = _samples(previous_end, b.edl) - _samples(first.start_frame, b.edl)
            b.add([stream, joined[r]], [f("acrossfade", ns=overlap_samples, c1="tri", c2="tri")], [f"x{r}a"])
            stream = f"x{r}a"
    return stream


def _blend_video(b: Builder, r: int, outgoing: str, incoming: str, start: int, overlap: int, kind: str) -> None:
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


def _frame_timebase(b: Builder) -> str:
    fps = b.edl.output.fps
    return f("settb", f"{fps.denominator}/{fps.numerator}")


# ---- 3. overlays ----------------------------------------------------------------------------


def _overlays(b: Builder, video: str) -> str:
    for i, overlay in enumerate(b.edl.overlays):
        if isinstance(overlay, TextOverlay) and i in b.caption_tracks:  # libass, with the captions' font fallback
            drawn = [ass_filter(b.caption_tracks[i])]
        elif isinstance(overlay, TextOverlay):
            drawn = [_drawtext(b, overlay.text, overlay.start, overlay.end, overlay.position, overlay.size, overlay.color, overlay.box_color)]
        elif isinstance(overlay, Captions):
            if not overlay.cues:
                continue
            if i not in b.caption_tracks:
                raise ValueError(f"overlays[{i}]: no ASS file was written for these captions (write_caption_tracks)")
            drawn = [ass_filter(b.caption_tracks[i])]
        else:
            video = _image(b, i, overlay, video)
            continue
        if drawn:
            b.add([video], drawn, [f"o{i}"])
            video = f"o{i}"
    return video


def _drawtext(
    b: Builder,
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
        fontfile=os.path.abspath(b.font) if b.font else None,  # FreeType opens it: a plain path
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


def _image(b: Builder, i: int, overlay: ImageOverlay, video: str) -> str:
    out = b.edl.output
    source = b.sources[overlay.media]
    assert source.info.video is not None
    src_w, src_h = source.info.video.display_size
    width = max(2, even(out.width * overlay.width))
    height = max(2, even(width * src_h / src_w))
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


def _add_music(b: Builder, speech: str, total_samples: int) -> str:
    """The music bed, ducked under the clips' sound when asked, mixed in; or the sound alone."""
    out, music = b.edl.output, b.edl.music
    if music is None:
        return speech
    source = b.sources[music.media]
    loop = ["-stream_loop", "-1"] if music.loop else []
    index = b.add_input(source.path, *loop, "-ss", to_ffmpeg(music.src_in))
    total = Fraction(total_samples, out.audio_rate)
    # first_pts=0: the bed keeps its file's clock, as a clip does (clips.py's module note). Sound
    # that starts after its file (a music video's audio 1.5 s after the picture) gets silence before
    # it, so the bed's second T plays at cut second T - src_in: where the analysis timed its beats
    # (from the file's start, audio_decode.py) and the planner put cuts on them (beats.py).
    bed = [
        *stereo_downmix(source.info.audio.channels if source.info.audio else 2),
        f("aresample", out.audio_rate, first_pts=0),
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
    if not music.duck:
        b.add([speech, "bed"], [f("amix", inputs=2, duration="first", normalize=0)], ["withmusic"])
        return "withmusic"
    b.add([speech], [f("asplit", 2)], ["speech", "key"])
    # Music drops by up to ~15 dB within 20 ms of speech and recovers over 400 ms.
    b.add(["bed", "key"], [f("sidechaincompress", threshold=0.02, ratio=8, attack=20, release=400)], ["ducked"])
    b.add(["speech", "ducked"], [f("amix", inputs=2, duration="first", normalize=0)], ["withmusic"])
    return "withmusic"


def _normalise(loudness: LoudnessGain, true_peak_db: float, audio_rate: int) -> list[str]:
    if loudness.silent:
        return []  # nothing audible to normalise
    limit = true_peak_db if loudness.limit_db is None else loudness.limit_db
    return _gain_and_limiter(loudness.gain_db, limit, audio_rate)


def _gain_and_limiter(gain_db: float, limit_db: float, audio_rate: int) -> list[str]:
    """The make-up gain, then a true-peak limiter at `limit_db` dBTP: `alimiter` is a sample-peak
    limiter, so it runs on the sound oversampled TRUE_PEAK_OVERSAMPLING (4) times, where the
    samples trace the peaks between the output's samples (ITU-R BS.1770-4 Annex 2: 4x
    oversampling estimates the true peak of a 48 kHz signal), and the sound is brought back to
    the output's rate after it. Without it, peaks between samples passed the ceiling before any
    encoding (the limited WAV, measured with ebur128: full-scale clicks 1.1 dB over it, a film's
    soundtrack 0.1 dB); the AAC encoder's own overshoot is run.py's to measure and leave room for."""
    return [f("volume", f"{gain_db:.3f}dB"), f("aresample", audio_rate * TRUE_PEAK_OVERSAMPLING),
            _limiter(limit_db), f("aresample", audio_rate)]  # fmt: skip


def _limiter(limit_db: float) -> str:
    """`alimiter` (a sample-peak limiter) at `limit_db` dBFS on the samples it is given."""
    return f("alimiter", limit=f"{10 ** (limit_db / 20):.5f}", attack=5, release=50, level="disabled")


def _measure(report: Path, audio_rate: int) -> list[str]:
    """Pass-through filters that log the running integrated loudness and peak to `report`, once
    a second: one-second frames change nothing measured, and keep the log ~50× shorter."""
    return [
        f("asetnsamples", n=audio_rate, p=0),
        f("ebur128", metadata=1),
        f("astats", metadata=1, measure_overall="Peak_level", measure_perchannel="none", reset=0),
        f("ametadata", mode="print", file=file_url(report)),
    ]
