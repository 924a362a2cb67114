"""Video I/O (PyAV), frame sampling, pixel-space transforms and synthetic datasets."""

from .io import VideoInfo, iter_video_chunks, probe_video, read_video, write_video

__all__ = ["VideoInfo", "iter_video_chunks", "probe_video", "read_video", "write_video"]
