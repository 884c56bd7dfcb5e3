"""The heuristic planner: offline, deterministic, and a real planner.

1. Candidates (segments.py): spoken sentences with fillers and dead air cut out, every cut on a
   word boundary; without words, speech regions (voice activity) played whole; b-roll shots in
   windows sized by the pace. The length (length.py): the brief's duration, or one from the content
   and the brief's intent ("tighten": all the speech, in order).
2. Score and choose (select.py): relevance to the brief (must-haves, the body's key terms, CLIP
   when it is available, "more of" subjects) and shot quality; a knapsack under the target with
   what is forced in (forced.py: the must-have lines and a variant's hook, kept whole; cutaways,
   one per CUTAWAY_EVERY seconds of the pace, which give way first) and b-roll filling the rest
   to land on the target; what must play and cannot fit is a PlanError that says so.
3. Order: the hook (the line that best names what the body is about, short, ideally an opener)
   first; the body in source order for a coherent story; a line with the call to action last;
   b-roll as cutaways after the hook and between lines, and one under the end card.
4. Assemble (assemble.py): clips, captions from the words played, logo, end card, music.
5. Review (review.py) and repair: clips the review objects to (a cut inside a word, an avoided
   word) are dropped and the plan is made again, for up to `max_rounds` rounds.

Same inputs, same EDL: every choice breaks ties by source order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

from ..edl import timeline_duration
from ..errors import BadInputError, PlanError
from ..listing import quoted
from ..presets import load_defaults, load_scoring
from ..timebase import MAX_CUT_SECONDS
from .assemble import Draft, Tweaks, assemble
from .base import Decision, Plan, PlanContext, RankedPlan, Round
from .feedback import STICKY, Feedback, UnsupportedFeedback, parse_feedback
from .hooks import choose_opener
from .review import TextEmbedder, review_edl
from .length import Length, choose_length
from .pace_fit import fit_pace, floor_seconds
from .segments import MAX_GAP, Candidate, VoiceOver, extract_candidates, voice_overs
from .forced import check_fits, forced_material
from .select import TOLERANCE, Scored, Selection, choose, forced_seconds, score
from .text import file_for_path, normal_path, says_term, terms

MAX_ROUNDS = 3
HOOK_LINE = Fraction(7, 2)
"""An opening line longer than this loses hook score (the first seconds should land a line)."""
CTA_WORDS = frozenset(terms("subscribe follow link download sign visit try buy shop join"))
FEEDBACK = "feedback: "
PACES = ("slow", "medium", "fast")


@dataclass
class Work:
    """Best-of-N's planning work, counted in plan-check rounds: one draft of the cut and its review,
    the unit every candidate plan repeats (the extraction of the footage is shared, and each plan
    made is scored once, as the single plan is). The default plan runs as many rounds as it needs
    (up to `max_rounds`) and sets `budget` to N times them; a variant starts no round past it, so N
    candidates cost at most N times one plan whatever repairs the variants would want. Counting
    rounds, not seconds, keeps the bound, and so the plans made, the same on every run."""

    rounds: int = 0
    """Rounds run so far, by every candidate (a variant that fails or repeats an earlier EDL included)."""
    budget: int | None = None
    """The most rounds in all (None until the default plan is made)."""

    def left(self) -> bool:
        return self.budget is None or self.rounds < self.budget


@dataclass(frozen=True)
class Variant:
    """How one of best-of-N's candidate plans differs from the default plan (variant 0)."""

    name: str = "default"
    hook_rank: int = 0
    """0: the best hook line (hook_score); 1: the second best; ..."""
    dropped: frozenset[str] = frozenset()
    """Candidates left out of the choice (the default plan's weakest line, its best b-roll piece)."""
    short_lines: bool = False
    """Shorter lines rate higher: more, shorter lines in the same length (a brisker cut)."""
    broll_in_source_order: bool = False
    """B-roll chosen and placed in the footage's order rather than best-rated first."""


class HeuristicPlanner:
    """`embed_text` embeds a query with the CLIP model of the index's embeddings (None: words only)."""

    name = "heuristic"

    def __init__(self, embed_text: TextEmbedder | None = None, max_rounds: int = MAX_ROUNDS, candidates: int = 1) -> None:
        self.embed_text = embed_text
        self.max_rounds = max(1, max_rounds)
        self.candidates = max(1, candidates)
        """Best-of-N: how many different plans to make; the best by score (planning/score.py) wins."""

    def plan(self, context: PlanContext) -> Plan:
        return self._best(context, Tweaks(), "plan", [])

    def revise(self, context: PlanContext, previous: Plan, feedback: str) -> Plan:
        """`previous` changed per `feedback` (one of feedback.SUPPORTED). Lengths are relative to the
        previous cut; sticky forms of earlier revisions (drop, more, end on the logo, pace), found
        in `previous.decisions`, still apply."""
        forms = parse_feedback(feedback)
        earlier = [
            form
            for d in previous.decisions
            if d.clip_id is None and d.what.startswith(FEEDBACK)
            for form in parse_feedback(d.what.removeprefix(FEEDBACK))
            if form.kind in STICKY
        ]
        brief = context.brief.model_copy(
            update={"target_duration": timeline_duration(previous.edl), "duration_set": True}
        )
        tweaks, decisions = Tweaks(), []
        for form in [*earlier, *forms]:
            brief, tweaks, why = _apply(form, brief, tweaks, previous, context)
            decisions.append(Decision(clip_id=None, what=FEEDBACK + form.text, why=why))
        return self._best(context.model_copy(update={"brief": brief}), tweaks, "revise", decisions)

    def _best(self, context: PlanContext, tweaks: Tweaks, kind, extra: list[Decision]) -> Plan:
        """The default plan, scored; with `candidates` (N) > 1, also N-1 variants (`_variants`), at most
        N plans in all: a variant that makes an earlier plan's EDL, or none, is dropped, not replaced.
        The work is bounded by construction (`Work`): all the candidates together run at most N times
        the plan-check rounds of the default plan. The winner is the best-scored plan that passes
        review (ties: the earlier), with the ranking and why it won among its decisions. B-roll
        shots shorter than the pace wants relax its shortest shot when the cut needs them (pace_fit.py)."""
        from .score import score_edl, summary, why_better

        made: list[tuple[Variant, Plan]] = []
        seconds: list[float] = []
        asked = context.brief  # what the score judges against (the brief's own pace)
        candidates = extract_candidates(context.index, asked.shot_length)  # the same for every variant
        fit = fit_pace(context.index, asked, candidates, _voice_over(context, candidates))
        if fit.decision is not None:
            context = context.model_copy(update={"brief": asked.model_copy(update={"shot_length": fit.shot_length})})
            candidates = extract_candidates(context.index, fit.shot_length)
            extra = [fit.decision, *extra]
        variants, work, weights = [Variant()], Work(), None
        while variants and len(made) < self.candidates and work.left():
            variant = variants.pop(0)
            started = time.perf_counter()
            try:
                plan, owners = self._plan(context, tweaks, kind, extra, variant, candidates, work)
            except PlanError:
                if not made:
                    raise
                continue  # a variant that cannot be made (its lines do not fit) is no candidate
            if work.budget is None:  # the default plan sets the bound
                work.budget = self.candidates * work.rounds
            if any(p.edl == plan.edl for _, p in made):
                continue
            if weights is None:  # read once, shared by the candidates like the extraction
                weights = load_scoring()
            plan = plan.model_copy(update={"score": score_edl(plan.edl, context.index, asked, plan.target_duration,
                                                              weights)})  # fmt: skip
            seconds.append(round(time.perf_counter() - started, 4))
            made.append((variant, plan))
            if len(made) == 1 and self.candidates > 1:
                kinds = {c.key: c.kind for c in candidates}
                variants = _variants(owners, kinds, self.candidates)
        order = sorted(range(len(made)), key=lambda k: (not made[k][1].review.ok, -made[k][1].score.total, k))  # type: ignore[union-attr]
        winner = made[order[0]][1]
        if len(made) == 1:
            return winner.model_copy(update={"planning_seconds": seconds, "planning_rounds": work.rounds})
        ranking = [RankedPlan(rank=n + 1, variant=made[k][0].name, score=made[k][1].score.total,  # type: ignore[union-attr]
                              valid=made[k][1].review.ok, summary=summary(made[k][1].score))  # type: ignore[arg-type]
                   for n, k in enumerate(order)]  # fmt: skip
        runner = made[order[1]][1]
        why = (f"{made[order[0]][0].name} scored {winner.score.total:.1f} against {runner.score.total:.1f} for "  # type: ignore[union-attr]
               f"{made[order[1]][0].name}: {why_better(winner.score, runner.score)}")  # type: ignore[arg-type]
        best_of = Decision(clip_id=None, what=f"best of {len(made)} plans: {made[order[0]][0].name}", why=why)
        return winner.model_copy(update={"decisions": [*winner.decisions, best_of], "ranking": ranking,
                                         "planning_seconds": seconds, "planning_rounds": work.rounds})  # fmt: skip

    def _plan(
        self, context: PlanContext, tweaks: Tweaks, kind, extra: list[Decision], variant: Variant,
        candidates: list[Candidate], work: Work | None = None,
    ) -> tuple[Plan, list[str]]:
        """The plan of one variant, and the candidate key behind each of its clips. Each round is
        counted in `work`; no repair round starts once its budget is spent (the last draft stands)."""
        work = work if work is not None else Work()
        if not candidates:  # the footage, not the planner, falls short: bad input (exit 2)
            raise _no_usable_footage(context)
        voice = _voice_over(context, candidates)
        about = _signals(context, candidates, voice)
        base, rounds = context, []
        for number in range(1, self.max_rounds + 1):
            if number > 1 and not work.left():
                break
            work.rounds += 1
            usable = [c for c in candidates if c.key not in tweaks.excluded and not _avoided(c, base.brief)]
            length = choose_length(base.brief, usable, voice)
            context = base.model_copy(update={"brief": base.brief.model_copy(update={"target_duration": length.target})})
            draft = self._draft(context, candidates, tweaks, length, voice, variant)
            review = review_edl(draft.edl, context, self.embed_text)
            rounds.append(Round(number=number, kind=kind if number == 1 else "repair",
                                violations=[str(v) for v in review.violations]))  # fmt: skip
            drop = _repairs(review.violations, draft)
            if review.ok or not drop - tweaks.excluded:
                break
            tweaks = tweaks.model_copy(update={"excluded": tweaks.excluded | drop})
        about.append(Decision(clip_id=None, what=f"length: {float(length.target):.2f} s", why=length.reason))
        plan = Plan(edl=draft.edl, decisions=draft.decisions + about + extra, planner=self.name, rounds=rounds,
                    review=review, notes=draft.notes, target_duration=length.target)  # fmt: skip
        return plan, draft.owners

    def _draft(
        self, context: PlanContext, candidates: list[Candidate], tweaks: Tweaks, length: Length, voice: VoiceOver | None,
        variant: Variant = Variant(),
    ) -> Draft:
        brief, notes = context.brief, []
        allowed, avoided = [], []
        for c in candidates:
            if c.key in tweaks.excluded:
                continue
            term = next((t for t in brief.avoid if _mentions(c, t)), None)
            (avoided if term else allowed).append((c, term) if term else c)
        scored = score(allowed, brief, context.index, tweaks.boost, self.embed_text)
        if not length.keep_all_speech:  # all the speech, in order: no variant changes what that plays
            scored = _varied(scored, variant)
        # "shorter intro": the old opening goes, unless it says a must-have (then it moves into the body)
        scored = [s for s in scored if s.candidate.key != tweaks.old_opening or s.covers]
        if length.keep_all_speech:  # every spoken candidate, in source order; no b-roll, no hook
            spoken = [s for s in scored if s.candidate.kind == "speech"]
            if sum((s.candidate.duration for s in spoken), Fraction(0)) > brief.target_duration:
                spoken = choose(spoken, brief.target_duration, [], notes).speech  # over the platform's limit
            sequence = [("speech", s, s.candidate.duration) for s in sorted(spoken, key=lambda s: s.candidate.order)]
            return assemble(context, sequence, tweaks, avoided, notes, voice)
        forced, required = forced_material(scored, context.brief, context.index, tweaks.boost, notes)
        floor = floor_seconds()
        musts = {s.candidate.key for s in forced[:required]}
        room = brief.target_duration + TOLERANCE - forced_seconds(forced[:required], floor)
        fits = lambda s: s.candidate.key in musts or forced_seconds([s], floor) <= room  # noqa: E731
        opener = choose_opener(scored, brief, context.index, hook_score, notes, fits)  # a variant's hook strategy
        if opener is not None and all(s.candidate.key != opener.candidate.key for s in forced[:required]):
            others = [s for s in forced[required:] if s.candidate.key != opener.candidate.key]
            forced, required = [*forced[:required], opener, *others], required + 1
        check_fits(forced[:required], opener, brief, floor)
        keep = frozenset(s.candidate.key for s in forced[:required])
        selection = choose(scored, brief.target_duration, forced, notes, keep=keep, floor=floor)
        if not selection.speech and not selection.broll:
            raise PlanError(f"nothing fits in {float(brief.target_duration):.1f} s", hint="raise the target duration")
        sequence = _order(selection, brief.cta, tweaks, variant, opener)
        return assemble(context, sequence, tweaks, avoided, notes, voice)


def _avoided(candidate: Candidate, brief) -> bool:
    return any(_mentions(candidate, term) for term in brief.avoid)


def _voice_over(context: PlanContext, candidates: list[Candidate]) -> VoiceOver | None:
    """The voice-over that plays under the b-roll: the first audio-only file of speech, unless the
    brief names it as its music, or a video file has speech of its own (its own sound plays then)."""
    music = normal_path(context.brief.music) if context.brief.music else None
    found = [v for v in voice_overs(context.index) if normal_path(v.path) != music]
    if not found or any(c.kind == "speech" for c in candidates):
        return None
    return found[0]


def _signals(context: PlanContext, candidates: list[Candidate], voice: VoiceOver | None) -> list[Decision]:
    """Cut-wide decisions that say which signal placed the speech cuts, per file (for plan.md)."""
    out = []
    by_file: dict[str, str] = {}
    for c in candidates:
        by_file.setdefault(c.file_id, c.signal)
    for file_id, signal in by_file.items():
        file = context.index.file(file_id)
        if signal == "words":
            source = file.transcript.model if file and file.transcript else None
            why = f"recognised words ({file.transcript.source}: {source})" if file and file.transcript else "words"
            out.append(Decision(clip_id=None, what=f"speech signal for {file_id}: words",
                                why=f"{why}; every cut on a word boundary, fillers and pauses over "
                                    f"{float(MAX_GAP):g} s cut out"))  # fmt: skip
        elif signal == "speech regions":
            method = file.speech.method if file and file.speech else "voice activity"
            out.append(Decision(clip_id=None, what=f"speech signal for {file_id}: speech regions",
                                why=f"no words were recognised; {method} found where someone speaks: each region "
                                    "plays whole, never cut inside, and the silence between regions is left out"))  # fmt: skip
    if voice is not None:
        out.append(Decision(clip_id=None, what=f"voice-over: {voice.path} {float(voice.start):.2f}-{float(voice.end):.2f} s",
                            why="an audio-only file of speech (speech regions cover most of it): it plays under "
                                "the b-roll, whose own sound is muted"))  # fmt: skip
    return out


def _mentions(candidate: Candidate, term: str) -> bool:
    """Speech that says an avoid term, or nearly (text.says_term)."""
    return candidate.kind == "speech" and says_term(candidate.text, term)


def hook_score(s: Scored) -> float:
    c = s.candidate
    over = max(0.0, float(c.duration - HOOK_LINE))
    return 2 * s.key_score + (1.0 if s.covers else 0.0) + (0.5 if c.first_in_file else 0.0) - 0.3 * over


def _varied(scored: list[Scored], variant: Variant) -> list[Scored]:
    """The scored candidates as a variant wants them: some left out (never a must-have line),
    shorter lines rated up (x (1 + 1/seconds)), b-roll rated by source order."""
    scored = [s for s in scored if s.candidate.key not in variant.dropped or s.covers]
    if variant.short_lines:
        scored = [s.model_copy(update={"rate": round(s.rate * (1 + 1 / max(float(s.candidate.duration), 0.5)), 4)})
                  if s.candidate.kind == "speech" else s for s in scored]  # fmt: skip
    if variant.broll_in_source_order:
        first = min((s.candidate.order for s in scored if s.candidate.kind == "broll"), default=0)
        scored = [s.model_copy(update={"rate": round(1 + 1 / (1 + s.candidate.order - first), 4)})
                  if s.candidate.kind == "broll" else s for s in scored]  # fmt: skip
    return scored


def _variants(owners: list[str], kinds: dict[str, str], n: int) -> list[Variant]:
    """The n-1 variants to try after the default plan, those that can change it first: another hook
    (with two lines or more), other lines (the default's last line and its first b-roll piece left
    out), shorter lines (with speech), b-roll in source order (with b-roll), then combinations. A
    variant that makes an earlier plan's EDL is not counted, so n attempts bound the time."""
    chosen = list(dict.fromkeys(owners))
    lines = [k for k in chosen if kinds.get(k) == "speech"]
    broll = [k for k in chosen if kinds.get(k) == "broll"]
    other = frozenset(([lines[-1]] if len(lines) > 1 else []) + broll[:1])
    found = [
        Variant(name="second-best hook", hook_rank=1) if len(lines) > 1 else None,
        Variant(name="other lines and b-roll", dropped=other),
        Variant(name="shorter lines", short_lines=True) if lines else None,
        Variant(name="b-roll in source order", broll_in_source_order=True) if broll else None,
        Variant(name="third-best hook", hook_rank=2) if len(lines) > 2 else None,
        Variant(name="second-best hook, other lines", hook_rank=1, dropped=other) if len(lines) > 1 else None,
        Variant(name="shorter lines, b-roll in source order", short_lines=True, broll_in_source_order=True)
        if lines and broll else None,
        Variant(name="b-roll in source order, other b-roll", broll_in_source_order=True, dropped=other)
        if broll else None,
    ]
    return [v for v in found if v is not None and (v.dropped or v.name != "other lines and b-roll")][: n - 1]


def _order(
    selection: Selection, cta: str | None, tweaks: Tweaks, variant: Variant = Variant(), opener: Scored | None = None
) -> list[tuple[str, Scored, Fraction]]:
    """(role, scored, seconds) in the order of the cut. `opener` (planning/hooks.py: a variant's
    hook strategy), when selected, opens the cut: as the hook line, or a b-roll shot before it."""
    speech = selection.speech
    limit = tweaks.hook_shorter_than
    eligible = [
        s for s in speech if (limit is None or s.candidate.duration < limit) and s.candidate.key != tweaks.old_opening
    ]
    ranked = sorted(eligible, key=lambda s: (-hook_score(s), s.candidate.order))
    hook = ranked[min(variant.hook_rank, len(ranked) - 1)] if ranked else None
    if opener is not None and any(s is opener or s.candidate.key == opener.candidate.key for s in speech):
        hook = next(s for s in speech if s.candidate.key == opener.candidate.key)
    rest = [s for s in speech if s is not hook]
    closing_terms = set(terms(cta or "")) | CTA_WORDS
    closers = [s for s in rest if set(terms(s.candidate.text)) & closing_terms]
    closer = max(
        closers, key=lambda s: (len(set(terms(s.candidate.text)) & closing_terms), s.candidate.order), default=None
    )
    spoken = ([("hook", hook)] if hook else []) + [("body", s) for s in rest if s is not closer]
    spoken += [("call to action", closer)] if closer else []
    pieces = sorted(selection.broll, key=lambda p: (-p[0].rate, p[0].candidate.order))
    first = next((p for p in pieces if opener is not None and p[0].candidate.key == opener.candidate.key), None)
    if first is not None:
        pieces.remove(first)
    ending = pieces.pop() if spoken and len(pieces) >= 2 and cta else None
    slots: dict[int, list[tuple[Scored, Fraction]]] = {}  # b-roll after the n-th spoken item (-1: before all)
    n = len(spoken)
    for j, piece in enumerate(pieces):
        slots.setdefault((j * (n - 1)) // len(pieces) if n > 1 else n - 1, []).append(piece)
    sequence: list[tuple[str, Scored, Fraction]] = [("b-roll", s, length) for s, length in slots.get(-1, [])]
    if first is not None:
        sequence.insert(0, ("opening shot", *first))
    for k, (role, s) in enumerate(spoken):
        sequence.append((role, s, s.candidate.duration))
        sequence += [("cutaway", piece, length) for piece, length in slots.get(k, [])]
    if ending:
        sequence.append(("cutaway under the end card", *ending))
    if limit is not None and sequence and sequence[0][2] >= limit:  # "shorter intro": open on a shorter item
        shorter = next((k for k, item in enumerate(sequence) if item[2] < limit), None)
        if shorter is not None:
            sequence.insert(0, sequence.pop(shorter))
    return sequence


def _repairs(violations, draft: Draft) -> set[str]:
    """Candidates to drop: those behind clips the review says cut inside a word or say an avoided term."""
    keys = set()
    for v in violations:
        if v.code in ("cut_inside_word", "avoid_present") and v.location.startswith("clips["):
            index = int(v.location[len("clips[") : v.location.index("]")])
            keys.add(draft.owners[index])
    return keys


def _apply(form: Feedback, brief, tweaks: Tweaks, previous: Plan, context: PlanContext):
    """One feedback form applied: (brief, tweaks, what it did)."""
    target = brief.target_duration
    if form.kind in ("shorter_by", "longer_by", "length", "shorter", "longer"):
        new = {
            "shorter_by": lambda: target - form.seconds,
            "longer_by": lambda: target + form.seconds,
            "length": lambda: form.seconds,
            "shorter": lambda: Fraction(round(target * 8), 10),
            "longer": lambda: Fraction(round(target * 12), 10),
        }[form.kind]()
        if new < 1:
            raise UnsupportedFeedback(f"cannot make a {float(target):.1f} s cut {form.text.removeprefix('make it ')}")
        limit = brief.max_duration or MAX_CUT_SECONDS  # as the brief's own duration (brief.py)
        if new > limit:
            raise UnsupportedFeedback(f"cannot make the cut {float(new):.1f} s long: the limit is {float(limit):.0f} s")
        return (
            brief.model_copy(update={"target_duration": new}),
            tweaks,
            f"target {float(target):.1f} s -> {float(new):.1f} s",
        )
    if form.kind == "shorter_intro":
        first = previous.edl.clips[0]
        ref = previous.edl.media_by_id().get(first.media)
        file = file_for_path(context.index, ref.path) if ref else None
        opening = f"{file.id}@{float(first.src_in):.3f}" if file else None
        why = f"the previous {float(first.duration):.1f} s opening is replaced by something shorter"
        return brief, tweaks.model_copy(update={"hook_shorter_than": first.duration, "old_opening": opening}), why
    if form.kind == "drop":
        why = f"no clip that says {quoted(form.subject)}; {quoted(form.subject)} joins the avoid list"
        return brief.model_copy(update={"avoid": (*brief.avoid, form.subject)}), tweaks, why
    if form.kind == "more":
        why = f"footage matching {quoted(form.subject)} ranks higher, and the best piece is in the cut"
        return brief, tweaks.model_copy(update={"boost": (*tweaks.boost, form.subject)}), why
    if form.kind == "end_on_logo":
        if brief.brand is None or brief.brand.logo is None:
            raise UnsupportedFeedback(
                "cannot end on the logo: the brief names no brand with a logo", hint="add `brand:` to the brief"
            )
        return brief, tweaks.model_copy(update={"end_on_logo": True}), "the end card shows the brand logo, large"
    step = 1 if form.kind == "faster" else -1
    pace = PACES[min(max(PACES.index(brief.pace) + step, 0), len(PACES) - 1)]
    low, high = load_defaults().pace_shot_seconds[pace]
    shots = brief.shot_length.model_copy(update={"min": low, "max": high})
    why = f"pace {brief.pace} -> {pace}: b-roll shots of {float(low):g}-{float(high):g} s"
    return brief.model_copy(update={"pace": pace, "shot_length": shots}), tweaks, why


def _no_usable_footage(context: PlanContext) -> BadInputError:
    """No clip can be cut: no video file has speech, and no shot is as long as the fastest pace's
    shortest (a slower pace relaxes toward shorter shots, pace_fit.py, but not below that)."""
    shots = [shot.end - shot.start for file in context.index.files if file.shots for shot in file.shots.shots]
    longest = max(shots, default=Fraction(0))
    return BadInputError(
        f"{context.media_root}: no usable footage: no video file has speech, or a shot of at least "
        f"{float(floor_seconds()):g} s (the shortest shot of the fastest pace); the longest shot here lasts "
        f"{float(longest):.2f} s",
        hint="add footage with speech or longer shots to the folder",
    )
