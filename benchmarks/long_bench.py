"""Hour-long videos: streaming encode memory and speed, the hour's codes against its pixels,
one training step over a whole hour of codes, the longest video each pipeline can train on,
and the long-video tasks.

`cvis bench long` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/long_bench.py [--codec CKPT] [--encode-minutes 2 10]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("long")
