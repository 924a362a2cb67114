"""Reading and writing video files (PyAV; OpenCV when installed), frame sampling and the
pixel-space transforms; where videos come from is `sources`."""

from .io import VideoInfo, iter_video_chunks, probe_video, read_video, write_video

__all__ = ["VideoInfo", "iter_video_chunks", "probe_video", "read_video", "write_video"]
