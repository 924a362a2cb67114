"""bench stage (see docs/design.md)."""
