"""The loader under the mutation fuzzer (fuzz/): every failure signature the fuzzer ever saved
(fuzz/cases) and a 2,000-mutant smoke pass with a fixed seed, each run in a forked child with its
address space capped and a timeout. Any untyped exception, crash, hang, run over 5 s or memory
growth past the bound fails the test with the first mutant of each signature."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from fuzz import driver

CASES = Path(driver.__file__).with_name("cases")


def _explain(rep: driver.Report) -> str:
    out = io.StringIO()
    driver.print_report(rep, 0.0, out)
    return out.getvalue()


@pytest.mark.slow
def test_every_saved_signature_and_a_2000_mutant_smoke_pass(tmp_path):
    """One run (one pair of warmed-up zygotes) for both: every case the fuzzer ever saved, then
    2,000 fresh mutants with a fixed seed; none may fail in any way."""
    cases = driver.load_cases(CASES, tmp_path)
    assert len(cases) >= 40  # the signatures the fuzz found in the loader before issue #17
    rep = driver.run(2000, run_seed=17, workers=2, cases=cases)
    assert rep.n == 2000 + len(cases)
    assert rep.failures == 0, _explain(rep)
    assert rep.max_wall_s < driver.TIME_LIMIT_S
    # the mutants reach every stage: some load and generate, most are refused
    assert rep.counts["ok"] > 100 and rep.counts["refused"] > 1000, rep.counts


def test_a_saved_case_round_trips(tmp_path):
    """save_case / extract_case keep the model and what happened to it."""
    from fuzz.seeds import write_gguf

    model = write_gguf(tmp_path / "m.gguf", "llama", "Q4_0")
    archive = driver.save_case(model, tmp_path / "saved", {"signature": "untyped:X@y", "model": model.name})
    path, meta = driver.extract_case(archive, tmp_path / "out")
    assert path.read_bytes() == model.read_bytes() and meta["signature"] == "untyped:X@y"


def test_mutants_are_reproducible(tmp_path):
    """Mutant i of a run depends only on (run seed, i): a failure is replayed by its index."""
    from fuzz.mutate import Prepared
    from fuzz.seeds import write_corpus

    prepared = [Prepared(s) for s in write_corpus(tmp_path / "seeds")]
    a = [(m.seed.name, m.changes, m.note) for m in driver.mutants(prepared, 5, [3, 99, 1234])]
    b = [(m.seed.name, m.changes, m.note) for m in driver.mutants(prepared, 5, [3, 99, 1234])]
    assert a == b and len({x[2] for x in a}) == 3
