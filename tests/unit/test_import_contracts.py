"""The import-linter contracts in pyproject.toml can fail: a copy of the package with a forbidden
import breaks the contract that forbids it (`make test` runs them on the real package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import playground

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter's own dependency
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
WINDOW_NO_STORAGE = "The window imports no storage directly (history goes through the session)"


def _contract(name: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["name"] == name)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_the_window_imports_no_storage_contract_fails_on_a_violation(tmp_path):
    contract = _contract(WINDOW_NO_STORAGE)
    # the package under another name, so the editable install's `playground` cannot stand in for it
    copy = tmp_path / "pgcopy"
    shutil.copytree(Path(playground.__file__).parent, copy,
                    ignore=shutil.ignore_patterns("__pycache__", "lib", "*.so", "*.dll", "*.dylib"))
    chat_view = copy / "ui" / "chat_view.py"
    chat_view.write_text(chat_view.read_text(encoding="utf-8") + "\nfrom ..storage import Store  # noqa\n",
                         encoding="utf-8")
    renamed = {k: [m.replace("playground", "pgcopy", 1) for m in v] if isinstance(v, list) else v
               for k, v in contract.items()}
    lines = ['[tool.importlinter]', 'root_package = "pgcopy"', "", "[[tool.importlinter.contracts]]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in renamed.items()]
    (tmp_path / "contracts.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lint = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    run = subprocess.run([sys.executable, "-c", lint, "--no-cache", "contracts.toml"], cwd=tmp_path,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BROKEN" in run.stdout and "pgcopy.ui.chat_view -> pgcopy.storage" in run.stdout
