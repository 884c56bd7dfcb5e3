"""Typed errors of timeline interchange (all bad input, exit 2: the timeline or its media is
what has to change). They sit on clipagent.errors' classes, so the CLI and the MCP server
translate them like every other error."""

from __future__ import annotations

from ..errors import BadInputError, MediaError


class TimelineError(BadInputError):
    """A timeline file cannot be read: malformed XML/JSON, an unknown format, or an OTIO schema
    newer than the installed OpenTimelineIO reads."""


class UnsupportedFeatureError(BadInputError):
    """A timeline uses something a clipagent EDL cannot play even approximately (an effect other
    than a linear speed change, a generator clip, a nested sequence). `feature` names it."""

    def __init__(self, message: str, *, feature: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.feature = feature


class MissingMediaError(MediaError):
    """A clip of an imported timeline names media that is not there. `clip` is the clip's name
    in the timeline, `path` the file it names (None when the timeline has no path for it)."""

    def __init__(self, message: str, *, clip: str, path: str | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.clip = clip
        self.path = path
