"""NLE interchange through OpenTimelineIO: EDL -> OTIO (`to_otio`), OTIO -> EDL (`from_otio`),
the formats and their adapters (`formats`), and what the commands call (`exchange`)."""
