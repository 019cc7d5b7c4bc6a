"""The layering rules of ARCHITECTURE.md: the core and the CLI never import Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import ganstudio.core

BLOCK_QT = """
import importlib.abc, sys
class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6'):
            raise ImportError(f'{name} is not importable in this test')
sys.meta_path.insert(0, NoQt())
"""


def core_modules() -> list[str]:
    root = Path(ganstudio.core.__file__).parent
    return sorted(info.name for info in pkgutil.walk_packages([str(root)], prefix="ganstudio.core."))


def test_every_core_module_imports_without_qt():
    modules = core_modules() + ["ganstudio.cli"]
    assert len(modules) > 20
    script = BLOCK_QT + "\n".join(f"import {name}" for name in modules) + "\nprint('ok')\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_cli_commands_run_without_qt(tmp_path):
    script = BLOCK_QT + "from ganstudio.cli import main\nraise SystemExit(main(['check', '--help']))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_no_core_source_mentions_qt():
    root = Path(ganstudio.core.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("PySide6", "pyqtgraph", "ganstudio.gui"):
            assert name not in text, f"{path} mentions {name}"
