"""Downstream training on codes against JPEG, H.264 and raw RGB: `cvis bench downstream`
with the project's folders as defaults (the shared data, runs/downstream_bench for the data,
stores, copies and runs it reuses, results/downstream_bench.{json,md,png}).

    python benchmarks/downstream_bench.py --codec cr240 [--preset small] [--tasks ...]
"""

import os

# On a shared CPU, OpenMP threads that spin while waiting for a descheduled sibling burn CPU
# time that says nothing about the work: let them sleep (inherited by the training processes).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from compressed_vision.cli.bench import run_as_script  # noqa: E402

DEFAULTS = ("--data", "../shared/data", "--work", "runs/downstream_bench")

if __name__ == "__main__":
    run_as_script("downstream", (*DEFAULTS, "--name", "downstream_bench"))
