"""PSNR of codecs on real footage none of them trained on: the gate a new shipped codec passes.
`--write-clips DIR` writes the same held-out footage as video files for `cvis bench rd DIR`.

`cvis bench codec-validation` (its options are this script's; `--help` lists them):

    .venv/bin/python benchmarks/codec_validation.py --codec cr240 --codec runs/x.safetensors
"""

from compressed_vision.cli.bench import run_as_script

if __name__ == "__main__":
    run_as_script("codec-validation")
