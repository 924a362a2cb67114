"""Activation memory per clip of the same backbone on codes and on pixels (issue 6).

`cvis bench memory` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/activation_memory.py [--codec cr240]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("memory")
