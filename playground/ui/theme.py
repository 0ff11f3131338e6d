"""The application's look: light or dark as the system is, in the platform's own style and font.

On macOS and Windows the native style draws the controls and follows the system's colour
scheme itself. Elsewhere (Linux desktops, where styles vary most) the Fusion style draws them
with one of two palettes below, chosen by Qt's `QStyleHints.colorScheme()` (Qt 6.5+) and
switched when the system switches. `PLAYGROUND_THEME=light|dark` overrides the system, for
screenshots and for people who want the other one. Fonts are left to the platform.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

R = QPalette.ColorRole
LIGHT = {
    R.Window: "#f3f3f3", R.WindowText: "#1f1f1f", R.Base: "#ffffff", R.AlternateBase: "#f5f5f7",
    R.Text: "#1f1f1f", R.Button: "#f7f7f7", R.ButtonText: "#1f1f1f", R.BrightText: "#ffffff",
    R.Highlight: "#2f6fdb", R.HighlightedText: "#ffffff", R.Link: "#1a5fd0", R.LinkVisited: "#6a3fc0",
    R.ToolTipBase: "#ffffff", R.ToolTipText: "#1f1f1f", R.PlaceholderText: "#6b6b6b",
    R.Light: "#ffffff", R.Midlight: "#e6e6e6", R.Mid: "#c4c4c4", R.Dark: "#9a9a9a", R.Shadow: "#5c5c5c",
}
DARK = {
    R.Window: "#202124", R.WindowText: "#e8e8e8", R.Base: "#17181a", R.AlternateBase: "#25262a",
    R.Text: "#e8e8e8", R.Button: "#2d2e32", R.ButtonText: "#e8e8e8", R.BrightText: "#ffffff",
    R.Highlight: "#3d7be6", R.HighlightedText: "#ffffff", R.Link: "#7fb0ff", R.LinkVisited: "#b59cff",
    R.ToolTipBase: "#2d2e32", R.ToolTipText: "#e8e8e8", R.PlaceholderText: "#9a9a9a",
    R.Light: "#3a3b40", R.Midlight: "#333438", R.Mid: "#26272b", R.Dark: "#141517", R.Shadow: "#000000",
}
# a little more air than Fusion's defaults, the same on every platform that uses it
STYLE_SHEET = """
QToolBar { spacing: 6px; padding: 4px; }
QStatusBar QLabel { padding: 0 4px; }
QTabBar::tab { padding: 5px 12px; }
"""


def scheme(app: QGuiApplication | None = None) -> str:
    """'light' or 'dark': PLAYGROUND_THEME if set, else the system's colour scheme, else the
    lightness of the palette the platform gave us."""
    forced = os.environ.get("PLAYGROUND_THEME", "").strip().lower()
    if forced in ("light", "dark"):
        return forced
    app = app or QGuiApplication.instance()
    if app is None:
        return "light"
    cs = app.styleHints().colorScheme()
    if cs == Qt.ColorScheme.Dark:
        return "dark"
    if cs == Qt.ColorScheme.Light:
        return "light"
    return "dark" if app.palette().color(R.Window).lightness() < 128 else "light"


def palette(name: str) -> QPalette:
    """The palette of the 'light' or 'dark' theme, disabled text greyed in both."""
    colors = DARK if name == "dark" else LIGHT
    pal = QPalette()
    for role, color in colors.items():
        pal.setColor(role, QColor(color))
    disabled = QColor(colors[R.PlaceholderText])
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return pal


def native_style() -> str | None:
    """The platform style that follows the system's colour scheme by itself, where there is one."""
    keys = {k.lower(): k for k in QStyleFactory.keys()}
    if sys.platform == "darwin":
        return keys.get("macos")
    if sys.platform == "win32":
        return keys.get("windows11") or keys.get("windowsvista")
    return None


def apply_theme(app: QApplication) -> str:
    """Style the application and keep it in step with the system. Returns the theme applied."""
    native = native_style() if not os.environ.get("PLAYGROUND_THEME") else None
    if native:
        app.setStyle(native)
    else:
        app.setStyle("Fusion")
        app.setPalette(palette(scheme(app)))
        app.styleHints().colorSchemeChanged.connect(lambda *_: app.setPalette(palette(scheme(app))))
    app.setStyleSheet(STYLE_SHEET)
    return scheme(app)
