"""Where videos come from, upstream of every other stage: a folder of videos (one
definition), manifests of source datasets (folder, Kinetics CSV, COIN JSON, synthetic),
the procedural synthetic videos, and photographs filmed by a moving virtual camera."""

from .manifest import (
    Item,
    Manifest,
    coin_manifest,
    folder_manifest,
    kinetics_manifest,
    manifest_from_source,
    synthetic_manifest,
)
from .source import Source, open_source

__all__ = [
    "Item",
    "Manifest",
    "Source",
    "coin_manifest",
    "folder_manifest",
    "kinetics_manifest",
    "manifest_from_source",
    "open_source",
    "synthetic_manifest",
]
