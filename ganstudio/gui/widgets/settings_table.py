"""A page's generic run settings, a row each, declared once: widget, config field, a run's value, what is remembered.

A `Setting` names its widget kind (choice, int, float, check), the config field it fills (a dotted path
such as `train.lr_g`), its key in the app's settings (under the page's prefix), its row label, tooltip
and the form it goes in. A `Length` is the "how long" pair: a kind (automatic, minutes, epochs, steps)
and an amount row that hides for Automatic. A `SettingsTable` does the same five things for every row:
build, write into a RunConfig, show a RunConfig, save and restore. The chosen model's own options are
not here: `ModelPicker` (forms.py) builds those from the model's declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from ...core.config import RunConfig
from ..settings import AppSettings
from .forms import add_setting_row, field_label, select_data, shrinkable_combo

CHOICE, INT, FLOAT, CHECK = "choice", "int", "float", "check"
LENGTHS = {
    "auto": "Automatic",
    "minutes": "Minutes",
    "epochs": "Epochs",
    "steps": "Steps",
}
# Floats go into the config rounded to 8 places: a spin box's 0.0002 reads back as 0.00020000000000000001.
CONFIG_PLACES = 8


def _get(config: RunConfig, field: str) -> Any:
    section, name = field.split(".")
    return getattr(getattr(config, section), name)


def _set(config: RunConfig, field: str, value: Any) -> None:
    section, name = field.split(".")
    setattr(getattr(config, section), name, value)


@dataclass(frozen=True)
class Setting:
    """One row: a widget of `kind` that fills the config's `field` and is remembered as `<prefix>/<key>`.

    A choice lists (value, words[, tip]) `items`; an int or float spin box has `minimum`..`maximum`, and
    shows `special` at its minimum ("Automatic" for 0). `place` names the form the row goes in.
    """

    key: str
    field: str
    kind: str
    label: str
    tooltip: str
    default: Any
    items: tuple = ()
    minimum: float = 0
    maximum: float = 2**31 - 1
    decimals: int = 2
    step: float = 1
    suffix: str = ""
    special: str = ""
    place: str = "main"

    def make(self) -> QWidget:
        if self.kind == CHOICE:
            widget = shrinkable_combo()
            fill_choice(widget, self.items)
        elif self.kind == CHECK:
            widget = QCheckBox(self.label)
        elif self.kind == INT:
            widget = QSpinBox()
            widget.setRange(int(self.minimum), int(self.maximum))
        else:
            widget = QDoubleSpinBox()
            widget.setDecimals(self.decimals)
            widget.setRange(self.minimum, self.maximum)
            widget.setSingleStep(self.step)
        if self.kind in (INT, FLOAT):
            widget.setSuffix(self.suffix)
            widget.setSpecialValueText(self.special)
        widget.setToolTip(self.tooltip)
        return widget


def fill_choice(box: QComboBox, items) -> None:
    """List (value, words[, tip]) items in `box`, replacing what it held."""
    box.blockSignals(True)
    box.clear()
    for value, words, *tip in items:
        box.addItem(words, value)
        if tip and tip[0]:
            box.setItemData(box.count() - 1, tip[0], Qt.ItemDataRole.ToolTipRole)
    box.blockSignals(False)


def read_widget(widget: QWidget) -> Any:
    if isinstance(widget, QComboBox):
        return widget.currentData()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    return widget.value()


def show_value(widget: QWidget, value: Any) -> bool:
    """Show `value`; False when a choice does not list it (and nothing changes)."""
    if isinstance(widget, QComboBox):
        return select_data(widget, value)
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    else:
        # Clamped here: a seed of 2**40 overflows a QSpinBox's setValue rather than being clamped by it.
        widget.setValue(min(max(value, widget.minimum()), widget.maximum()))
    return True


@dataclass(frozen=True)
class Length:
    """How long to train: a kind (automatic, minutes, epochs, steps) and an amount, each kind its own amount.

    Remembered as `<prefix>/length` (the kind) and `<prefix>/length_<kind>` (that kind's amount);
    `defaults` are the amounts a kind starts at before it was ever saved.
    """

    tooltip: str
    defaults: dict
    key: str = "length"
    label: str = "Length"
    place: str = "main"

    @property
    def amount_key(self) -> str:
        return f"{self.key}_amount"


@dataclass
class _LengthRow:
    """The widgets of a Length and the amount typed for each kind this session."""

    length: Length
    choice: QComboBox
    amount: QDoubleSpinBox
    form: QFormLayout
    amounts: dict
    kind: str = "auto"


class SettingsTable:
    """The rows a page declares, remembered under `prefix/` in `settings`; `build` puts them in their forms."""

    def __init__(self, rows, settings: AppSettings, prefix: str):
        self.rows = tuple(rows)
        self.settings = settings
        self.prefix = prefix
        self._widgets: dict[str, QWidget] = {}
        self._forms: dict[str, QFormLayout] = {}
        self._length: _LengthRow | None = None
        # A choice's value asked for before the choice lists it (the devices arrive with the machine probe).
        self._wanted: dict[str, Any] = {}

    def __getitem__(self, name: str) -> QWidget:
        """The widget of the row `name` (its key); a Length's amount is `<key>_amount`."""
        return self._widgets[name]

    def values(self) -> dict[str, Any]:
        """What every row shows now, by name (a Length's kind and amount as two)."""
        return {name: read_widget(widget) for name, widget in self._widgets.items()}

    def row_shown(self, name: str) -> bool:
        """Whether the row of `name` is in its form's layout now (a Length's amount leaves it for Automatic)."""
        return self._forms[name].isRowVisible(self._widgets[name])

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}"

    # -- building ----------------------------------------------------------------------------------

    def build(self, forms: dict[str, QFormLayout]) -> None:
        """Add every row, in order, to the form its `place` names."""
        for row in self.rows:
            form = forms[row.place]
            if isinstance(row, Length):
                self._build_length(row, form)
                continue
            widget = row.make()
            self._widgets[row.key] = widget
            self._forms[row.key] = form
            add_setting_row(form, row.label, widget)
            if row.kind == CHOICE:
                widget.activated.connect(lambda index, key=row.key: self._wanted.pop(key, None))

    def _build_length(self, length: Length, form: QFormLayout) -> None:
        choice = shrinkable_combo()
        fill_choice(choice, LENGTHS.items())
        choice.setToolTip(length.tooltip)
        amount = QDoubleSpinBox()
        amount.setDecimals(0)
        amount.setRange(1, 1_000_000)
        # The amount goes on its own row: beside the choice it widened the panel past its edge.
        form.addRow(field_label(length.label), choice)
        form.addRow(field_label(""), amount)
        self._widgets[length.key] = choice
        self._widgets[length.amount_key] = amount
        self._forms[length.key] = self._forms[length.amount_key] = form
        self._length = _LengthRow(length, choice, amount, form, {})
        choice.currentIndexChanged.connect(self._length_kind_changed)
        self._length_kind_changed()

    def _length_kind_changed(self) -> None:
        """Show the new kind's amount: typed earlier this session, else saved, else the page's default."""
        row = self._length
        kind = row.choice.currentData()
        if row.kind != "auto":
            row.amounts[row.kind] = row.amount.value()
        row.kind = kind
        row.amount.setEnabled(kind != "auto")
        row.form.setRowVisible(row.amount, kind != "auto")  # the whole row, so Automatic leaves no gap
        row.amount.setDecimals(1 if kind == "minutes" else 0)
        row.amount.setSuffix(" min" if kind == "minutes" else "")
        if kind in row.length.defaults:
            saved = self.settings.value(self._key(f"{row.length.key}_{kind}"), float(row.length.defaults[kind]))
            row.amount.setValue(row.amounts.get(kind, saved))

    def set_choices(self, key: str, items, tooltip: str | None = None) -> None:
        """List new items in the choice `key` (devices, once probed), showing the value wanted for it."""
        box = self._widgets[key]
        wanted = self._wanted.pop(key, box.currentData())
        fill_choice(box, items)
        show_value(box, wanted)  # one this machine lacks leaves the first item, as a fresh choice would
        if tooltip is not None:
            box.setToolTip(tooltip)

    def _show(self, key: str, value: Any) -> None:
        if not show_value(self._widgets[key], value):
            self._wanted[key] = value

    # -- the config --------------------------------------------------------------------------------

    def write(self, config: RunConfig) -> None:
        """Fill the config's fields with what the rows show."""
        for row in self.rows:
            if isinstance(row, Length):
                self._write_length(config)
                continue
            value = read_widget(self._widgets[row.key])
            if row.kind == CHOICE and value is None:
                value = row.default
            elif row.kind == INT:
                value = int(value)
            elif row.kind == FLOAT:
                value = round(float(value), CONFIG_PLACES)
            _set(config, row.field, value)

    def _write_length(self, config: RunConfig) -> None:
        kind, amount = self._length.choice.currentData(), self._length.amount.value()
        train = config.train
        if kind == "minutes":
            train.minutes = float(amount)
        elif kind == "epochs":
            train.epochs = int(amount)
        elif kind == "steps":
            train.steps = int(amount)

    def show_config(self, config: RunConfig) -> None:
        """Show a run's own values (for a run being continued)."""
        for row in self.rows:
            if isinstance(row, Length):
                train = config.train
                kind = "steps" if train.steps else "epochs" if train.epochs else "minutes" if train.minutes \
                    else "auto"
                select_data(self._length.choice, kind)
                if kind != "auto":
                    self._length.amount.setValue(float(train.steps or train.epochs or train.minutes))
                continue
            self._show(row.key, _get(config, row.field))

    # -- remembering -------------------------------------------------------------------------------

    def restore(self) -> None:
        """Show what was saved (or each row's default)."""
        for row in self.rows:
            if isinstance(row, Length):
                select_data(self._length.choice, self.settings.value(self._key(row.key), "auto"))
                continue
            self._show(row.key, self.settings.value(self._key(row.key), row.default))

    def save(self) -> None:
        for row in self.rows:
            if isinstance(row, Length):
                self._save_length()
                continue
            value = self._wanted.get(row.key, read_widget(self._widgets[row.key]))
            if value is not None:
                self.settings.set_value(self._key(row.key), value)

    def _save_length(self) -> None:
        row = self._length
        kind = row.choice.currentData()
        self.settings.set_value(self._key(row.length.key), kind)
        amounts = dict(row.amounts)
        if kind != "auto":
            amounts[kind] = row.amount.value()
        for typed_kind, amount in amounts.items():
            self.settings.set_value(self._key(f"{row.length.key}_{typed_kind}"), amount)
