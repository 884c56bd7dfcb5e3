"""Generated editing scenarios with known ground truth, for tests/test_score.py and bench/quality.py.

Each scenario is a folder of footage, a brief and the truth about it:
- speech: espeak-ng says each word on its own; the words are joined with 60 ms between them, a
  sentence's pause after it, and sometimes a long pause inside it (dead air) or a filler ("um"),
  so every word's start and end is known to the sample (`Truth.words`);
- sidecars: one SRT cue per sentence, as people write them (clipagent estimates the word times
  inside each cue, so the planner does not see the true times);
- pictures: lavfi sources at 320x180 (25 fps); b-roll files are several sources back to back, so
  the scene cuts fall on known frames (`Truth.cuts`);
- music: a click on every beat at a known tempo over a low drone (`Truth.beats`);
- the brief: must_include and avoid phrases that are said (or not) in known lines, a call to
  action said in the last line, a duration or none, a platform (16:9, 9:16 or 1:1) and a pace.

`build(scenario, folder)` writes it (skipped when the folder is already complete: the corpus is a
cache) and returns the `Truth`.
"""

from __future__ import annotations

import json
import random
import subprocess
import wave
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from clipagent.edl import EDL, Captions, TextOverlay
from clipagent.ffmpeg import find_ffmpeg
from clipagent.planning.base import PlanContext
from clipagent.planning.captions import caption_cues
from clipagent.planning.heuristic import CTA_WORDS
from clipagent.planning.text import file_for_path, terms, words_in

RATE = 22050
WORD_GAP = 0.06
FPS = 25
SIZE = "320x180"
VOICES = ("en-us", "en-us+f3")
SOURCES = ("testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "yuvtestsrc", "pal75bars", "life", "cellauto")


@dataclass
class Line:
    text: str
    pause: float = 0.5
    """Silence after the line, seconds."""
    filler: bool = False
    """An "um," before the line's second word."""
    dead_air: float = 0.0
    """A pause of this many seconds inside the line, after its third word."""


@dataclass
class Scenario:
    name: str
    kind: str
    """talking_head, interview, broll_music, voice_over or tighten."""
    topic: str
    lines: list[Line]
    must_include: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)
    cta: str | None = None
    duration: float | None = None
    platform: str = "youtube"
    pace: str = "medium"
    music: bool = False
    broll: int = 2
    """How many b-roll files (each three shots)."""
    body: str = ""


@dataclass
class TrueWord:
    file: str
    text: str
    start: float
    end: float
    filler: bool = False


@dataclass
class Truth:
    words: list[TrueWord]
    cuts: dict[str, list[float]]
    """Scene cut times per b-roll file."""
    beats: list[float]
    """Beat times of music.wav (empty without music)."""
    music_length: float = 0.0

    def words_of(self, file: str) -> list[TrueWord]:
        return [w for w in self.words if w.file == file]


def _say(text: str, voice: str, cache: dict) -> np.ndarray:
    """One word spoken by espeak-ng, its leading and trailing silence trimmed (int16 at RATE)."""
    key = (text, voice)
    if key not in cache:
        out = subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "--stdout", text], capture_output=True, check=True).stdout
        data = np.frombuffer(out[44:], dtype=np.int16)
        loud = np.flatnonzero(np.abs(data) > 400)
        cache[key] = data[loud[0] : loud[-1] + 1] if loud.size else data
    return cache[key]


def speak(lines: list[Line], voice: str, file: str, lead: float = 0.4) -> tuple[np.ndarray, list[TrueWord], list[tuple[float, float, str]]]:
    """The audio of `lines`, each word's truth, and one SRT cue per line."""
    cache: dict = {}
    pieces = [np.zeros(int(lead * RATE), dtype=np.int16)]
    t, words, cues = lead, [], []
    for line in lines:
        tokens = line.text.split()
        if line.filler and len(tokens) > 1:
            tokens = [tokens[0], "um,", *tokens[1:]]
        start = t
        for k, token in enumerate(tokens):
            audio = _say(token.strip(",.!?"), voice, cache)
            words.append(TrueWord(file=file, text=token, start=round(t, 4), end=round(t + len(audio) / RATE, 4),
                                  filler=token == "um,"))  # fmt: skip
            pieces.append(audio)
            t += len(audio) / RATE
            gap = WORD_GAP
            if line.dead_air and k == 2 + line.filler:
                gap = line.dead_air
            if k < len(tokens) - 1:
                pieces.append(np.zeros(int(gap * RATE), dtype=np.int16))
                t += int(gap * RATE) / RATE
        cues.append((start, t, " ".join(tokens)))
        pieces.append(np.zeros(int(line.pause * RATE), dtype=np.int16))
        t += int(line.pause * RATE) / RATE
    return np.concatenate(pieces), words, cues


def _write_wav(path: Path, data: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(data.tobytes())


def _srt(path: Path, cues: list[tuple[float, float, str]]) -> None:
    stamp = lambda t: f"{int(t // 3600):02d}:{int(t // 60 % 60):02d}:{int(t % 60):02d},{round(t % 1 * 1000) % 1000:03d}"  # noqa: E731
    path.write_text("\n".join(f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n" for n, (a, b, text) in enumerate(cues, 1)),
                    encoding="utf-8")  # fmt: skip


def _ffmpeg(*args: str) -> None:
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", *args], check=True)


def _talking_video(path: Path, wav: Path, seconds: float, source: str) -> None:
    _ffmpeg("-f", "lavfi", "-i", f"{source}=s={SIZE}:r={FPS}", "-i", str(wav), "-t", f"{seconds:.3f}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))  # fmt: skip


def _broll(path: Path, sources: list[str], seconds: list[float]) -> list[float]:
    """Sources back to back (no sound); returns the scene cut times (on frame boundaries)."""
    inputs: list[str] = []
    for source, length in zip(sources, seconds):
        inputs += ["-f", "lavfi", "-t", f"{length}", "-i", f"{source}=s={SIZE}:r={FPS}"]
    joined = "".join(f"[{i}:v]" for i in range(len(sources)))
    _ffmpeg(*inputs, "-filter_complex", f"{joined}concat=n={len(sources)}:v=1:a=0,format=yuv420p[v]", "-map", "[v]",
            "-c:v", "libx264", "-preset", "ultrafast", str(path))  # fmt: skip
    return [round(sum(seconds[:k]), 3) for k in range(1, len(seconds))]


def _music(path: Path, seconds: float, bpm: float) -> list[float]:
    beat = 60 / bpm
    expr = f"0.7*sin(2*PI*880*t)*exp(-40*mod(t\\,{beat}))+0.15*sin(2*PI*110*t)"
    _ffmpeg("-f", "lavfi", "-i", f"aevalsrc={expr}:s=44100:d={seconds}", "-c:a", "pcm_s16le", str(path))
    return [round(k * beat, 4) for k in range(int(seconds / beat) + 1)]


def brief_text(s: Scenario) -> str:
    front = {"title": s.name, "platform": s.platform, "pace": s.pace, "captions": "on"}
    if s.duration is not None:
        front["duration"] = s.duration
    if s.music:
        front["music"] = "music.wav"
    if s.cta:
        front["cta"] = s.cta
    if s.must_include:
        front["must_include"] = s.must_include
    if s.avoid:
        front["avoid"] = s.avoid
    lines = ["---"] + [f"{k}: {json.dumps(v)}" for k, v in front.items()] + ["---", "", f"# {s.name}", "", s.body]
    return "\n".join(lines) + "\n"


def build(s: Scenario, folder: Path) -> Truth:
    """Write the scenario's media/ and brief.md under `folder` (once) and return its truth."""
    done = folder / "truth.json"
    if done.is_file():
        data = json.loads(done.read_text())
        return Truth(words=[TrueWord(**w) for w in data["words"]], cuts=data["cuts"], beats=data["beats"],
                     music_length=data["music_length"])  # fmt: skip
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    words: list[TrueWord] = []
    cuts: dict[str, list[float]] = {}
    speakers = 2 if s.kind == "interview" else (1 if s.kind in ("talking_head", "tighten", "voice_over") else 0)
    for n in range(speakers):
        lines = s.lines[n::speakers] if speakers > 1 else s.lines
        name = f"speaker{n + 1}" if s.kind != "voice_over" else "voice"
        audio, truth, cues = speak(lines, VOICES[n % 2], f"{name}.{'wav' if s.kind == 'voice_over' else 'mp4'}")
        wav = folder / f"{name}.wav"
        _write_wav(wav if s.kind != "voice_over" else media / f"{name}.wav", audio)
        seconds = len(audio) / RATE + 0.3
        if s.kind != "voice_over":
            _talking_video(media / f"{name}.mp4", wav, seconds, SOURCES[n])
            wav.unlink()
        _srt(media / f"{name}.srt", cues)
        words += truth
    for b in range(s.broll):
        sources = [SOURCES[(2 + b * 3 + k) % len(SOURCES)] for k in range(3)]
        lengths = [2.4 + 0.4 * ((b + k) % 3) for k in range(3)]
        name = f"broll_{s.topic}_{b + 1}.mp4"
        cuts[name] = _broll(media / name, sources, lengths)
    beats, length = [], 0.0
    if s.music:
        length = 24.0
        beats = _music(media / "music.wav", length, 120.0)
    (folder / "brief.md").write_text(brief_text(s), encoding="utf-8")
    truth = Truth(words=words, cuts=cuts, beats=beats, music_length=length)
    done.write_text(json.dumps(asdict(truth)))
    return truth


# ---- the corpus -------------------------------------------------------------------------------

TOPICS: dict[str, dict] = {
    "sourdough": dict(
        lines=[Line("Here is how to bake sourdough bread at home."), Line("First you feed the starter the night before.", filler=True),
               Line("Mix flour and water into a rough dough.", pause=1.2), Line("Let the dough rest for four hours.", dead_air=1.1),
               Line("Add plenty of salt to the dough."), Line("Bake it hot in a covered pot."),
               Line("Subscribe for more baking tips.", pause=0.8)],
        must=["feed the starter"], avoid=["salt"], cta="Subscribe for more baking tips",
        body="A short sourdough bread lesson for home bakers: starter, dough, bake."),
    "bicycle": dict(
        lines=[Line("This is how to fix a flat bicycle tire."), Line("Take the wheel off the frame first.", pause=1.0),
               Line("Find the hole in the tube with water.", filler=True), Line("Patch the tube and let the glue dry.", dead_air=1.3),
               Line("Never ride on a cheap patch kit."), Line("Pump the tire back up and ride."),
               Line("Follow us for more repair videos.", pause=0.8)],
        must=["patch the tube"], avoid=["cheap patch kit"], cta="Follow us for more repair videos",
        body="A quick bicycle repair guide: the tire, the tube, the patch."),
    "garden": dict(
        lines=[Line("Grow tomatoes on a small balcony garden."), Line("Pick a deep pot with good drainage.", dead_air=1.0),
               Line("Water the plants early every morning.", filler=True), Line("Tie the stems to a stake as they grow.", pause=1.4),
               Line("Spray the leaves with strong poison."), Line("Harvest the tomatoes when they are red."),
               Line("Visit our site for seed packs.", pause=0.8)],
        must=["water the plants"], avoid=["poison"], cta="Visit our site for seed packs",
        body="Balcony garden tomatoes for beginners: pots, water, stakes, harvest."),
    "coffee": dict(
        lines=[Line("Brew better coffee with a simple pour over."), Line("Grind the beans just before you brew.", filler=True),
               Line("Heat the water to ninety degrees.", dead_air=1.2), Line("Pour slowly in small circles.", pause=1.1),
               Line("Instant powder tastes just as good."), Line("Let it drip for three minutes."),
               Line("Try our beans today.", pause=0.8)],
        must=["grind the beans"], avoid=["instant powder"], cta="Try our beans today",
        body="Pour over coffee at home: beans, grind, water, pour."),
    "rocket": dict(
        lines=[Line("We built a small water rocket in one afternoon."), Line("Cut the bottle and add three fins.", pause=1.0),
               Line("Fill it a third full with water.", filler=True), Line("Pump air into the bottle until it launches.", dead_air=1.0),
               Line("Point it at your neighbour for fun."), Line("It flew higher than the school roof."),
               Line("Join our science club this week.", pause=0.8)],
        must=["add three fins"], avoid=["neighbour"], cta="Join our science club",
        body="A water rocket science project for kids: bottle, fins, water, air, launch."),
}
KINDS = ("talking_head", "interview", "broll_music", "voice_over")
PLATFORMS = ("youtube", "shorts", "square")


def corpus() -> list[Scenario]:
    """22 scenarios: each topic as a talking head, an interview, b-roll with music and a voice-over
    (platforms, durations and paces varied), and two "tighten" talks without a duration."""
    found = []
    for t, (topic, spec) in enumerate(TOPICS.items()):
        for k, kind in enumerate(KINDS):
            n = len(found)
            talk = kind != "broll_music"
            found.append(Scenario(
                name=f"{topic}-{kind}", kind=kind, topic=topic, lines=spec["lines"],
                must_include=spec["must"] if talk else [], avoid=spec["avoid"] if talk else [],
                cta=spec["cta"], duration=None if (n % 3 == 2 and talk) else (12.0 if kind == "broll_music" else 14.0 + t),
                platform=PLATFORMS[n % 3], pace=("medium", "fast", "slow")[(t + k) % 3] if kind == "broll_music" else "medium",
                music=kind in ("broll_music", "talking_head") and t % 2 == 0 or kind == "broll_music",
                broll={"broll_music": 3, "voice_over": 4}.get(kind, 2), body=spec["body"],
            ))  # fmt: skip
    for topic in ("sourdough", "coffee"):
        spec = TOPICS[topic]
        found.append(Scenario(name=f"{topic}-tighten", kind="tighten", topic=topic, lines=spec["lines"], broll=0,
                              must_include=spec["must"], platform="youtube",
                              body=spec["body"] + " Tighten it: cut the dead air and keep all of the speech."))  # fmt: skip
    return found


# ---- damaged versions of a cut (tests/test_score.py, bench/quality.py) ----------------------

DAMAGES = ("shuffled", "cuts inside words", "dead air back", "call to action removed", "jump cut")



def _recaptioned(edl: EDL, context: PlanContext) -> EDL:
    """The captions a cut of these clips would have (a damaged cut is captioned fairly)."""
    files = {ref.id: file_for_path(context.index, ref.path) for ref in edl.media}
    overlays = []
    for o in edl.overlays:
        if isinstance(o, Captions):
            o = o.model_copy(update={"cues": caption_cues(edl, files, o.max_chars_per_line)})
        overlays.append(o)
    return edl.model_copy(update={"overlays": overlays})


def _words(edl: EDL, context: PlanContext, clip):
    return words_in(file_for_path(context.index, edl.media_by_id()[clip.media].path), clip.src_in, clip.src_out)


def damage(kind: str, edl: EDL, context: PlanContext, rng: random.Random) -> EDL | None:
    clips = list(edl.clips)
    if kind == "shuffled":
        if len(clips) < 2:
            return None
        order = list(range(len(clips)))
        while order == sorted(order) or order[0] == 0:
            rng.shuffle(order)
        clips = [clips[k] for k in order]
    elif kind == "cuts inside words":
        spoken = [k for k, c in enumerate(clips) if _words(edl, context, c)]
        for k in spoken[:2]:
            word = _words(edl, context, clips[k])[0]
            clips[k] = clips[k].model_copy(update={"src_in": (word.start + word.end) / 2})
    elif kind == "dead air back":
        pairs = [k for k in range(1, len(clips)) if clips[k].media == clips[k - 1].media
                 and Fraction(3, 10) < clips[k].src_in - clips[k - 1].src_out < 3]  # fmt: skip
        for k in reversed(pairs):
            clips[k - 1 : k + 1] = [clips[k - 1].model_copy(update={"src_out": clips[k].src_out})]
        if not pairs:  # no pause was cut out inside a line: put back the pauses around the lines
            for k, clip in enumerate(clips):
                file = file_for_path(context.index, edl.media_by_id()[clip.media].path)
                words = file.transcript.words if file and file.transcript else []
                before = [w.end for w in words if w.end <= clip.src_in and clip.src_in - w.end > Fraction(3, 10)]
                after = [w.start for w in words if w.start >= clip.src_out and w.start - clip.src_out > Fraction(3, 10)]
                if _words(edl, context, clip) and (before or after):
                    clips[k] = clip.model_copy(update={"src_in": before[-1] + Fraction(1, 50) if before else clip.src_in,
                                                       "src_out": after[0] - Fraction(1, 50) if after else clip.src_out})
                    pairs.append(k)
        if not pairs:
            return None
    elif kind == "call to action removed":
        closing = set(terms(context.brief.cta or "")) | CTA_WORDS
        clips = [c for c in clips if not set(terms(" ".join(w.text for w in _words(edl, context, c)))) & closing]
        cta = context.brief.cta or ""
        overlays = [o for o in edl.overlays if not (isinstance(o, TextOverlay) and o.text == cta)]
        card = {"end_card": None} if "end_card" in EDL.model_fields else {}  # the end card slate (issue 11)
        edl = edl.model_copy(update={"overlays": overlays, **card})
    elif kind == "jump cut":
        k = max(range(len(clips)), key=lambda k: (len(_words(edl, context, clips[k])), clips[k].duration))
        words = _words(edl, context, clips[k])
        if len(words) < 3:
            return None
        skip = words[len(words) // 2]  # one word out of the middle: the same shot jumps on
        clips[k : k + 1] = [clips[k].model_copy(update={"src_out": skip.start}),
                            clips[k].model_copy(update={"id": "jump", "src_in": skip.end})]  # fmt: skip
    if not clips or (clips == list(edl.clips) and kind != "call to action removed"):
        return None  # the damage does not apply to this cut
    return _recaptioned(edl.model_copy(update={"clips": clips}), context)
