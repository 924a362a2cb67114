"""Codec ablation at equal CPU time: which model is strongest per CPU-minute on real footage.

`cvis bench codec-ablation` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/codec_ablation.py --minutes 12 --jobs 2
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("codec-ablation")
