"""What users install: `python -m build` makes an sdist and a platform wheel that pass
`twine check`; the wheel (built from the sdist, so the sdist holds everything the build needs)
carries the compiled kernels and the shipped data; installed into a fresh virtual environment
outside the source tree, with no C compiler on PATH, it passes `playground --self-test` on the
native kernels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for tool in ("build", "scikit_build_core", "twine"):
        if shutil.which(tool) is None and subprocess.run([sys.executable, "-c", f"import {tool}"]).returncode:
            pytest.skip(f"{tool} is not installed here (pip install -e .[test] installs it)")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_sdist_and_platform_wheel_pass_twine_check(dist):
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    assert "-py3-none-" in wheel.name and not wheel.name.endswith("-any.whl")  # one wheel per platform
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.count("PASSED") == 2, proc.stdout + proc.stderr


def test_wheel_carries_the_compiled_kernels_and_the_shipped_data(dist):
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"playground/model/native/lib/pgkernels.so", "playground/model/native/lib/pgkernels.dll"} & names
    assert not [n for n in names if n.endswith((".c", ".h"))]  # the library, not its sources
    assert "playground/i18n/playground_zh_CN.qm" in names  # the Chinese interface, built by pyside6-lrelease
    data = {n.split("/data/", 1)[1] for n in names if ".data/data/" in n}
    for rel in ("corpus/shakespeare.txt", "qa/shakespeare_qa.jsonl", "checkpoints/shakespeare-qa/model.safetensors",
                "checkpoints/shakespeare-qa/tokenizer.json", "checkpoints/shakespeare-qa/config.json",
                "lessons/01-tokens.json", "lessons/07-pipeline.json"):
        assert f"share/playground/resources/{rel}" in data, rel


def test_wheel_in_a_fresh_venv_without_a_compiler_passes_the_self_test(dist, tmp_path):
    (wheel,) = dist.glob("*.whl")
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=False)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / ("python.exe" if os.name == "nt" else "python")
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies (torch, PySide6, ...) from this environment, read-only and after the
    # fresh site-packages, so that `playground` can only come from the wheel
    (site / "_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=600)
    if proc.returncode and "no such option: --python" in proc.stderr:
        pytest.skip("this pip cannot install into another environment (pip >= 22.3 can)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    tools = tmp_path / "tools"  # PATH: the fresh environment and ldd (for the Qt check), no compiler
    tools.mkdir()
    if shutil.which("ldd"):
        (tools / "ldd").symlink_to(shutil.which("ldd"))
    path = os.pathsep.join([str(bindir), str(tools)])
    assert not any(shutil.which(cc, path=path) for cc in ("cc", "gcc", "clang", "cl"))
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "PYTHONPATH", "PLAYGROUND_NATIVE")}
    env.update(PATH=path, PLAYGROUND_HOME=str(tmp_path / "home"))
    where = subprocess.run([str(py), "-c", "from playground.model import native; import playground; "
                                           "from playground.paths import resources_dir; print(playground.__file__); "
                                           "print(native.library_path()); print(resources_dir())"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert where.returncode == 0, where.stderr[-2000:]
    package, library, resources = where.stdout.split()
    assert Path(package).is_relative_to(env_dir) and Path(library).is_relative_to(env_dir), where.stdout
    # the shipped data from the install's share/ folder (a checkout's resources/ is not there)
    assert Path(resources).is_relative_to(env_dir) and (Path(resources) / "corpus" / "shakespeare.txt").is_file()
    exe = bindir / ("playground.exe" if os.name == "nt" else "playground")
    proc = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "ok   kernels: " in proc.stdout and "ok   kernels: turned off" not in proc.stdout
    assert "ok   teaching model: " in proc.stdout  # the shipped checkpoint, found under the venv's share/
    assert proc.stdout.splitlines()[-1] == "self-test passed"
