"""What changed between two EDLs, in words (for `revise`)."""

from __future__ import annotations

from ..edl import EDL, Clip, timeline_duration


def _describe(clip: Clip) -> str:
    return f"{clip.id} ({clip.media} {float(clip.src_in):.2f}-{float(clip.src_out):.2f} s)"


def describe_changes(before: EDL, after: EDL) -> list[str]:
    """One line per change: length, clips removed, added, retimed or moved, overlays and music."""
    old_length, new_length = timeline_duration(before), timeline_duration(after)
    lines = [f"length {float(old_length):.2f} s -> {float(new_length):.2f} s ({float(new_length - old_length):+.2f} s)"]
    old = {clip.id: clip for clip in before.clips}
    new = {clip.id: clip for clip in after.clips}
    lines += [f"removed {_describe(old[i])}" for i in old if i not in new]
    lines += [f"added {_describe(new[i])}" for i in new if i not in old]
    for clip_id in [i for i in old if i in new]:
        a, b = old[clip_id], new[clip_id]
        if (a.media, a.src_in, a.src_out) != (b.media, b.src_in, b.src_out):
            lines.append(f"retimed {_describe(a)} -> {float(b.src_in):.2f}-{float(b.src_out):.2f} s")
    kept_old = [i for i in old if i in new]
    kept_new = [i for i in new if i in old]
    if kept_old != kept_new:
        lines.append("reordered: " + ", ".join(kept_new))
    if before.overlays != after.overlays:
        lines.append(f"overlays: {len(before.overlays)} -> {len(after.overlays)}")
    if before.music != after.music:
        lines.append("music changed")
    if len(lines) == 1 and old_length == new_length:
        lines.append("no change to the clips")
    return lines
