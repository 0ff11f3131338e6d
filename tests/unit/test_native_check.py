"""The kernels' C, built by the project's CMakeLists.txt for other compilers and platforms, and
each variant checked against the portable one by tests/native/kernel_check.c:
- here, with the default compiler and with clang: every variant this CPU runs;
- ARM64 (aarch64-linux-gnu-gcc), run under qemu-aarch64: both NEON tables on a CPU with dot
  products, and the baseline one chosen on a CPU without (Cortex-A53);
- Windows (x86_64-w64-mingw32-gcc): the library DLL and the check program, run under wine.
CI installs the tools (.ci/run); elsewhere a missing tool skips its test and names the package."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        uninstallable = os.environ.get("PLAYGROUND_CI_UNINSTALLABLE", "").split()
        if os.environ.get("CI") and package not in uninstallable:
            pytest.fail(f"{tool} is missing: .ci/run must install {package}")
        pytest.skip(f"{tool} is not installed (apt-get install {package})")
    return path


def _build(build: Path, *defines: str) -> Path:
    cmake = _need("cmake", "cmake")
    conf = subprocess.run([cmake, "-S", str(ROOT), "-B", str(build), "-DPG_BUILD_CHECK=ON", *defines],
                          capture_output=True, text=True, timeout=300)
    assert conf.returncode == 0, conf.stdout[-2000:] + conf.stderr[-3000:]
    out = subprocess.run([cmake, "--build", str(build), "-j2"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-3000:]
    return build


def _run(cmd: list[str], **kw) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].endswith(" 0 failed"), proc.stdout[-2000:]
    return proc.stdout


def test_every_variant_here_equals_the_portable_one(tmp_path):
    from playground.model import native

    build = _build(tmp_path / "b")
    out = _run([str(build / "kernel_check")])
    runs = native.runnable() or ["portable"]
    assert f"best variant here: {runs[0]}" in out
    for variant in runs[:-1]:  # each SIMD variant this CPU runs was compared
        assert f"\n{variant} " in out and "int8" in out


def test_clang_builds_and_checks_the_kernels(tmp_path):
    clang = _need("clang", "clang")
    build = _build(tmp_path / "b", f"-DCMAKE_C_COMPILER={clang}")
    _run([str(build / "kernel_check")])


def test_arm64_neon_equals_portable_under_qemu(tmp_path):
    gcc = _need("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    qemu = _need("qemu-aarch64", "qemu-user")
    build = _build(tmp_path / "b", "-DCMAKE_SYSTEM_NAME=Linux", "-DCMAKE_SYSTEM_PROCESSOR=aarch64",
                   f"-DCMAKE_C_COMPILER={gcc}")
    assert (build / "pgkernels.so").is_file()
    out = _run([qemu, "-cpu", "max", str(build / "kernel_check"), "neon", "neon-nodotprod"])
    assert "best variant here: neon (int8: dotprod)" in out  # the CPU has dot products: SDOT
    assert "int8 (dotprod)" in out and "int8 (neon)" in out  # both tables checked
    out = _run([qemu, "-cpu", "cortex-a53", str(build / "kernel_check"), "neon"])
    assert "best variant here: neon (int8: neon)" in out  # ARMv8.0: the baseline table is picked


def test_windows_build_equals_portable_under_wine(tmp_path):
    gcc = _need("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
    build = _build(tmp_path / "b", "-DCMAKE_SYSTEM_NAME=Windows", "-DCMAKE_SYSTEM_PROCESSOR=AMD64",
                   f"-DCMAKE_C_COMPILER={gcc}")
    dll = build / "pgkernels.dll"
    assert dll.is_file() and (build / "kernel_check.exe").is_file()
    objdump = shutil.which("x86_64-w64-mingw32-objdump")
    if objdump:  # the DLL exports the entry points Python binds, and needs no MinGW runtime DLL
        dump = subprocess.run([objdump, "-p", str(dll)], capture_output=True, text=True).stdout
        for name in ("pg_forward", "pg_gemm", "pg_kernels_for", "pg_set_threads", "pg_abi"):
            assert name in dump, name
        assert "libwinpthread" not in dump and "libgcc_s" not in dump
    wine = shutil.which("wine64") or shutil.which("wine")
    if wine is None:
        _need("wine", "wine64")  # skips (fails in CI) with the package to install
    env = {**os.environ, "WINEPREFIX": str(tmp_path / "wine"), "WINEDEBUG": "-all", "DISPLAY": ""}
    _run([wine, str(build / "kernel_check.exe")], env=env)
