"""The question the app asks before an export or a save replaces files that are already there."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from ...core.printable import printable_name

# The question lists this many names; more are counted, not listed (a dialog taller than the screen helps no one).
LISTED_NAMES = 5


def replace_question(paths: list[Path]) -> tuple[str, str]:
    """The question's text and its detail: 'Replace seed_0000007.png?', or how many files, naming the first few."""
    folder = paths[0].parent
    if len(paths) == 1:
        return (f"Replace {printable_name(paths[0].name)}?",
                f"It is already in {printable_name(str(folder))}. Replacing it cannot be undone.")
    names = ", ".join(printable_name(path.name) for path in paths[:LISTED_NAMES])
    more = f" and {len(paths) - LISTED_NAMES:,} more" if len(paths) > LISTED_NAMES else ""
    return (f"Replace {len(paths):,} files?",
            f"{names}{more} are already in {printable_name(str(folder))}. Replacing them cannot be undone.")


def ask_to_replace(parent: QWidget, paths: list[Path]) -> bool:
    """Ask before replacing `paths`: True for Yes (replace), False for No (keep them and write nothing)."""
    text, detail = replace_question(paths)
    box = QMessageBox(QMessageBox.Icon.Question, "Replace files?", text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setInformativeText(detail)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes
