"""The desktop integration in packaging/: a .desktop entry, icons in the usual sizes, and AppStream
metainfo that `appstreamcli validate` passes (what software centres read)."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
APP_ID = "io.github.playgroundllm.Playground"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        uninstallable = os.environ.get("PLAYGROUND_CI_UNINSTALLABLE", "").split()
        if os.environ.get("CI") and package not in uninstallable:
            pytest.fail(f"{name} is missing: .ci/run must install {package}")
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return path


def test_appstream_metainfo_validates():
    tool = _tool("appstreamcli", "appstream")
    meta = PACKAGING / f"{APP_ID}.metainfo.xml"
    proc = subprocess.run([tool, "validate", "--no-net", str(meta)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = ET.parse(meta).getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"


def test_desktop_entry_validates_and_names_the_icon():
    entry = PACKAGING / f"{APP_ID}.desktop"
    tool = shutil.which("desktop-file-validate")
    if tool:  # desktop-file-utils: also in .ci/run
        proc = subprocess.run([tool, str(entry)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout + proc.stderr
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.optionxform = str
    cfg.read(entry)
    d = cfg["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"].split()[0] == "playground" and d["Icon"] == APP_ID


@pytest.mark.parametrize("size", SIZES)
def test_icons_in_the_usual_sizes(size):
    png = PACKAGING / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (size, size)
