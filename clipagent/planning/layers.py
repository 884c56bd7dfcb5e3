"""The layers clipagent adds to a plan after the planner wrote it: each clip's framing, the brief's
captions, brand logo, end card and hook title (what the brief asks for and the plan left out).

The LLM planner's submissions go through `add_layers` before review (tools.py), so the model
leaves all of these to clipagent and `added_for_you` tells it what was added.
"""

from __future__ import annotations

from ..edl import EDL, Captions, ImageOverlay, TextOverlay, timeline_duration
from .assemble import corner_logo, end_card_for, hook_title_for, logo_media
from .base import PlanContext
from .captions import captions_overlay
from .reframe import frame_clips
from .text import file_for_path


def add_layers(edl: EDL, context: PlanContext) -> tuple[EDL, list[str]]:
    """The EDL with what the brief asks for and the plan left out: captions of the clips' words (in
    the brief's caption style), the brand logo over the whole cut, the end card with the CTA
    (the EDL's `end_card`, unless the plan has one or a text overlay that says the CTA), and the
    brief's hook title."""
    brief, overlays, media, added = context.brief, list(edl.overlays), list(edl.media), []
    total = timeline_duration(edl)
    framed, _ = frame_clips(edl, {ref.id: file_for_path(context.index, ref.path) for ref in edl.media})
    reframed = sum(1 for old, new in zip(edl.clips, framed.clips) if old != new)
    if reframed:  # the source's shape differs from the output's: a window that follows the face (reframe.py)
        edl = framed
        added.append(f"framing for {reframed} clip(s) (a window that follows the face, black bars removed)")
    if brief.caption_style is not None and not any(isinstance(o, Captions) for o in overlays):
        files = {ref.id: file_for_path(context.index, ref.path) for ref in edl.media}
        captions, _ = captions_overlay(edl, files, brief.caption_style, brief.safe_zone)
        if captions is not None:
            overlays.append(captions)
            added.append(f"captions ({len(captions.cues)} cues from the clips' words)")
    by_id = {ref.id: ref for ref in media}
    logo_id = logo_media(context, by_id, notes=[])
    card = edl.end_card
    if card is None and brief.cta and not any(isinstance(o, TextOverlay) and brief.cta.lower() in o.text.lower() for o in overlays):
        card = end_card_for(brief, total, logo_id)
        media = list(by_id.values()) if card is not None and card.logo else media
        added += ["end card with the call to action"] if card is not None else []
    title = edl.hook_title
    if title is None and brief.hook_title:
        first = next((o.cues[0].text for o in overlays if isinstance(o, Captions) and o.cues), "")
        title = hook_title_for(brief, first, total)
        added += ["hook title"] if title is not None else []
    if logo_id is not None and not any(isinstance(o, ImageOverlay) and o.media == logo_id for o in overlays):
        media = list(by_id.values())
        overlays.append(brief.brand.logo.overlay(logo_id, *corner_logo(total, card, title)))
        added.append("brand logo")
    if not added:
        return edl, []
    return edl.model_copy(update={"overlays": overlays, "media": media, "end_card": card, "hook_title": title}), added
