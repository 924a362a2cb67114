"""Writing results: a JSON file and a markdown table, side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows of equal keys -> a GitHub markdown table (floats to 3 significant digits)."""
    if not rows:
        return ""
    keys = list(rows[0])
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: str | Path, name: str, payload: dict[str, Any], table: str
) -> tuple[Path, Path]:
    """Write `name`.json (the full payload) and `name`.md (the table) under `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    md_path.write_text(table)
    return json_path, md_path
