"""Build the self-contained desktop bundle: a folder with `playground` and everything it needs
(Python, the CPU build of torch, Qt, the native kernels, the shipped data), and an archive of it.

    python packaging/build_bundle.py            # → packaging/dist/playground/ and a .tar.gz (.zip on Windows)

Steps: the wheel (python -m build, which compiles the kernels), a clean build environment
(packaging/build/venv) with the CPU build of torch, the wheel and PyInstaller, then PyInstaller
with packaging/playground.spec. TORCH_INDEX_URL points pip at the CPU wheels where the default
index would give a CUDA build (https://download.pytorch.org/whl/cpu on Linux and Windows). The
bundle's own check: `packaging/dist/playground/playground --self-test` (under xvfb-run on a
server). The same script runs on Windows and macOS (see .github/workflows/build.yml).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TORCH = "torch==2.13.0"


def run(*cmd, **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reuse", action="store_true",
                    help="keep packaging/build/venv and PyInstaller's cache if they are there (a quicker rebuild)")
    args = ap.parse_args()
    t0 = time.time()
    build, dist = HERE / "build", HERE / "dist"
    wheels = build / "wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    run(sys.executable, "-m", "build", "--wheel", "--outdir", wheels, ROOT)
    (wheel,) = wheels.glob("*.whl")

    env = build / "venv"
    py = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not (args.reuse and py.exists()):
        shutil.rmtree(env, ignore_errors=True)
        venv.create(env, with_pip=True)
        torch = [TORCH] + (["--index-url", os.environ["TORCH_INDEX_URL"]] if os.environ.get("TORCH_INDEX_URL") else [])
        run(py, "-m", "pip", "install", "-q", *torch)
        run(py, "-m", "pip", "install", "-q", "pyinstaller>=6.10")
    run(py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", wheel)
    run(py, "-m", "pip", "install", "-q", wheel)  # its dependencies (torch is there already)

    shutil.rmtree(dist / "playground", ignore_errors=True)
    clean = [] if args.reuse else ["--clean"]  # --reuse also keeps PyInstaller's analysis cache
    run(py, "-m", "PyInstaller", "--noconfirm", *clean, "--distpath", dist, "--workpath", build / "pyinstaller",
        HERE / "playground.spec")
    folder = dist / "playground"
    strip_libraries(folder)
    name = f"playground-{_version(py)}-{sys.platform}-{platform.machine().lower()}"
    fmt = "zip" if os.name == "nt" else "gztar"
    archive = shutil.make_archive(str(dist / name), fmt, root_dir=dist, base_dir="playground")
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print(f"bundle: {folder} ({size / 2**20:.0f} MiB), archive: {archive} "
          f"({Path(archive).stat().st_size / 2**20:.0f} MiB), built in {time.time() - t0:.0f} s")
    return 0


def strip_libraries(folder: Path) -> None:
    """Strip symbols from the bundle's shared libraries (Linux; ~130 MB less), except those that
    auditwheel repaired (in a `<package>.libs` folder): patchelf moved their segments, and strip
    breaks them ("ELF load command address/offset not page-aligned")."""
    strip = shutil.which("strip")
    if not sys.platform.startswith("linux") or strip is None:
        return
    for f in folder.rglob("*.so*"):
        if f.is_file() and not f.is_symlink() and not any(p.endswith(".libs") for p in f.parts):
            subprocess.run([strip, "--strip-unneeded", str(f)], capture_output=True)


def _version(py: Path) -> str:
    out = subprocess.run([str(py), "-c", "from importlib.metadata import version; print(version('playground-llm'))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
