"""Fuzz the readers (video, code file, store, checkpoint) with seeded mutants.

`cvis bench fuzz` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/fuzz.py --cases 100 --seed 0
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("fuzz")
