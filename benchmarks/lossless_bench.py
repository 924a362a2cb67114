"""The learned lossless stage against zstd, on cr240 codes of footage the prior never saw: bytes
per held-out clip and the read speed of random windows from a zstd and a learned store.

`cvis bench lossless` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/lossless_bench.py [--prior cr240] [--windows 30]
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("lossless")
