"""compressed_vision: train ordinary video networks directly on neural codes."""

__version__ = "0.1.0"
