"""Random-clip decode time against the clip's position in a long video: seek against decode
from the start.

`cvis bench seek` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/seek_bench.py
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("seek")
