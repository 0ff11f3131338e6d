"""The fuzzing campaign: write the seeds, mutate them, run each mutant in a zygote's forked child,
count outcomes, and keep the first mutant of every failure signature.

    .venv/bin/python -m fuzz --mutants 100000 --seed 1 --workers 2 --save fuzz/cases
    .venv/bin/python -m fuzz --replay fuzz/cases            # the saved cases only

A failure is an untyped exception, a timeout, a crash, a run over the time limit, or a child
whose resident memory grew past the bound. The bound for these tiny files (< 0.6 MB, contexts
≤ 256): RSS growth ≤ BOUND_FIXED + 8 × the mutant's size; the address space of each child is
capped at what it had mapped plus ALLOWANCE, so nothing can allocate beyond that whatever the
file claims. Mutant i of a run is a pure function of (run seed, i): `--only i` replays it.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import random
import selectors
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .mutate import Prepared, mutate
from .runner import OUTCOMES
from .seeds import Seed, write_corpus

ALLOWANCE = 1 << 30  # address space a child may add (RLIMIT_AS)
BOUND_FIXED = 96 << 20  # RSS a child may add whatever the file: torch's and the tokenizer's working memory
TIME_LIMIT_S = 5.0  # a run (load + tokens) over this is a failure
KILL_S = 10.0  # the zygote kills a child after this long on one file
BATCH = 25  # files per forked child


@dataclass
class Mutant:
    index: int
    seed: Seed
    changes: bytes | dict  # see mutate.mutate
    note: str


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # the error types of refusals
    signatures: dict = field(default_factory=dict)  # signature → first result (with its mutant's index)
    slow: int = 0
    over_memory: int = 0
    max_wall_s: float = 0.0
    max_cpu_s: float = 0.0
    failed: list = field(default_factory=list)  # (mutant index, signature, wall s, CPU s) of every failure (replay: --only)
    max_rss_growth: int = 0
    max_growth_over_size: int = 0  # growth beyond the size-proportional part of the bound
    n: int = 0

    @property
    def failures(self) -> int:
        return self.counts["untyped"] + self.counts["timeout"] + self.counts["crash"] + self.slow + self.over_memory


def signature(res: dict, seed: Seed) -> str | None:
    """What identifies a failure (None for outcomes that are not failures)."""
    o = res["outcome"]
    if o == "untyped":
        return f"untyped:{res.get('error')}@{res.get('where')}"
    if o in ("timeout", "crash"):
        return f"{o}:{res.get('error', '')}:{seed.family}-{seed.storage}"
    if res.get("slow"):
        return f"slow:{res.get('where', 'ok')}:{seed.family}"
    if res.get("over_memory"):
        return f"memory:{res.get('where', 'ok')}:{seed.family}"
    if o == "refused-wrapped":
        return f"wrapped:{res.get('cause')}"
    return None


def materialize(m: Mutant, slot: Path) -> Path:
    """Write mutant m under slot (emptied first); return the path to load."""
    if slot.exists():
        shutil.rmtree(slot)
    slot.mkdir(parents=True)
    if isinstance(m.changes, bytes):
        p = slot / m.seed.path.name
        p.write_bytes(m.changes)
        return p
    folder = slot / m.seed.path.name
    folder.mkdir()
    for src in m.seed.path.iterdir():
        if src.is_file() and src.name not in m.changes:
            shutil.copyfile(src, folder / src.name)
    for name, data in m.changes.items():
        if data is not None:
            (folder / name).write_bytes(data)
    return folder


def save_case(path: Path, dest: Path, meta: dict) -> Path:
    """The mutant (a file or a folder) as a .tar.gz, with what it did in case.json."""
    dest.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in meta["signature"])[:80]
    out = dest / f"{slug}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(path, arcname=path.name)
        info = json.dumps(meta, indent=1).encode()
        ti = tarfile.TarInfo("case.json")
        ti.size = len(info)
        tar.addfile(ti, io.BytesIO(info))
    return out


def extract_case(archive: Path, into: Path) -> tuple[Path, dict]:
    """A saved case unpacked under into: (the model path to load, its case.json)."""
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(into, filter="data")
    meta = json.loads((into / "case.json").read_text())
    return into / meta["model"], meta


def load_cases(folder: Path, into: Path) -> list[tuple[Path, Seed]]:
    """Every saved case in folder, unpacked under into, as (model path, a Seed naming its origin)."""
    out = []
    for k, archive in enumerate(sorted(folder.glob("*.tar.gz"))):
        path, meta = extract_case(archive, into / str(k))
        out.append((path, Seed(archive.name, path, meta.get("seed", "?"), meta.get("signature", "?"))))
    return out


class Zygote:
    def __init__(self, warm: list[str], workdir: Path, k: int):
        arg = json.dumps({"warm": warm, "timeout_s": KILL_S, "allowance": ALLOWANCE})
        env = dict(os.environ, TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1", PLAYGROUND_HOME=str(workdir / "home"))
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen([sys.executable, "-m", "fuzz.runner", arg], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root, env=env)
        self.slots = workdir / f"zygote{k}"
        self.busy: dict[int, tuple[Mutant, Path]] = {}  # mutant index → (mutant, where it lies)
        self._buf = b""

    def wait_ready(self) -> None:
        """Block until the zygote has warmed up (the zygotes of a run start side by side)."""
        ready = self.lines()
        if not ready or not ready[0].get("ready"):
            raise RuntimeError("the fuzz zygote did not start")

    def lines(self) -> list[dict]:
        """The result lines that have arrived (blocks until at least one has; [] if the zygote ended)."""
        while b"\n" not in self._buf:
            b = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not b:
                return []
            self._buf += b
        *done, self._buf = self._buf.split(b"\n")
        return [json.loads(x) for x in done]

    def send(self, batch: list[Mutant]) -> None:
        items = []
        for j, m in enumerate(batch):
            path = Path(m.note) if m.changes is None else materialize(m, self.slots / str(j))
            self.busy[m.index] = (m, path)
            items.append({"id": m.index, "path": str(path)})
        self.proc.stdin.write((json.dumps({"batch": items}) + "\n").encode())
        self.proc.stdin.flush()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def mutants(prepared: list[Prepared], run_seed: int, indices) -> iter:
    for i in indices:
        rng = random.Random(f"{run_seed}:{i}")
        p = prepared[rng.randrange(len(prepared))]
        changes, note = mutate(p, rng)
        yield Mutant(i, p.seed, changes, note)


def size_of(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def run(n: int, run_seed: int = 1, workers: int = 2, save: Path | None = None, indices=None,
        progress: bool = False, cases: list[tuple[Path, Seed]] | None = None,
        max_seconds: float | None = None) -> Report:
    """Run the given ready-made cases, then n mutants (or the given indices), and report. With
    max_seconds, no new batch starts after that long (the report then covers rep.n mutants)."""
    with tempfile.TemporaryDirectory(prefix="pgfuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        work = Path(tmp)
        seeds = write_corpus(work / "seeds")
        prepared = [Prepared(s) for s in seeds]
        zygotes = [Zygote([str(s.path) for s in seeds], work, k) for k in range(workers)]
        try:
            for z in zygotes:
                z.wait_ready()
        except BaseException:
            for z in zygotes:
                z.close()
            raise
        # the saved cases first (negative indices), then the mutants: one set of zygotes for both
        ready_made = [Mutant(-1 - i, seed, None, str(p)) for i, (p, seed) in enumerate(cases or [])]
        todo = itertools.chain(ready_made, mutants(prepared, run_seed, indices if indices is not None else range(n)))
        rep = Report()
        sel = selectors.DefaultSelector()
        for z in zygotes:
            sel.register(z.proc.stdout, selectors.EVENT_READ, z)
        t0, done = time.perf_counter(), 0

        def feed(z: Zygote) -> bool:
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                return False
            batch = [m for m in (next(todo, None) for _ in range(BATCH)) if m is not None]
            if batch:
                z.send(batch)
            return bool(batch)

        active = sum(feed(z) for z in zygotes)
        try:
            while active:
                for key, _ in sel.select():
                    z: Zygote = key.data
                    results = z.lines()
                    if not results:
                        raise RuntimeError("a fuzz zygote died")
                    for res in results:
                        m, path = z.busy.pop(res["id"])
                        _account(rep, res, m, path, save)
                        done += 1
                        if progress and done % 1000 == 0:
                            rate = done / (time.perf_counter() - t0)
                            print(f"{done:,} mutants, {rate:.0f}/s: {dict(rep.counts)}", file=sys.stderr, flush=True)
                    if not z.busy and not feed(z):
                        active -= 1
        finally:
            sel.close()
            for z in zygotes:
                z.close()
        return rep


def _account(rep: Report, res: dict, m: Mutant, path: Path, save: Path | None) -> None:
    rep.n += 1
    rep.counts[res["outcome"]] += 1
    if res["outcome"].startswith("refused"):
        rep.errors[res.get("error", "?")] += 1
    wall = res.get("wall_s", 0.0)
    rep.max_wall_s = max(rep.max_wall_s, wall)
    rep.max_cpu_s = max(rep.max_cpu_s, res.get("cpu_s", 0.0))
    growth = res.get("rss_growth", 0)
    size = size_of(path)
    rep.max_rss_growth = max(rep.max_rss_growth, growth)
    rep.max_growth_over_size = max(rep.max_growth_over_size, growth - 8 * size)
    if wall > TIME_LIMIT_S and res["outcome"] != "timeout":
        rep.slow += 1
        res["slow"] = True
    if growth > BOUND_FIXED + 8 * size:
        rep.over_memory += 1
        res["over_memory"] = True
    sig = signature(res, m.seed)
    if sig and not sig.startswith("wrapped:"):
        rep.failed.append((m.index, sig, round(wall, 2), round(res.get("cpu_s", 0.0), 2)))
    if sig and sig not in rep.signatures:
        res.update(signature=sig, mutant=m.index, seed=m.seed.name, mutation=m.note, model=path.name)
        rep.signatures[sig] = res
        if save is not None and m.changes is not None:
            res["saved"] = str(save_case(path, save, res))


def print_report(rep: Report, elapsed: float, out=sys.stdout) -> None:
    print(f"\n{rep.n:,} mutants in {elapsed:.0f} s ({rep.n / max(elapsed, 1e-9):.0f}/s)", file=out)
    print("| outcome | count |\n|---|---|", file=out)
    for o in OUTCOMES:
        print(f"| {o} | {rep.counts[o]:,} |", file=out)
    print(f"| runs over {TIME_LIMIT_S:g} s | {rep.slow:,} |", file=out)
    print(f"| over the memory bound | {rep.over_memory:,} |", file=out)
    print("\nrefusals by error: " + ", ".join(f"{e} {n:,}" for e, n in rep.errors.most_common()), file=out)
    print(f"\nslowest run {rep.max_wall_s:.2f} s ({rep.max_cpu_s:.2f} s of CPU at most); largest RSS growth {rep.max_rss_growth / 2**20:.1f} MiB "
          f"(bound: {BOUND_FIXED / 2**20:.0f} MiB + 8 × the file's size; address space capped at +"
          f"{ALLOWANCE / 2**30:.0f} GiB)", file=out)
    for sig, res in rep.signatures.items():
        print(f"\n{sig}\n  mutant {res['mutant']} of {res['seed']} ({res['mutation'][:120]})\n  "
              f"{res.get('error', '')}: {res.get('message', '')[:200]}", file=out)
        if res.get("saved"):
            print(f"  saved as {res['saved']}", file=out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--save", type=Path, help="keep the first mutant of each failure signature here (.tar.gz)")
    ap.add_argument("--only", type=int, nargs="*", help="run just these mutant indices of the run")
    ap.add_argument("--json", type=Path, help="write the report as JSON here")
    ap.add_argument("--replay", type=Path, help="run the saved cases (.tar.gz) in this folder instead")
    ap.add_argument("--max-seconds", type=float, help="start no new batch after this long; report what ran")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if a.replay:
        with tempfile.TemporaryDirectory() as tmp:
            rep = run(0, workers=a.workers, cases=load_cases(a.replay, Path(tmp)))
    else:
        rep = run(a.mutants, a.seed, a.workers, a.save, a.only, progress=True, max_seconds=a.max_seconds)
    elapsed = time.perf_counter() - t0
    print_report(rep, elapsed)
    if a.json:
        a.json.write_text(json.dumps({"n": rep.n, "counts": dict(rep.counts), "errors": dict(rep.errors), "slow": rep.slow,
                                      "over_memory": rep.over_memory, "max_wall_s": rep.max_wall_s, "max_cpu_s": rep.max_cpu_s,
                                      "failed": rep.failed, "max_growth_over_size": rep.max_growth_over_size,
                                      "max_rss_growth": rep.max_rss_growth, "elapsed_s": elapsed,
                                      "signatures": rep.signatures}, indent=1, default=str))
    return 1 if rep.failures else 0
