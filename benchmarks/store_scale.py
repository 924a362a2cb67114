"""The store at scale, without any video: synthetic codes for N videos written straight
through the store's writer, then what opening, reading and resuming cost.

`cvis bench store-scale` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/store_scale.py [--videos 10000] [--frames 8] [--size 64]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("store-scale")
