"""Codec encode speed and streaming memory: encode throughput at 128x128, and peak memory of
streaming encode of a long synthetic mp4 at each length, each in a fresh process.

`cvis bench codec-speed` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/codec_bench.py --codec CKPT [--minutes 2 --minutes 10]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("codec-speed")
