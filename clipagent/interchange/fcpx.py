"""FCPXML written by otio-fcpx-xml-adapter's own writer (`FcpxOtio`), in time linear in the clips.

The adapter as installed (otio-fcpx-xml-adapter 1.0.0) is quadratic in the clips, in three
lookups it makes for each clip:
- it hangs every clip of an audio track (and of a second video track) on the spine clip it plays
  under, and finds that clip by walking the whole spine from its start, parsing two times and
  looking up two resources per spine clip on the way (`FcpxOtio._find_parent_element`);
- it looks for the clip's asset-clip among all the event's so far (`_asset_clip_by_name`);
- it looks up the track's format from the track's duration, a sum over its children, twice per
  clip (`_find_or_create_format_from`).
With the clips' own sound on A1, 1000 clips took 19 s of CPU, 91% of it in the walk (cProfile,
bench/interchange_fcpxml.py); its `ffprobe`, which names the format, ran once, not per clip.
This writer is the adapter's class with those lookups, and the probe, answered from an index:

- the spine clip under a time: the spine's clips are indexed once per track (offset, end, in
  the adapter's own arithmetic) and found by bisection when they lie in order without overlap,
  as a spine's do (a linear pass over the index otherwise): the same clip the adapter's walk
  returns, the first in document order that spans the time;
- an asset-clip by its name: kept in a dict as the adapter adds them (the first of a name, as its
  search returns);
- a track's (or stack's) format element: looked up once per track; the element found is the
  same each time (formats are found by rate and never removed, a track's name for one is empty);
- the format name (`FFVideoFormat<size>p<rate>`, from `ffprobe`): asked of the adapter once per
  media file and rate, where it re-probes every time the answer is empty (a file without video).

Everything else, and every byte of the XML, is the adapter's (tests/test_interchange.py checks
the output is identical to the plain adapter's). What is left superlinear is OTIO's own C++
`Item.trimmed_range_in_parent` (a sum over the clips before it), which the adapter calls per clip:
0.1 s of 1.1 s at 1000 clips, 2 s at 4000. If a later adapter renames the methods this
overrides, `write_fcpxml` falls back to the plain adapter (slow again, still correct).
"""

from __future__ import annotations

import bisect

import opentimelineio as otio

try:
    from otio_fcpx_xml_adapter import fcpx_xml as _adapter
except ImportError:  # pragma: no cover - the adapter is a dependency; without it OTIO names what is missing
    _adapter = None

_OVERRIDDEN = ("_find_parent_element", "_clip_format_name", "_track_for_spine", "_frame_rate_from_element",
               "_asset_clip_by_name", "_create_asset_clip_element", "_find_or_create_format_from", "to_xml")


def write_fcpxml(timeline: otio.schema.Timeline) -> str:
    """`timeline` as FCPXML text (what `otio.adapters.write_to_string(timeline, "fcpx_xml")`
    writes), in time linear in its clips. Raises what the adapter raises."""
    if _adapter is None or not all(hasattr(getattr(_adapter, "FcpxOtio", None), m) for m in _OVERRIDDEN):
        return otio.adapters.write_to_string(timeline, "fcpx_xml")
    return _IndexedFcpxWriter(timeline).to_xml()


if _adapter is not None:

    class _IndexedFcpxWriter(_adapter.FcpxOtio):
        """`FcpxOtio` with its per-clip lookups (spine walk, asset-clip, track format, format probe) indexed."""

        def __init__(self, otio_timeline) -> None:
            super().__init__(otio_timeline)
            self._spine_index: tuple | None = None  # (spine, format_id, spans, starts or None)
            self._format_names: dict[tuple, str] = {}
            self._asset_clips: dict[str, object] = {}  # name -> the event's first asset-clip of that name
            self._composition_formats: dict[int, tuple] = {}  # id -> (track or stack, its format element)

        def _track_for_spine(self, track, lane_id, spine, compound):
            self._spine_index = None  # a new track (or a compound clip's own spine): index again
            try:
                return super()._track_for_spine(track, lane_id, spine, compound)
            finally:
                self._spine_index = None

        def _find_parent_element(self, spine, trimmed_range, format_id):
            index = self._spine_index
            if index is None or index[0] is not spine or index[1] != format_id:
                index = self._spine_index = self._index_spine(spine, format_id)
            _, _, spans, starts = index
            if starts is not None:  # in order, no overlap: at most one span holds the time
                at = bisect.bisect_right(starts, trimmed_range) - 1
                if at >= 0 and spans[at][1] > trimmed_range:
                    return spans[at][2]
                return None
            for offset, end, item in spans:  # the adapter's walk, over the index
                if not offset > trimmed_range and end > trimmed_range:
                    return item
            return None

        def _index_spine(self, spine, format_id) -> tuple:
            """The adapter's candidate parents in document order with their (offset, end), as
            `_find_parent_element` computes them. While one track is hung on the spine, what is
            added carries a lane (or is not a candidate), so the index holds for the track."""
            spans = []
            for item in spine.iter():
                if item.tag not in ("clip", "asset-clip", "gap", "ref-clip") or item.get("lane") is not None:
                    continue
                if item.tag == "gap" and item.find("./audio") is not None:
                    continue
                rate = self._frame_rate_from_element(item, format_id)
                offset = _adapter.to_rational_time(item.get("offset"), rate)
                spans.append((offset, offset + _adapter.to_rational_time(item.get("duration"), rate), item))
            ordered = all(a[0] <= a[1] <= b[0] for a, b in zip(spans, spans[1:]))
            return spine, format_id, spans, [s[0] for s in spans] if ordered else None

        def _find_or_create_format_from(self, clip):
            if not isinstance(clip, otio.core.Composition):
                return super()._find_or_create_format_from(clip)
            held = self._composition_formats.get(id(clip))
            if held is None or held[0] is not clip:  # a track's duration sums its children: once per track
                held = self._composition_formats[id(clip)] = (clip, super()._find_or_create_format_from(clip))
            return held[1]

        def _asset_clip_by_name(self, name):
            return self._asset_clips.get(name)

        def _create_asset_clip_element(self, clip, format_element, resource_id):
            super()._create_asset_clip_element(clip, format_element, resource_id)
            self._asset_clips.setdefault(clip.name, self.event_resource[-1])  # the adapter's find: the first

        def _clip_format_name(self, clip):
            ref = getattr(clip, "media_reference", None)
            url = getattr(ref, "target_url", None)
            if clip.schema_name() in ("Stack", "Track") or url is None or ref.is_missing_reference:
                return super()._clip_format_name(clip)
            key = (clip.duration().rate, url)
            if key not in self._format_names:
                self._format_names[key] = super()._clip_format_name(clip)
            return self._format_names[key]
