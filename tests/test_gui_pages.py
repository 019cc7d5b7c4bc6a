"""The training pages' shared parts: settings declared once (form, config, a run's own, remembered) and Pause/Resume."""

from __future__ import annotations

import dataclasses

import pytest

from ganstudio.core import events as ev
from ganstudio.gui.settings import AppSettings
from ganstudio.gui.widgets.settings_table import CHOICE, FLOAT, INT, Length
from gui_helpers import FakeEngine

PAGES = ("train_page", "image_to_image_page")
# A Length kind and amount unlike the default (Automatic), one per page.
LENGTH_CHOICES = {"train_page": ("epochs", 7.0), "image_to_image_page": ("minutes", 2.5)}


def _listed(qtbot, page) -> None:
    """Wait for the machine probe: the device list is filled from it."""
    qtbot.waitUntil(lambda: page.settings_table["device"].count() > 1, timeout=20_000)


def _change_every_row(page, length: tuple[str, float]) -> dict:
    """Give every generic row a value other than its default; the values the form then shows."""
    table = page.settings_table
    for row in table.rows:
        if isinstance(row, Length):
            kind, amount = length
            table[row.key].setCurrentIndex(table[row.key].findData(kind))
            table[row.amount_key].setValue(amount)
            continue
        widget = table[row.key]
        if row.kind == CHOICE:
            others = [index for index in range(widget.count()) if widget.itemData(index) != widget.currentData()]
            widget.setCurrentIndex(others[-1])
        elif row.kind == INT:
            widget.setValue(int(row.minimum) + 7)
        elif row.kind == FLOAT:
            widget.setValue(round((row.minimum + row.maximum) / 3, row.decimals))
        else:
            widget.setChecked(not widget.isChecked())
    return table.values()


@pytest.mark.parametrize("name", PAGES)
def test_the_settings_table_goes_form_to_config_to_form(qtbot, make_window, tiny_dataset, tmp_path, name):
    window = make_window(tiny_dataset)
    page = getattr(window, name)
    _listed(qtbot, page)
    shown = _change_every_row(page, LENGTH_CHOICES[name])
    config = page.build_config()
    for row in page.settings_table.rows:
        if not isinstance(row, Length):
            section, field = row.field.split(".")
            assert getattr(getattr(config, section), field) == pytest.approx(shown[row.key]), row.key
    kind, amount = LENGTH_CHOICES[name]
    assert getattr(config.train, kind) == amount

    other = getattr(make_window(tiny_dataset, settings=AppSettings(tmp_path / "another.ini")), name)
    _listed(qtbot, other)
    assert other.settings_table.values() != pytest.approx(shown), "a new settings file starts at the defaults"
    other.show_config(config)
    assert other.settings_table.values() == pytest.approx(shown)


@pytest.mark.parametrize("name", PAGES)
def test_the_settings_table_is_remembered_in_a_new_window(qtbot, make_window, tiny_dataset, name):
    window = make_window(tiny_dataset)
    page = getattr(window, name)
    _listed(qtbot, page)
    shown = _change_every_row(page, LENGTH_CHOICES[name])
    window.close()  # saves every page's settings
    again = getattr(make_window(tiny_dataset), name)
    _listed(qtbot, again)
    assert again.settings_table.values() == pytest.approx(shown)


def test_each_length_kind_keeps_its_own_amount(qtbot, make_window, tiny_dataset):
    page = make_window(tiny_dataset).train_page
    kind, amount = page.settings_table["length"], page.settings_table["length_amount"]
    kind.setCurrentIndex(kind.findData("epochs"))
    assert amount.value() == 50, "the Train page's own default"
    amount.setValue(12)
    kind.setCurrentIndex(kind.findData("steps"))
    assert amount.value() == 5000
    kind.setCurrentIndex(kind.findData("epochs"))
    assert amount.value() == 12
    kind.setCurrentIndex(kind.findData("auto"))
    assert not page.settings_table.row_shown("length_amount")


def test_the_image_to_image_page_keeps_its_own_length_defaults(make_window, tiny_dataset):
    page = make_window(tiny_dataset).image_to_image_page
    kind = page.settings_table["length"]
    kind.setCurrentIndex(kind.findData("epochs"))
    assert page.settings_table["length_amount"].value() == 20


@pytest.mark.parametrize("name", PAGES)
def test_the_paused_line_goes_when_training_resumes(qtbot, make_window, tiny_dataset, name):
    # The fake run holds at step 3 after resuming, so no new step rewrites the line: the page itself must.
    window = make_window(tiny_dataset, engine=FakeEngine(steps=10_000, hold_at_step=3))
    page = getattr(window, name)
    session = window.workspace.session
    assert page.start()
    qtbot.waitUntil(lambda: "step 3 of" in page.progress_text.text(), timeout=20_000)
    with qtbot.waitSignal(session.paused, timeout=20_000):
        page.pause_button.click()
    assert page.progress_text.text().startswith("Paused") and page.pause_button.text() == "Resume"
    with qtbot.waitSignal(session.resumed, timeout=20_000):
        page.pause_button.click()
    assert "Paused" not in page.progress_text.text()
    assert page.pause_button.text() == "Pause" and page.pause_button.isEnabled()


def test_another_pages_run_locks_the_form_and_says_where_it_trains(qtbot, make_window, tiny_dataset):
    window = make_window(tiny_dataset, engine=FakeEngine(steps=10_000, hold_at_step=3))
    with qtbot.waitSignal(window.workspace.session.run_started, timeout=20_000):
        assert window.image_to_image_page.start()
    page = window.train_page
    assert not page.settings_widget.isEnabled() and not page.pause_button.isEnabled()
    assert "Image to image page" in page.locked_note.text()


def test_the_open_advanced_settings_fit_the_settings_column(qtbot, make_window, tiny_dataset):
    window = make_window(tiny_dataset, window_size=(1360, 860))  # the window's first size
    page = window.train_page
    page.models.ensure_listed()
    page.advanced_toggle.setChecked(True)
    viewport = page.settings_widget.parentWidget()
    qtbot.waitUntil(lambda: page.settings_widget.isVisible())
    assert page.settings_widget.minimumSizeHint().width() <= viewport.width(), \
        "a row wider than the column would cut every field off at its right edge"


def test_the_gallery_names_the_rows_the_model_declares(make_window):
    window = make_window()
    page = window.image_to_image_page
    started = ev.RunStarted(
        run_dir="/nowhere/run", run_name="run", model="two-way", device="CPU", precision="fp32", dataset_size=8,
        batch_size=1, steps_per_epoch=8, start_step=0, start_epoch=0, target="2 epochs", total_steps=16,
        loss_names=("D_A",), stat_names=(), visual_names=("real_A", "fake_B", "rec_A"), parameters=1)
    page._show_run_started(started, "8 pictures a side")
    assert page.gallery.view.toolTip() == "Rows, top to bottom: real A, fake B, rec A. Click to enlarge"
    page._show_run_started(dataclasses.replace(started, visual_names=("fake",)), "8 pictures")
    assert page.gallery.view.toolTip() == "Click to enlarge", "one row needs no naming"


def test_the_learning_rates_use_the_plots_words(qtbot, make_window, tiny_dataset):
    window = make_window(dataset=tiny_dataset)
    page = window.train_page
    page.advanced_toggle.setChecked(True)
    table = page.settings_table
    rate = table["lr_d"]
    label = table._forms["lr_d"].labelForField(rate)
    assert label.text() == "Discriminator rate", "the plots say D, so the setting says discriminator"
    assert "critic" in rate.toolTip() and "D in the plots" in rate.toolTip()
    qtbot.waitUntil(lambda: label.isVisible())
    lines = -(-label.fontMetrics().horizontalAdvance(label.text()) // label.width())
    assert label.height() >= lines * label.fontMetrics().height(), "the whole label shows, on two lines if need be"
    assert "critic" not in table._forms["lr_g"].labelForField(table["lr_g"]).text().lower()
