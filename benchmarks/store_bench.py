"""The code store: size on disk, random-window read throughput, and random access into long
videos.

`cvis bench store` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/store_bench.py [--codec CKPT] [--size 128] [--windows 300]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("store")
