"""`playground --self-test` and the Qt platform check behind it (and behind `make run`)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playground import qt_check, selftest

ROOT = Path(__file__).resolve().parents[2]


def test_self_test_passes_on_this_install(tmp_path):
    env = {**os.environ, "PLAYGROUND_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "playground", "--self-test"], capture_output=True, text=True,
                          timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    for name in ("qt", "kernels", "database", "teaching model", "default model"):
        assert any(line.startswith(f"ok   {name}:") for line in lines), (name, proc.stdout)
    from playground.model import native

    if native.library() is not None:  # the report names the variant in use
        assert f"ok   kernels: {native.library().describe()}" in proc.stdout
    assert lines[-1] == "self-test passed"


def test_self_test_fails_and_says_why(monkeypatch):
    import playground.loading.discovery as discovery

    monkeypatch.setattr(discovery, "teaching_checkpoint", lambda: None)
    monkeypatch.setattr(selftest, "check_qt", lambda: selftest.Result("qt", True, "not checked"))
    monkeypatch.setattr(selftest, "check_model", lambda label, path, required: selftest.Result(
        label, path is not None or not required, "missing" if path is None else "ok"))
    out = io.StringIO()
    assert selftest.run(out=out) == 1
    assert "FAIL teaching model: missing" in out.getvalue()
    assert out.getvalue().splitlines()[-1] == "self-test failed: teaching model"


@pytest.mark.parametrize("soname,package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"), ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"), ("libEGL.so.1", "libegl1"),
    ("libglib-2.0.so.0", "libglib2.0-0"), ("libdbus-1.so.3", "libdbus-1-3"), ("libfontconfig.so.1", "libfontconfig1"),
])
def test_sonames_map_to_debian_packages(soname, package):
    assert qt_check.debian_package(soname) == package


@pytest.fixture
def plugin_missing_a_library(tmp_path, monkeypatch):
    """A stand-in PySide6 whose xcb plugin links a library that is then removed, as on a desktop
    that lacks one of the plugin's libraries."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or shutil.which("ldd") is None or not sys.platform.startswith("linux"):
        pytest.skip("needs a C compiler and ldd (Linux) to make a library with a missing dependency")
    dep = tmp_path / "libpgmissing-icccm.so.4"
    (tmp_path / "dep.c").write_text("int pg_missing(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int pg_missing(void);\nint probe(void) { return pg_missing(); }\n")
    subprocess.run([cc, "-shared", "-fPIC", "-Wl,-soname,libpgmissing-icccm.so.4", "-o", str(dep),
                    str(tmp_path / "dep.c")], check=True)
    platforms = tmp_path / "PySide6" / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(platforms / "libqxcb.so"), str(tmp_path / "plugin.c"),
                    str(dep)], check=True)
    dep.unlink()
    monkeypatch.setattr(qt_check, "_pyside_dir", lambda: tmp_path / "PySide6")
    return platforms / "libqxcb.so"


def test_qt_check_names_missing_libraries_with_the_install_command(plugin_missing_a_library, monkeypatch):
    assert qt_check.missing_libraries(plugin_missing_a_library) == ["libpgmissing-icccm.so.4"]
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")  # a window would be tried: the check fails, naming the fix
    r = qt_check.check_qt()
    assert not r.ok and r.missing == ["libpgmissing-icccm4"]
    assert "sudo apt-get install libpgmissing-icccm4" in r.detail
    monkeypatch.delenv("DISPLAY")  # no display: the terminal chat works, the fix is still named
    r = qt_check.check_qt()
    assert r.ok and "libpgmissing-icccm4" in r.detail


def test_qt_check_starts_qt_in_a_child_process(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    r = qt_check.check_qt()
    assert r.ok and "Qt starts on platform offscreen" in r.detail, r.detail
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")  # a plugin that cannot load: a reason, no abort
    r = qt_check.check_qt()
    assert not r.ok and "did not load" in r.detail and "no-such-platform" in r.detail, r.detail
