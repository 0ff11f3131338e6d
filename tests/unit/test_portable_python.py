"""Playground's Python runs where Unix-only modules do not exist (Windows): every module of the
package imports, and the CLI answers --help, with `resource`, `fcntl`, `termios` and `pwd`
unavailable to our code. (Third-party packages keep them: psutil's Linux module needs
`resource` here, and on Windows it loads its Windows module instead.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_WINDOWS_LIKE = r'''
import importlib.abc, io, pkgutil, sys, contextlib

UNIX_ONLY = {"resource", "fcntl", "termios", "pwd"}

class NoUnixModules(importlib.abc.MetaPathFinder):
    """Refuses the Unix-only modules to any importer inside the playground package."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in UNIX_ONLY:
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
            frame = frame.f_back
        importer = frame.f_globals.get("__name__", "") if frame is not None else ""
        if importer == "playground" or importer.startswith("playground."):
            raise ModuleNotFoundError(f"No module named {name!r} (a Windows-like interpreter)", name=name)
        return None

for m in UNIX_ONLY:
    sys.modules.pop(m, None)
sys.meta_path.insert(0, NoUnixModules())

import os
import playground
if os.environ.get("PROBE_DIR"):  # the test that the check can fail adds a module here
    playground.__path__.append(os.environ["PROBE_DIR"])
# every module, __main__ too (importing it must not start the app)
names = [m.name for m in pkgutil.walk_packages(playground.__path__, "playground.")]
failed = []
for name in names:
    try:
        importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        failed.append(f"{name}: {type(e).__name__}: {e}")
print("modules", len(names))
print("failed", failed)

from playground import cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        cli.main(["--help"])
    except SystemExit as e:
        print("exit", e.code, file=sys.stderr)
print("help", "usage: playground" in out.getvalue() and "--self-test" in out.getvalue())
print("peak", cli._peak_rss_mb() is not None and cli._peak_rss_mb() > 0)
'''


def test_every_module_imports_and_help_works_without_unix_only_modules():
    proc = subprocess.run([sys.executable, "-c", _WINDOWS_LIKE], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert int(lines["modules"]) > 40  # the walk found the whole package
    assert lines["failed"] == "[]", lines["failed"]
    assert lines["help"] == "True", proc.stdout
    assert "exit 0" in proc.stderr
    assert lines["peak"] == "True"  # peak memory from psutil where resource is missing


def test_the_blocker_catches_a_unix_only_import(tmp_path):
    """The check can fail: a module of ours importing `resource` at the top is reported."""
    import os

    (tmp_path / "_unix_only_probe.py").write_text("import resource\n")
    proc = subprocess.run([sys.executable, "-c", _WINDOWS_LIKE], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "PROBE_DIR": str(tmp_path)}, stdin=subprocess.DEVNULL)
    assert "playground._unix_only_probe: ModuleNotFoundError" in proc.stdout, proc.stdout + proc.stderr[-2000:]
