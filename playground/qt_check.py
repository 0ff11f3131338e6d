"""Can Qt open a window here? Checked before the GUI starts (`make run`, `playground --self-test`),
so a missing system library gets a one-line fix instead of Qt's abort.

On Linux the xcb platform plugin needs a dozen X11/xcb libraries that minimal desktops and
containers lack (libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...; Qt's own message names
only the first it misses). `ldd` on the plugin lists every missing one; we map each to its
Debian/Ubuntu package and print the apt-get line (and Fedora's dnf names where known). Loading
the plugin for real happens in a child process (`playground --qt-probe`): a plugin that fails
aborts the process that loads it. No Qt is imported here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# sonames whose Debian package name the generic rule below gets wrong, and Fedora's names
_DEBIAN = {"libglib-2.0.so.0": "libglib2.0-0", "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1",
           "libOpenGL.so.0": "libopengl0", "libGLX.so.0": "libglx0", "libGLdispatch.so.0": "libglvnd0",
           "libX11.so.6": "libx11-6", "libX11-xcb.so.1": "libx11-xcb1"}
_FEDORA = {"libxcb-cursor0": "xcb-util-cursor", "libxcb-icccm4": "xcb-util-wm", "libxcb-keysyms1": "xcb-util-keysyms",
           "libxcb-image0": "xcb-util-image", "libxcb-render-util0": "xcb-util-renderutil",
           "libxcb-util1": "xcb-util", "libxkbcommon-x11-0": "libxkbcommon-x11", "libxkbcommon0": "libxkbcommon",
           "libegl1": "mesa-libEGL", "libgl1": "mesa-libGL", "libfontconfig1": "fontconfig",
           "libdbus-1-3": "dbus-libs"}


@dataclass
class QtCheck:
    ok: bool
    detail: str
    missing: list[str]  # Debian package names of missing libraries


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships a library: libxcb-icccm.so.4 → libxcb-icccm4,
    libxkbcommon-x11.so.0 → libxkbcommon-x11-0 (a hyphen where the name ends in a digit)."""
    if soname in _DEBIAN:
        return _DEBIAN[soname]
    m = re.match(r"^(lib[\w.+-]+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    base, version = m.group(1).lower(), m.group(2)
    return f"{base}-{version}" if base[-1].isdigit() else f"{base}{version}"


def install_command(packages: list[str]) -> str:
    apt = f"sudo apt-get install {' '.join(packages)}"
    fedora = [_FEDORA[p] for p in packages if p in _FEDORA]
    return apt + (f"   (Fedora: sudo dnf install {' '.join(fedora)})" if fedora else "")


def _pyside_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _qt_dir(pyside: Path) -> Path:
    """Qt's folder inside PySide6 (a bundle made by PyInstaller keeps the same layout)."""
    return pyside / "Qt" if (pyside / "Qt").is_dir() else pyside


def missing_libraries(library: Path) -> list[str]:
    """Sonames `ldd` reports as not found for this library (Linux; [] where ldd is absent)."""
    ldd = shutil.which("ldd")
    if not ldd or not library.is_file():
        return []
    try:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]
    return list(dict.fromkeys(found))


def _display() -> str:
    """What Qt would show a window on: the forced platform, or the session's display ('' for none)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return os.environ["QT_QPA_PLATFORM"]
    if sys.platform.startswith("linux"):
        return "wayland" if os.environ.get("WAYLAND_DISPLAY") else ("xcb" if os.environ.get("DISPLAY") else "")
    return "native"


def probe_command() -> list[str]:
    """The child process that loads the platform plugin: this interpreter, or the frozen app itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--qt-probe"]
    return [sys.executable, "-m", "playground", "--qt-probe"]


def check_qt(live: bool = True) -> QtCheck:
    """Whether a window can open here; failing only where one would be tried (a display exists)."""
    pyside = _pyside_dir()
    if pyside is None:
        return QtCheck(False, "PySide6 is not installed: pip install PySide6-Essentials", [])
    display = _display()
    missing: list[str] = []
    if sys.platform.startswith("linux"):
        plugin = _qt_dir(pyside) / "plugins" / "platforms" / "libqxcb.so"
        missing = list(dict.fromkeys(debian_package(s) for s in missing_libraries(plugin)))
    if missing:
        fix = f"Qt's window (xcb) needs system libraries that are missing: {', '.join(missing)}. " \
              f"Install them with:\n    {install_command(missing)}"
        if display in ("xcb", ""):
            if not display:  # no window would open anyway: the terminal chat works
                return QtCheck(True, f"no display here (DISPLAY unset). {fix}", missing)
            return QtCheck(False, fix, missing)
    if not display:
        return QtCheck(True, "no display here (DISPLAY unset): the window cannot open, the terminal chat can; "
                             "the platform plugin's libraries are all present", [])
    if not live:
        return QtCheck(True, f"platform {display}: libraries present (not started)", [])
    try:
        proc = subprocess.run(probe_command(), capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return QtCheck(False, f"Qt did not start on {display} within 120 s", missing)
    if proc.returncode == 0 and proc.stdout.strip():
        return QtCheck(True, f"Qt starts on platform {proc.stdout.strip().splitlines()[-1]}", missing)
    tail = " ".join(line.strip() for line in (proc.stderr or "").strip().splitlines()[-3:])
    return QtCheck(False, f"Qt's platform plugin did not load on {display}: {tail or f'exit {proc.returncode}'}",
                   missing)


def probe() -> int:
    """Load the platform plugin and say which one it is (the child process of check_qt)."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])
    print(app.platformName())
    return 0
