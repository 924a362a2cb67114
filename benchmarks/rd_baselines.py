"""Rate-distortion of the classical baselines (JPEG, H.264, HEVC) at matched compression rates.

`cvis bench rd-baselines` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/rd_baselines.py [--data DIR] [--frames 32] [--size 128]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("rd-baselines")
