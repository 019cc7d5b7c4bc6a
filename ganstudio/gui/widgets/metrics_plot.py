"""The live loss plot: numpy buffers per curve, redrawn on a timer with downsampling and clip-to-view.

Curves come from what the model declares (RunStarted.loss_names and stat_names), never from names
written here. A million points per curve still redraws in a few milliseconds: pyqtgraph draws only
the visible range, reduced to about two points per pixel column ('peak' keeps the spikes).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from ...core import events as ev
from .. import theme
from ..resources import icon

# While data streams in, the plot redraws at most once a second. A redraw and repaint of the Train
# page's plot costs about 10 ms of the GUI thread, and on a 2-core machine that time is taken from
# training: the GUI thread used 2.6% of a core at 5 redraws a second, 1.6% at one (the progress line
# still updates with every step event, 4 times a second). The first data after a quiet spell (a run
# opened, the first steps) draws at once: FIRST_REDRAW_DELAY_MS only gathers appends from one tick.
REDRAW_INTERVAL_MS = 1000
FIRST_REDRAW_DELAY_MS = 20
# Painting ten curves of 200,000 points takes about 90 ms on a 2-core CPU (a million: 150 ms), so long
# histories redraw less often: one more millisecond of wait per this many points, up to the cap.
POINTS_PER_EXTRA_MS = 500
MAX_REDRAW_INTERVAL_MS = 3000
# Smoothing slider 0..100 maps to a trailing mean over 1..MAX_SMOOTHING_POINTS points (quadratic, so
# the low end, where most adjusting happens, is fine-grained).
MAX_SMOOTHING_POINTS = 200
DEFAULT_SMOOTHING = 40
RAW_CURVE_ALPHA = 70
# A series that changes direction at most this often is a schedule (CycleGAN's learning rate: flat, then
# a straight decay), not noise: it is drawn as it is, because a trailing mean would only draw it late
# (the default smoothing, 33 points, puts a straight decay 16 points behind). Losses turn at almost every point.
MAX_SCHEDULE_TURNS = 2
# Grid lines are an opaque colour this far from the background towards the muted text colour. Qt's
# raster painter draws translucent lines on a slow path: a grid drawn with alpha made each redraw of
# the Train page's plot cost 40 ms of the GUI thread, holding the interpreter lock the training
# thread needs between operations; the opaque grid costs 10 ms.
GRID_SHARE = 0.10
# A flat series (CycleGAN's learning rate, 0.0002 for its first half) spans no height, and pyqtgraph then
# draws it on a ±0.5 axis, where 0.0002 reads as 0: its axis is this share of the value either side.
FLAT_RANGE_SHARE = 0.5


def blend(background: str, foreground: str, share: float) -> QColor:
    """The opaque colour `share` of the way from `background` to `foreground`."""
    low, high = QColor(background), QColor(foreground)
    return QColor(*(round(a + (b - a) * share) for a, b in ((low.red(), high.red()), (low.green(), high.green()),
                                                              (low.blue(), high.blue()))))


def smoothing_window(slider_value: int) -> int:
    return 1 + round((slider_value / 100) ** 2 * (MAX_SMOOTHING_POINTS - 1))


class SeriesBuffer:
    """One curve's points in growing arrays, with running sums so smoothing costs O(new points).

    A missing value is kept as NaN and drawn as a gap: smoothing averages the values that are there.
    It also counts how often the values turn (rise after falling or the reverse), to tell a schedule from noise.
    """

    def __init__(self, capacity: int = 4096):
        self.x = np.empty(capacity, np.float64)
        self.y = np.empty(capacity, np.float64)
        self.running_sum = np.zeros(capacity + 1, np.float64)
        self.running_count = np.zeros(capacity + 1, np.int64)  # of the values that are there (finite)
        self.smoothed = np.empty(capacity, np.float64)
        self.count = 0
        self._smoothed_count = 0
        self._window = 1
        self.turns = 0
        self._last_direction = 0.0  # the sign of the last change that was not zero
        # The lowest and highest value there, kept as points come so a redraw need not scan a million.
        self.low, self.high = math.inf, -math.inf

    def _reserve(self, needed: int) -> None:
        capacity = len(self.x)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        for name in ("x", "y", "smoothed"):
            grown = np.empty(capacity, np.float64)
            grown[:self.count] = getattr(self, name)[:self.count]
            setattr(self, name, grown)
        for name in ("running_sum", "running_count"):
            grown_sum = np.zeros(capacity + 1, getattr(self, name).dtype)
            grown_sum[:self.count + 1] = getattr(self, name)[:self.count + 1]
            setattr(self, name, grown_sum)

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        added = len(xs)
        if not added:
            return
        ys = np.asarray(ys, np.float64)
        there = np.isfinite(ys)
        ys = np.where(there, ys, np.nan)
        self._reserve(self.count + added)
        start, end = self.count, self.count + added
        self.x[start:end] = xs
        self.y[start:end] = ys
        self.running_sum[start + 1:end + 1] = self.running_sum[start] + np.cumsum(np.where(there, ys, 0.0))
        self.running_count[start + 1:end + 1] = self.running_count[start] + np.cumsum(there)
        self._count_turns(self.y[max(0, start - 1):end])
        self._widen(ys[there])
        self.count = end

    def _widen(self, values: np.ndarray) -> None:
        if len(values):
            self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))

    @property
    def present(self) -> int:
        """How many of the points have a value."""
        return int(self.running_count[self.count])

    def _count_turns(self, values: np.ndarray) -> None:
        directions = np.sign(np.diff(values[np.isfinite(values)]))
        directions = directions[directions != 0]
        if not len(directions):
            return
        self.turns += int(np.count_nonzero(directions[1:] != directions[:-1]))
        if self._last_direction and directions[0] != self._last_direction:
            self.turns += 1
        self._last_direction = float(directions[-1])

    @property
    def is_schedule(self) -> bool:
        return self.turns <= MAX_SCHEDULE_TURNS

    def truncate_after(self, last_x: float) -> None:
        """Forget points past `last_x` (a resumed run replays from its checkpoint's step)."""
        keep = int(np.searchsorted(self.x[:self.count], last_x, side="right"))
        self.count = keep
        self._smoothed_count = min(self._smoothed_count, keep)
        self.turns, self._last_direction = 0, 0.0
        self._count_turns(self.y[:keep])
        self.low, self.high = math.inf, -math.inf
        kept = self.y[:keep]
        self._widen(kept[np.isfinite(kept)])

    def clear(self) -> None:
        self.count = 0
        self._smoothed_count = 0
        self.turns, self._last_direction = 0, 0.0
        self.low, self.high = math.inf, -math.inf

    def raw(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.count], self.y[:self.count]

    def smoothed_curve(self, window: int) -> tuple[np.ndarray, np.ndarray]:
        """The trailing mean over `window` points (fewer at the start), computed only where it is new.

        A schedule comes back as it is.
        """
        if self.is_schedule:
            return self.raw()
        if window != self._window:
            self._window = window
            self._smoothed_count = 0
        start, end = self._smoothed_count, self.count
        if end > start:
            index = np.arange(start, end)
            low = np.maximum(0, index - window + 1)
            counts = self.running_count[index + 1] - self.running_count[low]
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (self.running_sum[index + 1] - self.running_sum[low]) / counts
            # Where the value itself is missing the smoothed curve has a gap too.
            self.smoothed[start:end] = np.where(np.isfinite(self.y[start:end]), means, np.nan)
            self._smoothed_count = end
        return self.x[:self.count], self.smoothed[:self.count]


class AlignedLeftAxis(pg.AxisItem):
    """A left axis as wide as the widest of its group, so stacked plots share their left edge and x scale.

    pyqtgraph sizes each axis to its own tick labels: '0.00015' under '5' moved the lower plot 30 px right.
    Label widths are only known while painting, so the group is evened out there.
    """

    def __init__(self, group: list[AlignedLeftAxis]):
        super().__init__("left")
        self.group = group
        group.append(self)

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        text_width = max(axis.textWidth for axis in self.group)
        for axis in self.group:
            width = text_width + axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"])
            if axis.fixedWidth != width:
                axis.setWidth(width)
        return specs


# Characters of legend on one line: a title wider than the plot widens the whole panel past its column
# (at the default window size a plot is about 400 px, some 50 characters of 10 pt text), which then
# clips the newest steps. Each key counts its name, its two-dash swatch and the gap after it.
LEGEND_LINE_CHARACTERS = 44
LEGEND_KEY_EXTRA = 6


def _legend_lines(keys: list[str], names: tuple[str, ...]) -> list[list[str]]:
    """The legend's keys filled into lines of at most LEGEND_LINE_CHARACTERS (a key too long stays alone)."""
    lines: list[list[str]] = [[]]
    used = 0
    for key, name in zip(keys, names):
        width = len(name) + LEGEND_KEY_EXTRA
        if lines[-1] and used + width > LEGEND_LINE_CHARACTERS:
            lines.append([])
            used = 0
        lines[-1].append(key)
        used += width
    return lines


class _Panel:
    """One plot (losses, or statistics) and its curves."""

    def __init__(self, plot: pg.PlotItem, names: tuple[str, ...], colours: Iterable[str]):
        self.plot = plot
        self.names = names
        self.pinned_x = self.pinned_y = False  # a range set here while the data spans none, not autoranged
        self.buffers = {name: SeriesBuffer() for name in names}
        self.raw_curves: dict[str, pg.PlotDataItem] = {}
        self.smooth_curves: dict[str, pg.PlotDataItem] = {}
        # Colours repeat when a model declares more series than there are colours (CycleGAN has eight losses
        # and a learning rate), so every series still gets its curve.
        palette = list(colours)
        colours = [palette[index % len(palette)] for index in range(len(names))]
        # The legend is the plot's title line: a legend box inside the plot would hide the newest points.
        keys = [f"<span style='color:{colour}; font-size:10pt'>&#9473;&#9473; {name}</span>"
                for name, colour in zip(names, colours)]
        plot.setTitle("<br>".join("&nbsp;&nbsp;&nbsp;".join(line) for line in _legend_lines(keys, names)))
        for name, colour in zip(names, colours):
            faint = pg.mkColor(colour)
            faint.setAlpha(RAW_CURVE_ALPHA)
            raw = plot.plot(pen=pg.mkPen(faint, width=1))
            smooth = plot.plot(pen=pg.mkPen(colour, width=2))
            for curve in (raw, smooth):
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                # The finite check stays on (pyqtgraph's default), so a missing value (NaN) is a gap in the line.
            smooth.setSymbolSize(6)  # the dot of a lone point, or each of a metric's measurements
            smooth.setSymbolPen(smooth.opts["pen"])
            smooth.setSymbolBrush(smooth.opts["pen"].color())
            self.raw_curves[name] = raw
            self.smooth_curves[name] = smooth


class MetricsPlot(QWidget):
    """Losses above, the model's statistics below, sharing the step axis; smoothing and zoom below them."""

    smoothing_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        # Seconds, monotonic. The throttling is behaviour to test: tests inject a clock they move by hand.
        self._clock = clock
        self._last_redraw: float | None = None  # None until the first redraw, and after clear: draw at once
        self._panels: list[_Panel] = []
        self._layout: tuple = ()
        self._metric_panel: _Panel | None = None
        self._dirty = False
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self.redraw_if_due)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(220)
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.placeholder = QLabel("Losses appear here once training starts.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setProperty("role", "muted")

        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 100)
        self.smoothing.setValue(DEFAULT_SMOOTHING)
        self.smoothing.setFixedWidth(140)
        self.smoothing.setToolTip("Average each curve over recent points so the trend shows through the noise.\n"
                                  "The faint line behind is the raw value.")
        self.smoothing.valueChanged.connect(self._smoothing_moved)
        self.fit_button = QToolButton()
        self.fit_button.setIcon(icon("fit"))
        self.fit_button.setToolTip("Show everything again after zooming (drag to pan, scroll to zoom, "
                                   "right-drag to stretch an axis)")
        self.fit_button.clicked.connect(self.fit_all)

        controls = QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        smoothing_label = QLabel("Smoothing")
        smoothing_label.setProperty("role", "muted")
        controls.addWidget(smoothing_label)
        controls.addWidget(self.smoothing)
        controls.addStretch(1)
        controls.addWidget(self.fit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(controls)
        self.graphics.hide()

    # -- building ----------------------------------------------------------------------------------

    def set_series(self, loss_names: tuple[str, ...], stat_names: tuple[str, ...],
                   metric_names: tuple[str, ...] = ()) -> None:
        """Lay out the curves the model declares, and a third plot for the run's metrics if it has any;
        keeps the data when the names are unchanged."""
        wanted = (tuple(loss_names), tuple(stat_names), tuple(metric_names))
        if self._panels and self._layout == wanted:
            return
        self._layout = wanted
        # A continued run may measure a metric its history did not: the curves that stay keep their data.
        kept = {name: buffer for panel in self._panels for name, buffer in panel.buffers.items()}
        self.graphics.clear()
        self._panels = []
        self._last_redraw = None  # another run's curves: draw them at once
        colours = list(theme.SERIES_COLOURS)
        left_axes: list[AlignedLeftAxis] = []
        loss_plot = self.graphics.addPlot(row=0, col=0, axisItems={"left": AlignedLeftAxis(left_axes)})
        self._style(loss_plot)
        self._panels.append(_Panel(loss_plot, tuple(loss_names), colours))
        if stat_names:
            stat_plot = self.graphics.addPlot(row=1, col=0, axisItems={"left": AlignedLeftAxis(left_axes)})
            self._style(stat_plot)
            stat_plot.setXLink(loss_plot)
            start = len(loss_names) % len(colours)
            self._panels.append(_Panel(stat_plot, tuple(stat_names), colours[start:] + colours[:start]))
            self.graphics.ci.layout.setRowStretchFactor(0, 3)
            self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self._metric_panel = None
        if metric_names:
            row = len(self._panels)
            metric_plot = self.graphics.addPlot(row=row, col=0, axisItems={"left": AlignedLeftAxis(left_axes)})
            self._style(metric_plot)
            metric_plot.setXLink(loss_plot)
            start = (len(loss_names) + len(stat_names)) % len(colours)
            self._metric_panel = _Panel(metric_plot, tuple(metric_names), colours[start:] + colours[:start])
            for curve in self._metric_panel.smooth_curves.values():
                # A metric is measured every few minutes: each measurement is a marked point, never smoothed.
                curve.setSymbol("o")
                curve.setSymbolSize(5)
            self._panels.append(self._metric_panel)
            self.graphics.ci.layout.setRowStretchFactor(row, 2)
        for index, panel in enumerate(self._panels):
            panel.plot.setLabel("bottom", "step" if index == len(self._panels) - 1 else "")
            for name in panel.buffers:
                if name in kept:
                    panel.buffers[name] = kept[name]
        if kept:
            self._mark_dirty()
        self.placeholder.hide()
        self.graphics.show()

    def apply_theme(self) -> None:
        """Repaint in the current look's colours (pyqtgraph's defaults only reach new plots)."""
        self.graphics.setBackground(theme.current().base)
        for panel in self._panels:
            self._colour_axes(panel.plot)

    @staticmethod
    def _colour_axes(plot: pg.PlotItem) -> None:
        colours = theme.current()
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(pg.mkPen(colours.muted))
            axis.setTextPen(pg.mkPen(colours.muted))
            axis.setTickPen(pg.mkPen(blend(colours.base, colours.muted, GRID_SHARE)))

    def _style(self, plot: pg.PlotItem) -> None:
        plot.showGrid(x=True, y=True, alpha=1.0)
        for side in ("left", "bottom"):
            # One opaque colour for every grid line, so the finest level of lines is left out: in that
            # colour it turned the plot into graph paper.
            plot.getAxis(side).setStyle(tickAlpha=255, maxTickLevel=1)
        self._colour_axes(plot)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getViewBox().setMouseMode(pg.ViewBox.PanMode)

    def clear(self) -> None:
        for panel in self._panels:
            for buffer in panel.buffers.values():
                buffer.clear()
        self._dirty = True
        self.redraw()
        self._last_redraw = None  # the next data is another run's (or a fresh start): draw it at once

    # -- data --------------------------------------------------------------------------------------

    def append_steps(self, steps: Iterable[ev.StepProgress]) -> None:
        """Add step events (live or replayed); the curves redraw on the next tick of the redraw timer."""
        steps = list(steps)
        if not steps or not self._panels:
            return
        xs = np.fromiter((event.step for event in steps), np.float64, len(steps))
        for panel, source in zip([panel for panel in self._panels if panel is not self._metric_panel],
                                 ("losses", "stats")):
            for name, buffer in panel.buffers.items():
                values = np.fromiter((getattr(event, source).get(name, np.nan) for event in steps), np.float64,
                                     len(steps))
                buffer.extend(xs, values)
        self._mark_dirty()

    def append_metrics(self, measured: Iterable[ev.MetricMeasured]) -> None:
        """Add metric values (live or replayed) to the metrics plot; values it has no curve for are left out."""
        if self._metric_panel is None:
            return
        for event in measured:
            for name, value in event.values.items():
                buffer = self._metric_panel.buffers.get(name)
                if buffer is not None:
                    buffer.extend(np.array([event.step], np.float64), np.array([value], np.float64))
        self._mark_dirty()

    def truncate_after(self, step: int) -> None:
        for panel in self._panels:
            for buffer in panel.buffers.values():
                buffer.truncate_after(step)
        self._mark_dirty()

    def point_count(self, name: str) -> int:
        for panel in self._panels:
            if name in panel.buffers:
                return panel.buffers[name].count
        return 0

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The smoothed curve as drawn (for tests and export)."""
        for panel in self._panels:
            if name in panel.buffers:
                window = 1 if panel is self._metric_panel else smoothing_window(self.smoothing.value())
                return panel.buffers[name].smoothed_curve(window)
        raise KeyError(name)

    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._redraw_timer.isActive():
            self._redraw_timer.start(max(FIRST_REDRAW_DELAY_MS, self.redraw_due_in_ms()))

    def redraw_due_in_ms(self) -> int:
        """How long, by the clock, until the throttling allows the next redraw: 0 after a quiet spell."""
        if self._last_redraw is None:
            return 0
        points = max((buffer.count for panel in self._panels for buffer in panel.buffers.values()), default=0)
        interval = min(MAX_REDRAW_INTERVAL_MS, REDRAW_INTERVAL_MS + points // POINTS_PER_EXTRA_MS)
        waited_ms = (self._clock() - self._last_redraw) * 1000
        return max(0, math.ceil(interval - waited_ms))

    def redraw_if_due(self) -> None:
        """The redraw timer's tick. Qt's coarse timers may fire up to 5% early, so the clock decides: before
        the interval is up, the timer is set again for the rest of it."""
        due_in = self.redraw_due_in_ms()
        if due_in > 0:
            self._redraw_timer.start(due_in)
        else:
            self.redraw()

    def _smoothing_moved(self, value: int) -> None:
        self._dirty = True
        self.redraw()
        self.smoothing_changed.emit(value)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._last_redraw = None  # what gathered while hidden draws as the plot appears, unthrottled
            self._redraw_timer.start(0)

    def redraw(self) -> None:
        if not self._dirty or not self.isVisible():  # a hidden plot catches up when it is shown
            return
        self._dirty = False
        self._last_redraw = self._clock()
        smoothing = smoothing_window(self.smoothing.value())
        for panel in self._panels:
            window = 1 if panel is self._metric_panel else smoothing
            for name, buffer in panel.buffers.items():
                x, y = buffer.raw()
                sx, sy = buffer.smoothed_curve(window)
                panel.smooth_curves[name].setData(sx, sy)
                raw_curve = panel.raw_curves[name]
                if window > 1 and not buffer.is_schedule:
                    raw_curve.setData(x, y)
                    raw_curve.show()
                else:
                    raw_curve.hide()
                if panel is not self._metric_panel:
                    # A line needs two points: a lone value is drawn as a dot until the next one comes.
                    smooth = panel.smooth_curves[name]
                    symbol = "o" if buffer.present == 1 else None
                    if smooth.opts["symbol"] != symbol:
                        smooth.setSymbol(symbol)
            self._fit_flat_ranges(panel)

    def _fit_flat_ranges(self, panel: _Panel) -> None:
        """Axes for data that spans no width or height: pyqtgraph would draw it on ±0.5 around the value (one
        point at step 10 gave ticks from 9.6 to 10.4, and a learning rate of 0.0002 read as 0).

        One step is drawn on the axis from 0 to it; a flat series on half its value either side. A range set
        here goes back to automatic once the data spans one.
        """
        # Steps only grow, so a series' first and last x are its extent.
        xs = [(buffer.x[0], buffer.x[buffer.count - 1]) for buffer in panel.buffers.values() if buffer.count]
        ys = [(buffer.low, buffer.high) for buffer in panel.buffers.values() if buffer.present]
        if not xs or not ys:
            return
        view = panel.plot.getViewBox()
        low_x, high_x = float(min(low for low, _ in xs)), float(max(high for _, high in xs))
        if high_x == low_x:
            view.setXRange(min(0.0, low_x), max(high_x, 1.0), padding=0.05)
            panel.pinned_x = True
        elif panel.pinned_x:
            view.enableAutoRange(axis=pg.ViewBox.XAxis)
            panel.pinned_x = False
        low_y, high_y = min(low for low, _ in ys), max(high for _, high in ys)
        if high_y == low_y:
            half = abs(low_y) * FLAT_RANGE_SHARE or 1.0
            view.setYRange(low_y - half, low_y + half, padding=0)
            panel.pinned_y = True
        elif panel.pinned_y:
            view.enableAutoRange(axis=pg.ViewBox.YAxis)
            panel.pinned_y = False

    def fit_all(self) -> None:
        for panel in self._panels:
            panel.plot.enableAutoRange()
