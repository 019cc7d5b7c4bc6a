"""The live loss plot: new data draws at once after a quiet spell, then at most once a second, never while hidden."""

from __future__ import annotations

import math
import time

from ganstudio.core import events as ev
from ganstudio.gui.widgets import metrics_plot
from ganstudio.gui.widgets.metrics_plot import MetricsPlot

HANG_TIMEOUT_MS = 60_000  # waits are on conditions; this only ends a hang


def steps(first: int, count: int) -> list[ev.StepProgress]:
    return [ev.StepProgress(step=step, epoch=0, epoch_fraction=0.0, images_seen=step * 8, images_per_second=0.0,
                            elapsed_seconds=0.0, eta_seconds=None, losses={"D/real": 0.7, "G/adv": 1.0 + step},
                            stats={"D(x)": 0.5})
            for step in range(first, first + count)]


def drawn_points(plot: MetricsPlot, name: str = "G/adv") -> int:
    """How many points the smoothed curve on screen holds (the buffer may hold more until the next redraw)."""
    for panel in plot._panels:
        if name in panel.smooth_curves:
            x, _ = panel.smooth_curves[name].getData()
            return 0 if x is None else len(x)
    raise KeyError(name)


def shown_plot(qtbot, clock=time.monotonic) -> MetricsPlot:
    plot = MetricsPlot(clock=clock)
    qtbot.addWidget(plot)
    plot.resize(500, 360)
    plot.set_series(("D/real", "G/adv"), ("D(x)",))
    plot.show()
    qtbot.waitExposed(plot)
    return plot


class HandClock:
    """The plot's clock, moved by the test: the throttling is decided by it, not by how busy the machine is."""

    def __init__(self):
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def test_first_steps_draw_at_once_then_the_plot_redraws_at_most_once_a_second(qtbot):
    clock = HandClock()
    plot = shown_plot(qtbot, clock)
    plot.append_steps(steps(1, 4))
    qtbot.waitUntil(lambda: drawn_points(plot) == 4, timeout=HANG_TIMEOUT_MS)
    # The clock never moved: the first data after a quiet spell drew without waiting out any interval.

    clock.seconds += 0.1
    plot.append_steps(steps(5, 1))
    plot.append_steps(steps(6, 1))
    assert plot.redraw_due_in_ms() == metrics_plot.REDRAW_INTERVAL_MS - 100
    for moved_to in (0.5, 0.999):
        clock.seconds = 1000.0 + moved_to
        plot.redraw_if_due()  # as the timer's tick would, early (Qt's coarse timers may fire 5% early)
        assert drawn_points(plot) == 4, f"redrew {moved_to} s after the last redraw; live updates wait a second"
    clock.seconds = 1001.0
    qtbot.waitUntil(lambda: drawn_points(plot) == 6, timeout=HANG_TIMEOUT_MS)  # the armed timer redraws
    assert plot.point_count("G/adv") == 6

    clock.seconds += 0.01
    plot.clear()  # another run opened right after: its history shows without the live wait
    plot.append_steps(steps(1, 3))
    assert plot.redraw_due_in_ms() == 0
    qtbot.waitUntil(lambda: drawn_points(plot) == 3, timeout=HANG_TIMEOUT_MS)


def test_a_long_history_redraws_less_often(qtbot):
    clock = HandClock()
    plot = shown_plot(qtbot, clock)
    plot.append_steps(steps(1, 100_000))
    qtbot.waitUntil(lambda: plot.redraw_due_in_ms() > 0, timeout=HANG_TIMEOUT_MS)  # drawn: the interval runs
    plot.append_steps(steps(100_001, 1))
    assert plot.redraw_due_in_ms() == metrics_plot.REDRAW_INTERVAL_MS + 100_001 // metrics_plot.POINTS_PER_EXTRA_MS


def test_a_hidden_plot_keeps_its_data_and_draws_it_when_shown(qtbot):
    plot = shown_plot(qtbot)
    plot.hide()
    plot.append_steps(steps(1, 10))
    plot.redraw()
    assert drawn_points(plot) == 0, "nothing is drawn while the plot is hidden"
    assert plot.point_count("G/adv") == 10
    plot.show()
    qtbot.waitUntil(lambda: drawn_points(plot) == 10, timeout=HANG_TIMEOUT_MS)
    x, y = plot.curve_data("G/adv")
    assert list(x) == list(range(1, 11))


def test_a_learning_rate_schedule_is_drawn_as_it_is_while_losses_are_smoothed(qtbot):
    plot = MetricsPlot()
    qtbot.addWidget(plot)
    plot.set_series(("G/adv",), ("lr",))
    flat_then_decay = [2e-4] * 30 + [2e-4 * (1 - k / 30) for k in range(1, 31)]
    noisy = [1.0 + (0.5 if step % 2 else -0.5) for step in range(60)]
    plot.append_steps([ev.StepProgress(step=step + 1, epoch=0, epoch_fraction=0.0, images_seen=0,
                                       images_per_second=0.0, elapsed_seconds=0.0, eta_seconds=None,
                                       losses={"G/adv": noisy[step]}, stats={"lr": flat_then_decay[step]})
                       for step in range(60)])
    _, lr = plot.curve_data("lr")
    assert list(lr) == flat_then_decay, "a schedule would lag behind its true value if it were averaged"
    _, loss = plot.curve_data("G/adv")
    assert max(loss[40:]) - min(loss[40:]) < 0.1, "a noisy loss is drawn as its trailing mean"

    plot.truncate_after(45)  # a resumed run replays from its checkpoint: still a schedule
    _, lr = plot.curve_data("lr")
    assert list(lr) == flat_then_decay[:45]
    plot.append_steps([ev.StepProgress(step=46 + k, epoch=0, epoch_fraction=0.0, images_seen=0,
                                       images_per_second=0.0, elapsed_seconds=0.0, eta_seconds=None,
                                       losses={"G/adv": 1.0}, stats={"lr": value})
                       for k, value in enumerate([1e-4, 3e-4, 1e-4, 3e-4])])
    _, lr = plot.curve_data("lr")
    assert lr[-1] != 3e-4, "a series that keeps turning is noise after all, and is smoothed"


def test_stacked_plots_share_their_left_edge_whatever_their_labels(qtbot):
    plot = MetricsPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 400)
    plot.set_series(("G/adv",), ("lr",))
    plot.show()
    qtbot.waitExposed(plot)
    plot.append_steps([ev.StepProgress(step=step, epoch=0, epoch_fraction=0.0, images_seen=0, images_per_second=0.0,
                                       elapsed_seconds=0.0, eta_seconds=None, losses={"G/adv": 5.0 + step % 3},
                                       stats={"lr": 2e-4 - step * 1e-6})
                       for step in range(1, 100)])
    qtbot.waitUntil(lambda: drawn_points(plot) == 99, timeout=HANG_TIMEOUT_MS)

    loss_axis, lr_axis = (panel.plot.getAxis("left") for panel in plot._panels)

    def labels_measured() -> bool:
        plot.graphics.grab()  # paints, which is when pyqtgraph measures its tick labels
        return lr_axis.textWidth > loss_axis.textWidth + 10  # '0.00015' against '5'

    def left_edges() -> list[float]:
        plot.graphics.grab()
        return [panel.plot.getViewBox().sceneBoundingRect().left() for panel in plot._panels]

    qtbot.waitUntil(labels_measured, timeout=HANG_TIMEOUT_MS)

    def aligned() -> bool:
        loss_edge, lr_edge = left_edges()
        return loss_edge == lr_edge and loss_edge >= lr_axis.textWidth  # room for the wider labels in both

    qtbot.waitUntil(aligned, timeout=HANG_TIMEOUT_MS)


def one_step(step: int, losses: dict, stats: dict) -> ev.StepProgress:
    return ev.StepProgress(step=step, epoch=0, epoch_fraction=0.0, images_seen=step, images_per_second=0.0,
                           elapsed_seconds=0.0, eta_seconds=None, losses=losses, stats=stats)


def view_range(plot: MetricsPlot, panel: int) -> tuple[list[float], list[float]]:
    return plot._panels[panel].plot.getViewBox().viewRange()


def test_one_logged_point_is_a_dot_on_an_axis_from_zero_to_its_step(qtbot):
    plot = shown_plot(qtbot)
    plot.append_steps([one_step(10, {"D/real": 0.7, "G/adv": 1.2}, {"D(x)": 0.5})])
    qtbot.waitUntil(lambda: drawn_points(plot) == 1, timeout=HANG_TIMEOUT_MS)
    smooth = plot._panels[0].smooth_curves["G/adv"]
    assert smooth.opts["symbol"] == "o", "a single point is drawn as a dot, a line needs two"
    (x_low, x_high), _ = view_range(plot, 0)
    assert x_low <= 0 and 10 <= x_high <= 11, "the axis runs from 0 to the step, not 9.6 to 10.4"
    plot.append_steps([one_step(20, {"D/real": 0.6, "G/adv": 1.1}, {"D(x)": 0.4})])
    plot.redraw()
    assert smooth.opts["symbol"] is None, "with two points it is a line again"


def test_a_flat_learning_rate_is_drawn_on_its_own_scale(qtbot):
    plot = MetricsPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 360)
    plot.set_series(("G",), ("lr",))
    plot.show()
    qtbot.waitExposed(plot)
    plot.append_steps([one_step(step, {"G": 1.0 + step % 3}, {"lr": 0.0002}) for step in range(1, 30)])
    plot.redraw()
    _, (y_low, y_high) = view_range(plot, 1)
    assert 0 < y_low < 0.0002 < y_high < 0.001, "0.0002 on a ±0.4 axis read as a line at 0"
    plot.append_steps([one_step(step, {"G": 1.0}, {"lr": 0.0002 * (60 - step) / 30}) for step in range(30, 60)])
    plot.redraw()
    # Autoranging happens as the view next updates, not within redraw.
    qtbot.waitUntil(lambda: view_range(plot, 1)[1][0] < 0.00002 <= 0.0002 <= view_range(plot, 1)[1][1],
                    timeout=HANG_TIMEOUT_MS)


def test_a_missing_value_is_a_gap_not_a_zero(qtbot):
    plot = shown_plot(qtbot)
    plot.smoothing.setValue(30)
    plot.append_steps([one_step(step, {"D/real": 0.7, "G/adv": 2.0}, {} if step == 4 else {"D(x)": 0.5})
                       for step in range(1, 8)])
    plot.redraw()
    x, y = plot.curve_data("D(x)")
    assert list(x) == [1, 2, 3, 4, 5, 6, 7]
    assert math.isnan(y[3]) and all(value == 0.5 for index, value in enumerate(y) if index != 3)
    curve_x, curve_y = plot._panels[1].smooth_curves["D(x)"].getData()
    assert 0.0 not in list(curve_y), "nothing is drawn at 0"
