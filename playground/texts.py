"""The core's user-facing texts in the interface's language, without importing Qt.

The core (loading, sessions, records, training…) says things people read: a reply's stats line,
a notice, an error. It writes them as `translate("Context", "English text with {fields}")
.format(...)`, the same call Qt's `pyside6-lupdate` extracts from the interface's sources, so
they land in `resources/i18n/playground_<lang>.ts` with the rest. While no interface is running
(the terminal chat, the server, tests) `translate` returns the English text; the interface
installs Qt's translator here (`set_translator`, done by ui/i18n.py) and from then on the core
speaks the interface's language.
"""

from __future__ import annotations

from collections.abc import Callable

_translator: Callable[[str, str], str] | None = None


def set_translator(fn: Callable[[str, str], str] | None) -> None:
    """Route `translate` through `fn(context, text)` (Qt's QCoreApplication.translate), or back to
    English with None."""
    global _translator
    _translator = fn


def translate(context: str, text: str) -> str:
    """`text` in the interface's language (English when none is installed). Keep `text` a literal
    at the call, so lupdate finds it; put values in with .format() after."""
    if _translator is None:
        return text
    try:
        return _translator(context, text) or text
    except Exception:  # a translator that fails must never cost the message
        return text


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (lupdate looks for this name)
    """Marks a text for lupdate where it is defined (a table of names); translate it where it is shown."""
    return text
