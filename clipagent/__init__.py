"""clipagent: a video-editing agent for the command line."""

__version__ = "0.1.0"
