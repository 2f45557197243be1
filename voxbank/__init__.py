"""voxbank: the front door and the wiring (settings, CLI, job queue)."""

__version__ = "0.1.0"
