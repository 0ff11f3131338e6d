"""An install from a wheel carries what the app needs beyond Python files: the native kernels,
compiled when the wheel was built, and the shipped data (corpus, QA set, teaching checkpoint)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_carries_the_compiled_kernels_and_the_shipped_data(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    if proc.returncode and "scikit_build_core" in proc.stderr and "No module named" in proc.stderr:
        pytest.skip("scikit-build-core is not installed here (building a wheel offline needs it)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"playground/model/native/lib/pgkernels.so", "playground/model/native/lib/pgkernels.dll"} & names
    assert not [n for n in names if n.endswith((".c", ".h"))]  # the library, not its sources
    assert wheel.name.endswith(".whl") and "-py3-none-" in wheel.name and "any" not in wheel.name
    data = {n.split("/data/", 1)[1] for n in names if ".data/data/" in n}
    for rel in ("corpus/shakespeare.txt", "qa/shakespeare_qa.jsonl", "checkpoints/shakespeare-qa/model.safetensors",
                "checkpoints/shakespeare-qa/tokenizer.json", "checkpoints/shakespeare-qa/config.json"):
        assert f"share/playground/resources/{rel}" in data, rel
    # and an install of that wheel finds them: a fresh environment, away from the checkout, where
    # resources_dir() must point into the install's share/ folder (a checkout's resources/ is not there)
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    py = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = subprocess.run([str(py), "-c", "from playground.paths import resources_dir; print(resources_dir())"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path, env={"PATH": os.environ["PATH"]})
    assert found.returncode == 0, found.stderr[-2000:]
    where = Path(found.stdout.strip())
    assert where.is_relative_to(env_dir) and (where / "corpus" / "shakespeare.txt").is_file(), where
