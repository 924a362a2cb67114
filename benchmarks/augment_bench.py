"""Latent augmentation: train an augmenter for a codec, then measure it against the
alternatives.

`cvis bench augment` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/augment_bench.py [--codec CKPT] [--steps 450] [--threads 1]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("augment")
