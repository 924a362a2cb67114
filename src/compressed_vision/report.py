"""Writing results: where they come from (the command line and the machine), then a JSON file,
a markdown file and a plot, side by side. Every benchmark and report writes through here."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

_MACHINE_KEYS = (
    *("platform", "processor", "cpu_model", "cpu_cores", "torch_threads"),
    *("python", "torch", "device"),
)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows of equal keys -> a GitHub markdown table (floats to 3 significant digits)."""
    if not rows:
        return ""
    keys = list(rows[0])
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_json(path: str | Path, payload: dict[str, Any]) -> Path:
    """`payload` as indented JSON at `path` (its folder made); values JSON lacks as text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def write_report(
    out_dir: str | Path, name: str, payload: dict[str, Any], table: str
) -> tuple[Path, Path]:
    """Write `name`.json (the full payload) and `name`.md (the table) under `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    write_json(json_path, payload)
    md_path.write_text(table)
    return json_path, md_path


def command_line(argv: list[str] | None = None) -> str:
    """The command that started this process, as a shell line: `cvis args...` for the `cvis`
    command, else `python script args...`."""
    argv = sys.argv if argv is None else argv
    if argv and Path(argv[0]).name == "cvis":
        return shlex.join(["cvis", *argv[1:]])
    return shlex.join(["python", *argv])


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str | torch.device | None) -> str:
    """`cpu`, or `cuda (the GPU's name)`."""
    device = torch.device(device or "cpu")
    if device.type == "cuda" and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return str(device)


def machine(device: str | torch.device | None = None, **versions: Any) -> dict[str, Any]:
    """The machine a result was measured on: OS, CPU model, cores, torch threads, Python and
    torch versions, the device, and any further `versions` (library -> version, or facts)."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device_name(device),
        **versions,
    }


def machine_line(info: dict[str, Any]) -> str:
    """One line of `machine`'s dict, for a markdown header."""
    extra = "".join(f", {k} {v}" for k, v in info.items() if k not in _MACHINE_KEYS)
    return (
        f"{info['platform']}, {info['cpu_model']}, {info['cpu_cores']} cores, "
        f"{info['torch_threads']} torch threads; Python {info['python']}, torch {info['torch']}"
        f"{extra}; device {info['device']}"
    )


@dataclass(frozen=True)
class Run:
    """Where a result comes from: the command line and the machine."""

    command: str
    machine: dict[str, Any]

    @classmethod
    def here(cls, device: str | torch.device | None = None, **versions: Any) -> Run:
        """This process: its command line and this machine."""
        return cls(command_line(), machine(device, **versions))

    def header(self, title: str) -> str:
        """The markdown header of a report: its title, the command and the machine."""
        return (
            f"# {title}\n\ncommand: `{self.command}`\n\nmachine: {machine_line(self.machine)}\n\n"
        )

    def __str__(self) -> str:
        return f"command: {self.command}\nmachine: {machine_line(self.machine)}"


def save_plot(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure (its folder made) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def write_results(
    out_dir: str | Path,
    name: str,
    title: str,
    payload: dict[str, Any],
    body: str,
    run: Run | None = None,
    figure: Any = None,
) -> dict[str, Path]:
    """`name`.json (command, machine, then `payload`), `name`.md (`run`'s header under
    `title`, then `body`) and, given a matplotlib `figure`, `name`.png; `run` defaults to
    this process on the CPU. Returns the paths written, by suffix."""
    run = run or Run.here()
    doc = {"command": run.command, "machine": run.machine, **payload}
    json_path, md_path = write_report(out_dir, name, doc, run.header(title) + body)
    paths = {"json": json_path, "md": md_path}
    if figure is not None:
        paths["png"] = save_plot(figure, Path(out_dir) / f"{name}.png")
    return paths
