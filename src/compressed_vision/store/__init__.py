"""The code store: a dataset encoded once into chunked, random-access codes on zarr v3
(layout in `store.layout`), built resumably from manifests of source datasets, read by
PyTorch datasets of code windows."""

from .build import BuildSummary, build_store
from .datasets import RandomCodeWindows, SequentialCodeWindows
from .info import store_info, verify_store
from .manifest import (
    Item,
    Manifest,
    coin_manifest,
    folder_manifest,
    kinetics_manifest,
    manifest_from_source,
    synthetic_manifest,
)
from .reader import CodeStore, VideoEntry

__all__ = [
    "BuildSummary",
    "CodeStore",
    "Item",
    "Manifest",
    "RandomCodeWindows",
    "SequentialCodeWindows",
    "VideoEntry",
    "build_store",
    "coin_manifest",
    "folder_manifest",
    "kinetics_manifest",
    "manifest_from_source",
    "store_info",
    "synthetic_manifest",
    "verify_store",
]
