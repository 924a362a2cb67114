"""The store tests' UCF-style folder, shared with the manifest tests."""

from tests.store.conftest import ucf_dir  # noqa: F401
