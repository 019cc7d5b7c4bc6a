"""Light and dark looks: Fusion with our palettes and a small style sheet, following the system's scheme."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from .resources import resources_dir

THEME_CHOICES = ("system", "light", "dark")


@dataclass(frozen=True)
class Colours:
    """The colours of one look; the plot and custom-painted widgets read them too."""

    dark: bool
    window: str
    panel: str       # sidebar and cards
    base: str        # text fields, lists, the plot
    alternate: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    warning: str
    error: str
    success: str


LIGHT = Colours(dark=False, window="#f3f2f7", panel="#ffffff", base="#ffffff", alternate="#f6f5fa",
                text="#1f1d2b", muted="#6c6a7c", border="#dcdae6", accent="#6246ea", accent_text="#ffffff",
                warning="#a05a00", error="#c0263a", success="#1f8a4c")
DARK = Colours(dark=True, window="#17161d", panel="#201f28", base="#1b1a22", alternate="#24232d",
               text="#ebeaf2", muted="#a3a1b5", border="#34323f", accent="#8b74ff", accent_text="#ffffff",
               warning="#f0b44c", error="#ff6b7d", success="#4cc98a")

# Okabe-Ito: eight colours that stay distinct for the common kinds of colour blindness.
SERIES_COLOURS = ("#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#0072b2", "#d55e00", "#f0e442", "#999999")

_current = LIGHT


def current() -> Colours:
    return _current


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve(choice: str) -> Colours:
    if choice == "dark":
        return DARK
    if choice == "light":
        return LIGHT
    return DARK if system_prefers_dark() else LIGHT


def _palette(colours: Colours) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    values = {
        role.Window: colours.window, role.WindowText: colours.text, role.Base: colours.base,
        role.AlternateBase: colours.alternate, role.ToolTipBase: colours.panel, role.ToolTipText: colours.text,
        role.PlaceholderText: colours.muted, role.Text: colours.text, role.Button: colours.panel,
        role.ButtonText: colours.text, role.BrightText: colours.error, role.Highlight: colours.accent,
        role.HighlightedText: colours.accent_text, role.Link: colours.accent, role.LinkVisited: colours.accent,
        role.Light: colours.panel, role.Midlight: colours.alternate, role.Mid: colours.border,
        role.Dark: colours.border, role.Shadow: "#000000",
    }
    for colour_role, value in values.items():
        palette.setColor(colour_role, QColor(value))
    for colour_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, colour_role, QColor(colours.muted))
    return palette


def blend(colour: str, towards: str, share: float) -> str:
    """`colour` moved `share` (0 to 1) of the way towards `towards`, as a #rrggbb name."""
    start, end = QColor(colour), QColor(towards)
    mixed = [round(a + (b - a) * share) for a, b in ((start.red(), end.red()), (start.green(), end.green()),
                                                       (start.blue(), end.blue()))]
    return QColor(*mixed).name()


def style_sheet(c: Colours) -> str:
    # Radio buttons and check boxes are drawn here, not by Fusion: its outline is the window colour darkened,
    # which on the dark look's #17161d left them nearly invisible. The tick is white on the accent in both looks.
    tick = (resources_dir() / "icons" / "check-mark.svg").as_posix()
    hover = "#2c2a37" if c.dark else "#eeecf6"
    # Muted text is for secondary words that are still live; a disabled button fades further, to read as off.
    disabled_text = blend(c.muted, c.window, 0.5)
    return f"""
    QWidget#sidebar {{ background: {c.panel}; border-right: 1px solid {c.border}; }}
    QListWidget#pageList {{ background: transparent; border: none; outline: none; }}
    QListWidget#pageList::item {{ padding: 9px 10px; margin: 2px 8px; border-radius: 8px; color: {c.text}; }}
    QListWidget#pageList::item:hover {{ background: {hover}; }}
    QListWidget#pageList::item:selected {{ background: {c.accent}; color: {c.accent_text}; }}
    QLabel#appTitle {{ font-size: 15px; font-weight: 600; }}
    QLabel[role="h1"] {{ font-size: 20px; font-weight: 600; }}
    QLabel[role="h2"] {{ font-size: 14px; font-weight: 600; }}
    QLabel[role="muted"] {{ color: {c.muted}; }}
    QLabel[role="big"] {{ font-size: 16px; font-weight: 600; }}
    QFrame[card="true"] {{ background: {c.panel}; border: 1px solid {c.border}; border-radius: 10px; }}
    QFrame#dropZone {{ border: 2px dashed {c.border}; border-radius: 14px; background: {c.panel}; }}
    QFrame#dropZone[dragging="true"] {{ border-color: {c.accent}; background: {hover}; }}
    QPushButton {{ padding: 6px 14px; border-radius: 7px; border: 1px solid {c.border}; background: {c.panel}; }}
    QPushButton:hover {{ background: {hover}; }}
    QPushButton:disabled {{ color: {disabled_text}; background: {c.window}; }}
    QPushButton[primary="true"] {{ background: {c.accent}; color: {c.accent_text}; border: 1px solid {c.accent};
                                   font-weight: 600; }}
    QPushButton[primary="true"]:hover {{ background: {QColor(c.accent).lighter(112).name()}; }}
    QPushButton[primary="true"]:disabled {{ background: {c.border}; border-color: {c.border}; color: {disabled_text}; }}
    QPushButton[flat="true"] {{ border: none; background: transparent; padding: 4px 8px; }}
    QPushButton[flat="true"]:hover {{ background: {hover}; }}
    QRadioButton::indicator {{ width: 12px; height: 12px; border-radius: 7px; border: 1px solid {c.muted};
                               background: {c.base}; }}
    QRadioButton::indicator:hover {{ border-color: {c.accent}; }}
    QRadioButton::indicator:checked {{ border-color: {c.accent}; background: qradialgradient(cx: 0.5, cy: 0.5,
        radius: 0.5, fx: 0.5, fy: 0.5, stop: 0 {c.accent}, stop: 0.55 {c.accent}, stop: 0.65 {c.base}, stop: 1 {c.base}); }}
    QRadioButton::indicator:disabled {{ border-color: {c.border}; }}
    QCheckBox::indicator {{ width: 12px; height: 12px; border-radius: 3px; border: 1px solid {c.muted};
                            background: {c.base}; }}
    QCheckBox::indicator:hover {{ border-color: {c.accent}; }}
    QCheckBox::indicator:checked {{ border-color: {c.accent}; background: {c.accent}; image: url("{tick}"); }}
    QCheckBox::indicator:disabled {{ border-color: {c.border}; }}
    QToolButton {{ border-radius: 6px; padding: 4px; }}
    QToolButton:hover {{ background: {hover}; }}
    QFrame#banner {{ border-radius: 9px; border: 1px solid {c.border}; background: {c.panel}; }}
    QFrame#banner[level="warning"] {{ border-color: {c.warning}; }}
    QFrame#banner[level="error"] {{ border-color: {c.error}; }}
    QFrame#banner[level="info"] {{ border-color: {c.accent}; }}
    QProgressBar {{ border: 1px solid {c.border}; border-radius: 6px; background: {c.base}; text-align: center;
                    min-height: 18px; }}
    QProgressBar::chunk {{ background: {c.accent}; border-radius: 5px; }}
    QGroupBox {{ font-weight: 600; border: none; margin-top: 12px; padding-top: 6px; }}
    QGroupBox::title {{ subcontrol-origin: margin; left: 0px; padding: 0; }}
    QScrollArea {{ border: none; background: transparent; }}
    QStatusBar {{ border-top: 1px solid {c.border}; }}
    QToolTip {{ border: 1px solid {c.border}; padding: 5px; }}
    """


def apply(app: QApplication, choice: str) -> Colours:
    """Give the whole app the look `choice` names (system, light or dark); the colours applied."""
    global _current
    colours = resolve(choice)
    _current = colours
    app.setStyle("Fusion")
    app.setPalette(_palette(colours))
    app.setStyleSheet(style_sheet(colours))
    pg.setConfigOption("background", colours.base)
    pg.setConfigOption("foreground", colours.muted)
    return colours
