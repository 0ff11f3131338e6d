"""Render packaging/icons/playground.svg to PNG icons in the sizes desktops use (hicolor theme:
16-512 px; Windows .ico and macOS .icns are made from these by the bundle recipe).

    QT_QPA_PLATFORM=offscreen python packaging/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
HERE = Path(__file__).resolve().parent / "icons"


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs the application object
    svg = QSvgRenderer(str(HERE / "playground.svg"))
    for size in SIZES:
        img = QImage(size, size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        svg.render(p, QRectF(0, 0, size, size))
        p.end()
        out = HERE / "hicolor" / f"{size}x{size}" / "apps" / "io.github.playgroundllm.Playground.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(str(out))
        print(out.relative_to(HERE.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
