"""Settings forms: fixed-width row labels, combo boxes that fit narrow panels, and a model's declared options.

`ModelOptionsForm` turns the Option declarations a model makes (core/recipes/options.py) into rows:
a choice becomes a combo box, a bool a check box, a number a spin box. A page never names a model's
settings; it shows whichever model is chosen and reads the values back as the config's options.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

from ..settings import AppSettings

FIELD_LABEL_WIDTH = 96


def field_label(text: str) -> QLabel:
    """A form label of one fixed width, so the page's separate forms line up in one column."""
    widget = QLabel(text)
    widget.setFixedWidth(FIELD_LABEL_WIDTH)
    # A longer label ("Discriminator rate") takes a second line rather than being clipped at the column's edge.
    widget.setWordWrap(True)
    return widget


def add_setting_row(form: QFormLayout, text: str, widget: QWidget) -> None:
    """A labelled row; a check box, which carries its own words, spans the label column as well.

    Beside a 96 px label, "Smooth the samples (moving average)" (259 px) made the settings column 393 px
    wide in a 346 px panel, and every field in it was clipped at the right edge.
    """
    if isinstance(widget, QCheckBox):
        form.addRow(widget)
    else:
        form.addRow(field_label(text), widget)


def growing_form(parent: QWidget | None = None) -> QFormLayout:
    """A form whose fields take all the width its column gives them, as every settings form here does."""
    form = QFormLayout(parent)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def shrinkable_combo() -> QComboBox:
    """A combo box that fits a narrow panel, eliding its text, rather than widening the panel past its edge."""
    box = QComboBox()
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    return box


def select_data(box: QComboBox, value: Any) -> bool:
    """Choose the item whose data is `value`; False (and nothing changes) when there is none."""
    index = box.findData(value)
    if index >= 0:
        box.setCurrentIndex(index)
    return index >= 0


def _tooltip(option) -> str:
    text = option.help
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


class ModelOptionsForm:
    """The rows of one model's options, in `form` (or `advanced_form` for advanced ones), rebuilt per model."""

    def __init__(self, form: QFormLayout, advanced_form: QFormLayout | None = None):
        self.form = form
        self.advanced_form = advanced_form or form
        self.options: tuple = ()
        self._widgets: dict[str, QWidget] = {}

    def widget(self, name: str) -> QWidget | None:
        return self._widgets.get(name)

    def show_options(self, options: tuple) -> None:
        """Replace the rows with those of `options`, each at its default."""
        for widget in self._widgets.values():
            for form in {id(self.form): self.form, id(self.advanced_form): self.advanced_form}.values():
                if form.indexOf(widget) >= 0:
                    form.removeRow(widget)
                    break
        self._widgets = {}
        self.options = tuple(options)
        for option in self.options:
            widget = self._make(option)
            self._widgets[option.name] = widget
            add_setting_row(self.advanced_form if option.advanced else self.form, option.label, widget)
        self.set_values({})

    @staticmethod
    def _make(option) -> QWidget:
        if option.choices:
            widget = shrinkable_combo()
            for index, choice in enumerate(option.choices):
                widget.addItem(choice.words, choice.value)
                if choice.tip:
                    widget.setItemData(index, choice.tip, Qt.ItemDataRole.ToolTipRole)
        elif isinstance(option.default, bool):
            widget = QCheckBox(option.label)
        elif isinstance(option.default, int):
            widget = QSpinBox()
            widget.setRange(int(option.minimum if option.minimum is not None else -2**31),
                            int(option.maximum if option.maximum is not None else 2**31 - 1))
        else:
            widget = QDoubleSpinBox()
            widget.setDecimals(option.decimals)
            widget.setRange(option.minimum if option.minimum is not None else -1e9,
                            option.maximum if option.maximum is not None else 1e9)
        if option.automatic and isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            widget.setSpecialValueText(option.automatic)  # Qt shows these words at the minimum, the model's choice
        widget.setToolTip(_tooltip(option))
        return widget

    def values(self) -> dict[str, Any]:
        """The options as the form shows them, for config.model.options."""
        found: dict[str, Any] = {}
        for option in self.options:
            widget = self._widgets[option.name]
            if isinstance(widget, QComboBox):
                found[option.name] = widget.currentData()
            elif isinstance(widget, QCheckBox):
                found[option.name] = widget.isChecked()
            else:
                found[option.name] = widget.value()
        return found

    def set_values(self, values: dict[str, Any]) -> None:
        """Show `values`; an option missing from them (or not one of its choices) shows its default."""
        for option in self.options:
            widget = self._widgets[option.name]
            value = values.get(option.name, option.default)
            if isinstance(widget, QComboBox):
                if not select_data(widget, value):
                    select_data(widget, option.default)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            else:
                widget.setValue(value)

    def save(self, settings: AppSettings, prefix: str) -> None:
        for name, value in self.values().items():
            settings.set_value(f"{prefix}/{name}", value)

    def restore(self, settings: AppSettings, prefix: str, fallback_prefix: str = "") -> None:
        """Show the values saved under `prefix`; an earlier version's key under `fallback_prefix` counts too."""
        values = {}
        for option in self.options:
            fallback = settings.value(f"{fallback_prefix}/{option.name}", option.default) if fallback_prefix \
                else option.default
            values[option.name] = settings.value(f"{prefix}/{option.name}", fallback)
        self.set_values(values)

    def setEnabled(self, enabled: bool) -> None:
        for widget in self._widgets.values():
            widget.setEnabled(enabled)


class ModelPicker:
    """A model list of one kind and the chosen model's options, both from the registry's declarations.

    The list fills when the start-up probe reports the models (it imports torch on a worker), or at once
    on this thread when a config is wanted sooner. Each model's options are remembered under
    `prefix/<model>/`; the last model used under `prefix/model`.
    """

    def __init__(self, kind: str, choice: QComboBox, options: ModelOptionsForm, settings: AppSettings, prefix: str,
                 legacy_prefix: str = ""):
        self.kind = kind
        self.choice = choice
        self.options = options
        self.settings = settings
        self.prefix = prefix
        self.legacy_prefix = legacy_prefix
        self.models: dict = {}
        choice.addItem("Looking…", None)
        choice.currentIndexChanged.connect(self._chosen)

    @property
    def listed(self) -> bool:
        return bool(self.models)

    @property
    def name(self) -> str | None:
        return self.choice.currentData()

    @property
    def chosen(self):
        """The ModelChoice of the chosen model (gui/probe.py), or None before the list is filled."""
        return self.models.get(self.name)

    def list_models(self, models) -> None:
        """Offer the ModelChoices of this picker's kind; the one used last is chosen."""
        current = self.name or self.settings.value(f"{self.prefix}/model", "")
        self.models = {model.name: model for model in models if model.kind == self.kind}
        self.choice.blockSignals(True)
        self.choice.clear()
        for model in self.models.values():
            self.choice.addItem(model.label, model.name)
            self.choice.setItemData(self.choice.count() - 1, model.summary, Qt.ItemDataRole.ToolTipRole)
        select_data(self.choice, current)
        self.choice.blockSignals(False)
        self._chosen()

    def ensure_listed(self) -> None:
        """List the models now, on this thread, if the probe has not yet."""
        if not self.listed:
            from ...core.registry import recipes
            from ..probe import describe_model
            self.list_models([describe_model(recipe) for recipe in recipes()])

    def _chosen(self) -> None:
        model = self.chosen
        self.options.show_options(model.options if model is not None else ())
        if model is not None:
            self.options.restore(self.settings, f"{self.prefix}/{model.name}", self.legacy_prefix)

    def select(self, name: str, values: dict[str, Any]) -> None:
        """Show the model `name` with these option values (a saved run's own)."""
        self.ensure_listed()
        select_data(self.choice, name)
        self.options.set_values(values)

    def save(self) -> None:
        if self.name:
            self.settings.set_value(f"{self.prefix}/model", self.name)
            self.options.save(self.settings, f"{self.prefix}/{self.name}")
