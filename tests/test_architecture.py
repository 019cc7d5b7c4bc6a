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


def _imports(path: Path, package: str) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every import in a source file, relative imports resolved against `package`."""
    import ast
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
    return found


def _package_of(path: Path, root: Path) -> str:
    """The package a relative import in `path` starts from: the folder it is in (for __init__.py too)."""
    return ".".join(path.parent.relative_to(root.parent).parts)


GANSTUDIO = Path(ganstudio.core.__file__).parent.parent
# The core's insides that front ends reach only through the registry: a model's own file and its networks.
def model_internals() -> tuple[str, ...]:
    """The networks' package and every registered model's own module: what front ends must not import."""
    from ganstudio.core.registry import recipes
    return ("ganstudio.core.models", *sorted({recipe.__module__ for recipe in recipes()}))


def test_the_import_contract():
    """core imports neither gui nor cli; gui and cli import core's public modules only, never a model's own
    files or a private name."""
    internals = model_internals()
    assert "ganstudio.core.recipes.dcgan" in internals
    for path in sorted(GANSTUDIO.rglob("*.py")):
        module_package = _package_of(path, GANSTUDIO)
        for module, names in _imports(path, module_package):
            where = f"{path.relative_to(GANSTUDIO.parent)} imports {module}"
            if module_package.startswith("ganstudio.core"):
                assert not module.startswith(("ganstudio.gui", "ganstudio.cli")), where
            if module_package.startswith("ganstudio.gui") or path.name == "cli.py":
                targets = [module] + [f"{module}.{name}" for name in names]
                assert not any(target.startswith(internals) for target in targets), where
                if module.startswith("ganstudio.core"):
                    assert not any(name.startswith("_") for name in names), f"{where}: a private name"


def test_no_model_is_named_outside_its_own_files():
    """The front ends and the converter are built from the registry: no model's name is written in them."""
    import re
    from ganstudio.core.registry import recipes
    # The models that ship; test plugins another test registered in this process are not at stake here.
    names = [recipe.name for recipe in recipes() if recipe.__module__.startswith("ganstudio.core.recipes.")]
    assert {"dcgan", "cyclegan"} <= set(names)
    sources = [*sorted((GANSTUDIO / "gui").rglob("*.py")), GANSTUDIO / "cli.py", GANSTUDIO / "core" / "translate.py"]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for name in names:
            assert not re.search(rf"\b{re.escape(name)}\b", text), f"{path.relative_to(GANSTUDIO.parent)} names {name}"


def test_pages_do_not_import_each_other():
    pages = GANSTUDIO / "gui" / "pages"
    page_modules = {f"ganstudio.gui.pages.{path.stem}" for path in pages.glob("*_page.py")}
    for path in pages.glob("*.py"):
        for module, names in _imports(path, "ganstudio.gui.pages"):
            targets = {module} | {f"{module}.{name}" for name in names}
            assert not (targets & page_modules), f"{path.name} imports {targets & page_modules}"
