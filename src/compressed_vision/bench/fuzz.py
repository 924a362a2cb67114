"""A seeded fuzzer of the readers: mutants of a video, a code file, a code store and a codec
checkpoint, each fed to the reader that takes it in a worker process with a time limit.

Kinds and readers:
- video: `read_video` (the container and every frame);
- codes: `load_code_file` (a code file of `save_code_file`);
- store: `store_info` (`CodeStore`, every video's and failure's attrs), every window of
  `SequentialCodeWindows` and of the tasks' `CodeReader`, then `verify_store` (damage it
  reports counts as a clean error);
- checkpoint: `load_codec` (a checkpoint of `save_codec`).

A mutant is its kind's original with one mutation, drawn from a generator seeded by (seed,
kind, case): truncated at a random point, 1-16 random bytes flipped, or 1-512 bytes of
another kind's file spliced in (written over, or inserted); a store's mutation hits one of
its files (metadata or chunk), drawn at random.

Outcomes per case: "error" (a `CVError`, the readers' clean refusal; "unnamed" when its
message does not name the file or store), "ok" (read without error), "crash" (any other
exception, or the worker killed by a signal) and "hang" (past `--limit` seconds: the worker
is killed and restarted). Crash and hang mutants are kept under `--work`/kept."""

from __future__ import annotations

import multiprocessing
import random
import re
import shutil
import time
import traceback
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..report import Run, markdown_table, write_results

KINDS = ("video", "codes", "store", "checkpoint")
OUTCOMES = ("error", "unnamed", "ok", "crash", "hang")


# -- the originals --------------------------------------------------------------------------


def _frames(count: int, height: int, width: int, shift: int = 0) -> np.ndarray:
    """A smooth moving gradient, (T, H, W, 3) uint8."""
    t = np.arange(shift, shift + count)[:, None, None]
    y, x = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    r = 128 + 100 * np.sin((x + 2 * t) / 9.0) + 0 * y
    g = 128 + 100 * np.cos((y + t) / 7.0) + 0 * x
    b = np.broadcast_to(np.float64(90), r.shape)
    return np.stack(np.broadcast_arrays(r, g, b), -1).clip(0, 255).astype(np.uint8)


def _tiny_codec():
    """An untrained tiny codec, its codebooks initialised from one batch (so codes vary)."""
    import torch

    from ..codec import VideoCodec, preset

    torch.manual_seed(0)
    codec = VideoCodec(preset("tiny", channels=8))
    video = torch.from_numpy(_frames(8, 32, 32)).permute(3, 0, 1, 2)[None].float() / 255
    with torch.no_grad():
        codec.train()(video)
    return codec.eval()


def make_originals(work: Path, video: Path | None = None) -> dict[str, Path]:
    """One original of each kind under `work` (a 24-frame 48x64 clip unless `video`)."""
    import torch

    from ..codec import save_codec
    from ..codec.files import encode_file, save_code_file
    from ..sources import folder_manifest
    from ..store import build_store
    from ..video.io import write_video

    work.mkdir(parents=True, exist_ok=True)
    originals = work / "originals"
    shutil.rmtree(originals, ignore_errors=True)
    codec = _tiny_codec()
    clip = write_video(originals / "clip.mp4", _frames(24, 48, 64), fps=25)
    if video is not None:
        shutil.copyfile(video, originals / video.name)
    codes, meta = encode_file(codec, clip, torch.device("cpu"))
    for i, frames in enumerate((12, 20)):
        write_video(originals / "videos" / "a" / f"{i}.mp4", _frames(frames, 32, 32, 3 * i))
    store = originals / "store.zarr"
    manifest = folder_manifest(originals / "videos")
    build_store(manifest, codec, str(store), progress=False, chunk_steps=4)
    return {
        "video": originals / video.name if video is not None else clip,
        "codes": save_code_file(originals / "codes.npz", codes, meta),
        "store": store,
        "checkpoint": save_codec(originals / "codec.safetensors", codec),
    }


# -- mutants --------------------------------------------------------------------------------


def mutate(data: bytes, donor: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One mutation of `data`: (the mutant, what was done)."""
    op = rng.choice(("truncate", "flip", "splice"))
    if op == "truncate" or not data:
        at = rng.randrange(len(data)) if data else 0
        return data[:at], f"truncate at {at} of {len(data)}"
    if op == "flip":
        out = bytearray(data)
        spots = sorted(rng.randrange(len(data)) for _ in range(rng.randint(1, 16)))
        for at in spots:
            out[at] ^= rng.randint(1, 255)
        return bytes(out), f"flip {len(spots)} bytes at {spots[:4]}{'...' * (len(spots) > 4)}"
    n = rng.randint(1, min(512, len(donor)))
    start, at = rng.randrange(len(donor) - n + 1), rng.randrange(len(data) + 1)
    piece = donor[start : start + n]
    if rng.random() < 0.5:
        return data[:at] + piece + data[at + n :], f"splice {n} bytes over {at}"
    return data[:at] + piece + data[at:], f"insert {n} bytes at {at}"


def make_mutant(
    kind: str, originals: dict[str, Path], case: int, seed: int, out: Path
) -> tuple[Path, str]:
    """Case `case` of `kind` written under `out`: (its path, the mutation)."""
    rng = random.Random(f"{seed}/{kind}/{case}")
    donor_kind = rng.choice([k for k in KINDS if k not in (kind, "store")])
    donor = originals[donor_kind].read_bytes()
    source = originals[kind]
    path = out / f"{kind}-{case}{source.suffix}"
    if kind == "store":
        shutil.copytree(source, path)
        files = sorted(p for p in path.rglob("*") if p.is_file())
        target = rng.choice(files)
        data, what = mutate(target.read_bytes(), donor, rng)
        target.write_bytes(data)
        return path, f"{target.relative_to(path)}: {what} (donor: {donor_kind})"
    data, what = mutate(source.read_bytes(), donor, rng)
    path.write_bytes(data)
    return path, f"{what} (donor: {donor_kind})"


# -- the readers, in a worker process -------------------------------------------------------


def read(kind: str, path: str) -> str | None:
    """Feed `path` to the reader of `kind`; None when all is read, else what it reported."""
    if kind == "video":
        from ..video.io import read_video

        read_video(path)
    elif kind == "codes":
        from ..codec.files import load_code_file

        load_code_file(path)
    elif kind == "checkpoint":
        from ..codec import load_codec

        load_codec(path)
    else:
        from ..store import (
            CodeStore,
            SequentialCodeWindows,
            store_info,
            verify_store,
        )
        from ..tasks.data import CodeReader

        store_info(path)  # every video's and failure's attrs
        windows = SequentialCodeWindows(path, 4)
        for i in range(len(windows)):
            windows[i]
        reader = CodeReader(CodeStore(path))
        for v, video in enumerate(reader.videos):
            reader.read(v, 0, video.steps, video.steps)
        report = verify_store(path, progress=False)
        if not report["ok"]:
            return f"verify: {path}: {report['damaged']}"
    return None


def run_case(kind: str, path: str) -> dict[str, str]:
    """One case, classified: {"outcome", "detail"}."""
    from ..errors import CVError

    try:
        reported = read(kind, path)
    except CVError as e:
        named = path in str(e)
        return {"outcome": "error" if named else "unnamed", "detail": str(e)[:300]}
    except Exception as e:  # anything else escaping a reader is a crash
        where = traceback.extract_tb(e.__traceback__)[-1]
        detail = f"{type(e).__name__}: {e} (at {Path(where.filename).name}:{where.lineno})"
        return {"outcome": "crash", "detail": detail[:400]}
    if reported is not None:
        return {"outcome": "error" if path in reported else "unnamed", "detail": reported[:300]}
    return {"outcome": "ok", "detail": ""}


def _worker(conn) -> None:
    import warnings

    import torch

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    from ..tasks import data  # noqa: F401  (imports everything, once)

    conn.send("ready")
    while (job := conn.recv()) is not None:
        conn.send(run_case(*job))


class Worker:
    """A worker process that runs cases one at a time; killed and restarted on a hang or
    when it dies."""

    def __init__(self, limit: float):
        self.limit, self.ctx, self.proc = limit, multiprocessing.get_context("spawn"), None

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(300) or self.conn.recv() != "ready":
            raise RuntimeError("the fuzz worker did not start")

    def _stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None

    def run(self, kind: str, path: Path) -> dict[str, str]:
        if self.proc is None:
            self._start()
        self.conn.send((kind, str(path)))
        if not self.conn.poll(self.limit):
            self._stop()
            return {"outcome": "hang", "detail": f"no answer in {self.limit:g} s"}
        try:
            return self.conn.recv()
        except EOFError:
            self.proc.join()
            code = self.proc.exitcode
            self.proc = None
            return {"outcome": "crash", "detail": f"the worker died (exit code {code})"}

    def close(self) -> None:
        if self.proc is not None:
            self.conn.send(None)
            self.proc.join(10)
            self._stop()


def fuzz(
    cases: int,
    work: Path,
    seed: int = 0,
    limit: float = 30.0,
    video: Path | None = None,
    kinds: tuple[str, ...] = KINDS,
    log: bool = False,
) -> dict[str, Any]:
    """Run `cases` mutants of each kind; returns {"rows": per-kind counts, "cases": every
    case (kind, case, mutation, outcome, detail, seconds)}."""
    originals = make_originals(work, video)
    mutants, kept = work / "mutants", work / "kept"
    shutil.rmtree(kept, ignore_errors=True)
    worker = Worker(limit)
    results, rows = [], []
    try:
        for kind in kinds:
            counts: Counter[str] = Counter()
            started = time.perf_counter()
            for case in range(cases):
                shutil.rmtree(mutants, ignore_errors=True)
                mutants.mkdir(parents=True)
                path, what = make_mutant(kind, originals, case, seed, mutants)
                t0 = time.perf_counter()
                result = worker.run(kind, path)
                seconds = time.perf_counter() - t0
                counts[result["outcome"]] += 1
                results.append(
                    {"kind": kind, "case": case, "mutation": what, **result, "seconds": seconds}
                )
                if result["outcome"] in ("crash", "hang"):
                    kept.mkdir(parents=True, exist_ok=True)
                    (shutil.copytree if path.is_dir() else shutil.copyfile)(path, kept / path.name)
                if log and result["outcome"] in ("crash", "hang", "unnamed"):
                    print(f"{kind} {case} {result['outcome']}: {what}: {result['detail']}")
            rows.append(
                {
                    "kind": kind,
                    "original": originals[kind].name,
                    "cases": cases,
                    "clean errors": counts["error"],
                    "errors not naming the file": counts["unnamed"],
                    "successes": counts["ok"],
                    "crashes": counts["crash"],
                    "hangs": counts["hang"],
                    "seconds": time.perf_counter() - started,
                }
            )
            if log:
                print(rows[-1], flush=True)
    finally:
        worker.close()
        shutil.rmtree(mutants, ignore_errors=True)
    return {"rows": rows, "cases": results}


def _build(folder: str, codec_path: str, store: str) -> None:
    """The batch job: `build_store` over every file of `folder` (in a worker process)."""
    import warnings

    import torch

    from ..codec import load_codec
    from ..sources import folder_manifest
    from ..store import build_store

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    manifest = folder_manifest(folder)
    build_store(manifest, load_codec(codec_path), store, progress=False, chunk_steps=4)


def batch_job(
    originals: dict[str, Path], cases: int, seed: int, work: Path, limit: float
) -> dict[str, Any]:
    """A store build over a folder of the original video and `cases` of its mutants, in a
    worker process given `limit` seconds an item: every file must end in the store or in
    its failure list (a file in neither is lost), and the job must finish."""
    from ..store import CodeStore

    folder, store = work / "batch" / "videos", work / "batch" / "store.zarr"
    shutil.rmtree(work / "batch", ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copyfile(originals["video"], folder / originals["video"].name)
    for case in range(cases):
        make_mutant("video", originals, case, seed, folder)
    files = sorted(p.name for p in folder.iterdir())
    started = time.perf_counter()
    proc = multiprocessing.get_context("spawn").Process(
        target=_build, args=(str(folder), str(originals["checkpoint"]), str(store))
    )
    proc.start()
    proc.join(limit * len(files))
    finished = proc.exitcode == 0
    if proc.is_alive():
        proc.kill()
        proc.join()
    opened = CodeStore(str(store)) if store.is_dir() else None
    stored = {e.attrs["source"] for e in opened.entries()} if opened else set()
    failed = {f["source"] for f in opened.failures().values()} if opened else set()
    lost = [f for f in files if str(folder / f) not in stored | failed]
    return {
        "files": len(files),
        "stored": len(stored),
        "failures recorded": len(failed),
        "lost": len(lost),
        "job finished": finished,
        "seconds": time.perf_counter() - started,
        "lost files": lost,
    }


def error_kinds(cases: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """kind -> {the reason of a clean error, without paths and numbers: cases}."""
    out: dict[str, Counter[str]] = {}
    for c in cases:
        if c["outcome"] == "error":
            reason = re.sub(r"of video \S+", "of video <key>", c["detail"].split(": ", 1)[-1])
            reason = re.sub(r"\S*/\S*|\d+", "_", reason)[:90]
            out.setdefault(c["kind"], Counter())[reason] += 1
    return {kind: dict(counts.most_common()) for kind, counts in out.items()}


def run_fuzz(
    cases: int,
    work: Path,
    out: Path,
    seed: int = 0,
    limit: float = 30.0,
    video: Path | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, Path]:
    """`fuzz` and `batch_job`, written to `out`/fuzz.{json,md}."""
    run = Run.here()
    print(run, flush=True)
    result = fuzz(cases, work, seed, limit, video, kinds, log=True)
    originals = make_originals(work, video)
    batch = batch_job(originals, cases, seed, work, limit)
    print(batch, flush=True)
    crashes = [c for c in result["cases"] if c["outcome"] in ("crash", "hang", "unnamed")]
    details = "".join(
        f"- {c['kind']} case {c['case']} ({c['mutation']}): {c['outcome']}: {c['detail']}\n"
        for c in crashes
    )
    body = (
        f"One worker process, {limit:g} s a case. Mutants: truncated, bytes flipped or another "
        "file's bytes spliced in, seeded; a clean error is a `CVError` naming the file, a crash "
        "any other exception or a signal, a hang a case past the limit. A success is a mutant "
        "that reads: H.264 conceals damaged frame data, and safetensors keeps no checksum "
        "of the weights, so most flips there read; a code file is a zip (CRC-32) and a "
        "store's chunks carry zstd checksums.\n\n"
        + markdown_table(result["rows"])
        + ("\n" + details if details else "\nNo crash, hang or error without the file's name.\n")
        + "\nA batch job: `build_store` over a folder of the video and its first "
        f"{cases} mutants, in one worker process; a file neither stored nor in the "
        "store's failure list is lost.\n\n"
        + markdown_table([{k: v for k, v in batch.items() if k != "lost files"}])
    )
    payload = {
        "seed": seed,
        "limit_s": limit,
        "mutations_crc32": zlib.crc32(repr([c["mutation"] for c in result["cases"]]).encode()),
        "rows": result["rows"],
        "errors": error_kinds(result["cases"]),
        "crashes_hangs_unnamed": crashes,
        "batch_job": batch,
    }
    return write_results(out, "fuzz", "Fuzzing the readers", payload, body, run)
