"""MLT XML written by otio-mlt-adapter's own writer (`MLTAdapter`), with clipagent's metadata
carried as MLT properties.

The adapter as installed (otio-mlt-adapter 0.3.0) writes no metadata and no markers: only
producers, playlists, blanks, transitions and the profile. MLT itself keeps any named property
on any service, and the tools built on it keep their own under a prefix (`kdenlive:...`,
`shotcut:...`); so, through the adapter's own `create_property_element`, this writer adds:

- on each clip's entry in the V1 playlist: `clipagent:clip_id`, `clipagent:note` (the plan's
  reason, when it has one) and `clipagent:clip` (the clip's settings OTIO has no field for, as
  JSON: fit, crop, reframing, gain, mute; only those that differ from the defaults);
- on the main tractor: `clipagent:edl` (the EDL without its clips, as JSON: output size, rate
  and loudness, overlays, music gain and ducking), `clipagent:brief_title`, `clipagent:planner`.

melt renders a file with them as it renders one without (tests/test_interchange_melt.py). Whether
Kdenlive or Shotcut keep properties of another prefix when they save a project was not checked
(neither is installed here), and none of them is applied: melt, Kdenlive and Shotcut neither
reframe nor draw overlays nor duck from them, and show no reason as a marker. `exchange.dropped`
says so in the export's output.
"""

from __future__ import annotations

import json
import opentimelineio as otio

from .from_otio import _meta

try:
    from otio_mlt_adapter.adapters import mlt_xml as _adapter
except ImportError:  # pragma: no cover - the adapter is a dependency; without it OTIO names what is missing
    _adapter = None

PREFIX = "clipagent:"
_OVERRIDDEN = ("create_clip", "assemble_timeline", "create_property_element", "create_mlt")


def write_mlt(timeline: otio.schema.Timeline, **profile) -> str:
    """`timeline` as MLT XML (what `otio.adapters.write_to_string(timeline, "mlt_xml", **profile)`
    writes) with clipagent's metadata as properties. Without the adapter's methods this relies on
    (a later version), the plain adapter's XML, without the properties. Raises what the adapter
    raises."""
    if _adapter is None or not all(hasattr(getattr(_adapter, "MLTAdapter", None), m) for m in _OVERRIDDEN):
        return otio.adapters.write_to_string(timeline, "mlt_xml", **profile)
    return _PropertiesMLTAdapter(timeline, **profile).create_mlt()


def clip_settings(clip: dict) -> dict:
    """The settings of an EDL clip (its JSON dump) that OTIO has no field for and that differ
    from an EDL clip's defaults (`exchange.clip_extras`, imported late: exchange imports this)."""
    from ..edl import Clip
    from .exchange import clip_extras

    return clip_extras(Clip.model_validate(clip))


if _adapter is not None:

    class _PropertiesMLTAdapter(_adapter.MLTAdapter):
        """`MLTAdapter` that adds clipagent's metadata as properties of the entries and the tractor."""

        def create_clip(self, item, producer):
            entry = super().create_clip(item, producer)
            clip = _meta(item).get("clip")
            if isinstance(clip, dict):  # the V1 clip (its sound on A1 and the music carry none)
                entry.append(self.create_property_element(f"{PREFIX}clip_id", clip.get("id", item.name)))
                if clip.get("note"):
                    entry.append(self.create_property_element(f"{PREFIX}note", clip["note"]))
                settings = clip_settings(clip)
                if settings:
                    entry.append(self.create_property_element(f"{PREFIX}clip", json.dumps(settings, sort_keys=True)))
            return entry

        def assemble_timeline(self, tracks):
            super().assemble_timeline(tracks)
            meta = _meta(self.input_otio)
            tractor = self.root.find("./tractor[@id='tractor0']")
            if not meta or tractor is None:
                return
            properties = [("edl", json.dumps(meta.get("edl") or {}, sort_keys=True)),
                          ("brief_title", meta.get("brief_title") or ""), ("planner", meta.get("planner") or "")]  # fmt: skip
            for n, (name, value) in enumerate(p for p in properties if p[1]):
                tractor.insert(n, self.create_property_element(f"{PREFIX}{name}", value))
