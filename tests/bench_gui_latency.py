"""Benchmark: how responsive the window stays while it trains, and whether training in it is as fast as the CLI.

Not collected by pytest (no test_ prefix). Run from the repository root, on an otherwise quiet machine:

    QT_QPA_PLATFORM=offscreen python tests/bench_gui_latency.py            # or under Xvfb with DISPLAY set
    python tests/bench_gui_latency.py --minutes 1 --repeats 3 --size 64
    python tests/bench_gui_latency.py --steps 1500 --turns 4 --repeats 3 --size 64 --plot-points 0

Each repeat trains the built-in demo on the CPU for the same length twice, with the same settings:
once with `ganstudio train` in a subprocess (headless), once in the app's main window with the Train
page showing (live plot and gallery). Every app run is in the same window, as a user training again
would, so whatever a finished run leaves behind in the app is measured too. The order alternates
between repeats. While the app trains, a heartbeat timer in the GUI thread (10 ms unless told) records
how late each tick fires: that lateness is the event-loop latency a user would feel as a stutter; a
1,000 ms heartbeat measures speed without the probe's own wake-ups. Images per second come from each
run's own metrics.jsonl, after the first 20% of training time (warm-up), the same way for both.
Last, the live plot is timed with a million points per curve.

The length is whole minutes (the app's Train page has no shorter setting) or, with `--steps N`, the
same number of steps on both sides: short runs make many back-to-back pairs in little time, and the
ratio within a pair is what survives a machine whose speed drifts from minute to minute.

On a machine shared with other work, torch's two-thread CPU kernels suffer badly when one of their
threads is descheduled (we saw 22-84 images/s with two threads and 454 with one, at the same load):
`--threads 1` gives both sides one thread, which compares the app and the CLI far more steadily.

`--turns SECONDS` compares speed by taking turns instead: the app (in a child process, window shown,
Train page) and `ganstudio train` start together, and every SECONDS one is frozen (SIGSTOP) while the
other trains; only step intervals that lie wholly inside a side's own turn count. Both sides then see
the same machine: a virtual machine whose speed jumps between levels (here 270 and 355 images/s, for
minutes at a time) no longer decides which side looks faster. Linux and macOS only.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HEARTBEAT_MS = 10
WARMUP_SHARE = 0.2


def images_per_second(metrics_path: Path) -> float:
    from ganstudio.core import events as ev
    from ganstudio.core.sinks import read_metrics
    steps = [event for event in read_metrics(metrics_path) if isinstance(event, ev.StepProgress)]
    if not steps:
        return float("nan")
    end = steps[-1].elapsed_seconds
    kept = [event for event in steps if event.elapsed_seconds >= end * WARMUP_SHARE]
    if len(kept) < 2:  # too few events to skip the warm-up: the whole run's average
        return steps[-1].images_seen / max(1e-9, end)
    first, last = kept[0], kept[-1]
    return (last.images_seen - first.images_seen) / max(1e-9, last.elapsed_seconds - first.elapsed_seconds)


def length_arguments(minutes: float, steps: int) -> list[str]:
    return ["--steps", str(steps)] if steps else ["--minutes", f"{minutes:g}"]


def run_cli(root: Path, minutes: float, size: int, index: int, steps: int = 0) -> float:
    run_dir = root / f"cli-{index}"
    command = [sys.executable, "-m", "ganstudio", "train", "--demo", "--device", "cpu", "--size", str(size),
               *length_arguments(minutes, steps), "--run", str(run_dir)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
    return images_per_second(run_dir / "metrics.jsonl")


def open_window(size: int):
    """The main window on the Train page with the demo at `size` px on the CPU, as a user would set it."""
    from ganstudio.gui.main_window import MainWindow
    from ganstudio.gui.settings import AppSettings

    settings = AppSettings(Path(tempfile.mkdtemp()) / "bench.ini")
    settings.set_value("dataset/demo", True)
    settings.set_value("dataset/size", size)
    window = MainWindow(settings)
    window.resize(1360, 860)
    window.show()
    window.show_page("train")
    page = window.train_page
    device = page.settings_table["device"]
    device.setCurrentIndex(max(0, device.findData("cpu")))
    return window


def run_app(window, minutes: float, heartbeat_ms: int = HEARTBEAT_MS, steps: int = 0) -> tuple[float, list[float]]:
    """Train once more in the same window (a user's second run is measured like the first)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

    page, session = window.train_page, window.workspace.session
    length = page.settings_table["length"]
    length.setCurrentIndex(length.findData("steps" if steps else "minutes"))
    page.settings_table["length_amount"].setValue(steps or minutes)
    loop = QEventLoop()
    lateness: list[float] = []
    clock = QElapsedTimer()
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(heartbeat_ms)
    state = {"last": None}

    def beat() -> None:
        now = clock.nsecsElapsed() / 1e6
        if state["last"] is not None and session.state == "training":
            lateness.append(max(0.0, now - state["last"] - heartbeat_ms))
        state["last"] = now

    heartbeat.timeout.connect(beat)
    session.thread_ended.connect(loop.quit)
    QTimer.singleShot(3000, page.start)  # let the demo scan (first run) and the last run's previews settle
    clock.start()
    heartbeat.start()
    loop.exec()
    heartbeat.stop()
    session.thread_ended.disconnect(loop.quit)
    return images_per_second(Path(session.run_dir) / "metrics.jsonl"), lateness


def time_plot(points: int) -> tuple[float, float]:
    from ganstudio.core import events as ev
    from ganstudio.gui.widgets.metrics_plot import MetricsPlot
    plot = MetricsPlot()
    plot.resize(700, 500)
    plot.show()
    plot.set_series(("D/real", "D/fake", "G/adv"), ("D(x)", "D(G(z))"))
    rng = np.random.default_rng(0)
    chunk = 10_000
    started = time.perf_counter()
    for start in range(0, points, chunk):
        values = rng.random((chunk, 5))
        plot.append_steps([ev.StepProgress(step=start + i + 1, epoch=0, epoch_fraction=0.0, images_seen=0,
                                           images_per_second=0.0, elapsed_seconds=0.0, eta_seconds=None,
                                           losses={"D/real": v[0], "D/fake": v[1], "G/adv": v[2]},
                                           stats={"D(x)": v[3], "D(G(z))": v[4]})
                           for i, v in enumerate(values)])
    append_seconds = time.perf_counter() - started
    plot.redraw()
    plot.graphics.grab()
    redraws = []
    for _ in range(5):
        plot.append_steps([ev.StepProgress(step=points + 1, epoch=0, epoch_fraction=0.0, images_seen=0,
                                           images_per_second=0.0, elapsed_seconds=0.0, eta_seconds=None,
                                           losses={"D/real": 0.5, "D/fake": 0.5, "G/adv": 1.0},
                                           stats={"D(x)": 0.5, "D(G(z))": 0.5})])
        points += 1
        started = time.perf_counter()
        plot.redraw()
        plot.graphics.grab()  # forces a full paint of both plots
        redraws.append(time.perf_counter() - started)
    return append_seconds, statistics.median(redraws)


def step_records(metrics_path: Path) -> list[tuple[float, int]]:
    """(wall time, images seen) of every step event in a run's metrics.jsonl, oldest first."""
    from ganstudio.core import events as ev
    from ganstudio.core.sinks import read_metrics
    return [(event.time, event.images_seen) for event in read_metrics(metrics_path) if isinstance(event, ev.StepProgress)]


def rate_in_turns(steps: list[tuple[float, int]], turns: list[tuple[float, float]], until: float,
                  skip_images: int) -> tuple[float, list[float | None]]:
    """Images per second over the step intervals lying wholly inside one of `turns` and before `until`;
    also the rate within each turn (None where a turn holds too little). The first `skip_images` images
    are warm-up."""
    images, seconds = 0, 0.0
    per_turn: list[float | None] = []
    for start, end in turns:
        inside = [(t, n) for t, n in steps if start <= t <= min(end, until) and n > skip_images]
        (t0, n0), (t1, n1) = (inside[0], inside[-1]) if len(inside) >= 2 else ((0.0, 0), (0.0, 0))
        per_turn.append((n1 - n0) / (t1 - t0) if t1 > t0 else None)
        images, seconds = images + n1 - n0, seconds + t1 - t0
    return (images / seconds if seconds else float("nan")), per_turn


def app_child(size: int, steps: int, earlier_runs: int) -> int:
    """Train the demo in a shown window (the --turns mode runs this in its own process): `earlier_runs`
    runs first, as a user who trained before, then the measured one, announced on stdout."""
    from PySide6.QtWidgets import QApplication

    from ganstudio.gui import theme

    app = QApplication(sys.argv[:1])
    theme.apply(app, "light")
    window = open_window(size)
    for _ in range(earlier_runs):
        run_app(window, 1, 1000, steps)
    print("measured run", flush=True)
    speed, _ = run_app(window, 1, 1000, steps)
    window.close()
    window.workspace.shutdown()
    print(f"app child: {speed:.1f} images/s", flush=True)
    return 0


def compare_in_turns(root: Path, size: int, steps: int, turn_seconds: float,
                     earlier_runs: int = 0) -> tuple[float, float, list[float]]:
    """The app and the CLI train at once, frozen in turns; their speeds over their own turns, and per-turn-pair ratios.
    With `earlier_runs`, the app's window trains that many runs alone first, and the next one is measured."""
    root = Path(tempfile.mkdtemp(prefix="turns-", dir=root))
    env = os.environ.copy()
    cli_run = root / "cli"
    app_env = {**env, "GANSTUDIO_DATA_DIR": str(root / "app-data")}
    app = subprocess.Popen([sys.executable, __file__, "--app-child", "--size", str(size), "--steps", str(steps),
                            "--earlier-runs", str(earlier_runs)], stdout=subprocess.PIPE, text=True, env=app_env)
    if app.stdout.readline().strip() != "measured run":
        raise RuntimeError("the app's benchmark window ended before its measured run")
    cli = subprocess.Popen([sys.executable, "-m", "ganstudio", "train", "--demo", "--device", "cpu", "--size", str(size),
                            "--steps", str(steps), "--run", str(cli_run)], stdout=subprocess.DEVNULL, env=env)
    sides = {"cli": cli, "app": app}
    turns: dict[str, list[tuple[float, float]]] = {"cli": [], "app": []}
    app.send_signal(signal.SIGSTOP)
    running, started = "cli", time.time()
    first_finish = None
    try:
        while first_finish is None:
            deadline = time.time() + turn_seconds
            while time.time() < deadline and sides[running].poll() is None:
                time.sleep(0.02)
            other = "app" if running == "cli" else "cli"
            if sides[running].poll() is None:
                sides[running].send_signal(signal.SIGSTOP)
            else:
                first_finish = time.time()
            turns[running].append((started, time.time()))
            sides[other].send_signal(signal.SIGCONT)
            running, started = other, time.time()
    finally:
        for process in sides.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
        for process in sides.values():
            process.wait()
    app.stdout.read()
    speeds = {}
    app_metrics = max((root / "app-data" / "runs").glob("*/metrics.jsonl"), key=lambda path: path.stat().st_mtime)
    for side, metrics in (("cli", cli_run / "metrics.jsonl"), ("app", app_metrics)):
        steps_seen = step_records(metrics)
        speeds[side] = rate_in_turns(steps_seen, turns[side], first_finish, int(steps_seen[-1][1] * WARMUP_SHARE))
    (app_speed, app_turns), (cli_speed, cli_turns) = speeds["app"], speeds["cli"]
    # Neighbouring turns saw nearly the same machine: their ratio is the steadiest single comparison.
    ratios = [app / cli for app, cli in zip(app_turns, cli_turns) if app and cli]
    return app_speed, cli_speed, ratios


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(np.asarray(values), share * 100)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=2, help="whole training minutes per run (default 2)")
    parser.add_argument("--steps", type=int, default=0, help="train this many steps per run instead of minutes")
    parser.add_argument("--repeats", type=int, default=2, help="app/CLI pairs, order alternating (default 2)")
    parser.add_argument("--size", type=int, default=32, help="image size (default 32)")
    parser.add_argument("--plot-points", type=int, default=1_000_000, help="points per curve for the plot timing")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads for both sides (default: torch's)")
    parser.add_argument("--heartbeat-ms", type=int, default=HEARTBEAT_MS,
                        help=f"heartbeat period (default {HEARTBEAT_MS}); a slow one measures speed without "
                             "the probe's own wake-ups")
    parser.add_argument("--turns", type=float, default=0,
                        help="compare speed with the app and the CLI taking turns of this many seconds (needs --steps)")
    parser.add_argument("--earlier-runs", type=int, default=0,
                        help="with --turns: the app's window trains this many runs first, as a user training again")
    parser.add_argument("--app-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.app_child:
        return app_child(args.size, args.steps, args.earlier_runs)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the CLI subprocess inherits it
        import torch
        torch.set_num_threads(args.threads)

    root = Path(tempfile.mkdtemp(prefix="ganstudio-bench-"))
    os.environ["GANSTUDIO_DATA_DIR"] = str(root / "data")
    os.environ["GANSTUDIO_CACHE_DIR"] = str(root / "cache")
    from PySide6.QtWidgets import QApplication

    from ganstudio.core.config import DataConfig
    from ganstudio.core.data.cache import load_dataset
    from ganstudio.gui import theme

    app = QApplication(sys.argv[:1])
    theme.apply(app, "light")
    load_dataset(DataConfig(demo=True, size=args.size))  # both start from the decoded-dataset cache
    print(f"platform {app.platformName()}, {os.cpu_count()} CPUs, torch threads {args.threads or 'default'}, "
          f"demo at {args.size} px, "
          f"{f'{args.steps:,} steps' if args.steps else f'{args.minutes} min'} per run, {args.repeats} repeats",
          flush=True)

    if args.turns:
        if not args.steps:
            parser.error("--turns needs --steps")
        if not hasattr(signal, "SIGSTOP"):
            parser.error("--turns freezes processes with SIGSTOP, which this system does not have")
        for repeat in range(args.repeats):
            app_speed, cli_speed, ratios = compare_in_turns(root, args.size, args.steps, args.turns, args.earlier_runs)
            print(f"repeat {repeat + 1}: taking turns of {args.turns:g} s: app {app_speed:.1f} images/s, "
                  f"CLI {cli_speed:.1f}: app / CLI {app_speed / cli_speed:.3f}; neighbouring turns "
                  f"{percentile(ratios, 0.25):.2f} / {percentile(ratios, 0.5):.2f} / {percentile(ratios, 0.75):.2f} "
                  f"(quartiles of {len(ratios)})", flush=True)
        return 0

    window = open_window(args.size)
    app_speeds, cli_speeds, lateness = [], [], []
    for repeat in range(args.repeats):
        order = ("cli", "app") if repeat % 2 == 0 else ("app", "cli")
        for kind in order:
            if kind == "cli":
                speed = run_cli(root, args.minutes, args.size, repeat, args.steps)
                cli_speeds.append(speed)
            else:
                speed, late = run_app(window, args.minutes, args.heartbeat_ms, args.steps)
                app_speeds.append(speed)
                lateness.extend(late)
                print(f"  app heartbeat this run: p50 {percentile(late, 0.5):.1f} ms, "
                      f"p99 {percentile(late, 0.99):.1f} ms, max {max(late, default=float('nan')):.1f} ms "
                      f"over {len(late):,} ticks", flush=True)
            print(f"repeat {repeat + 1}: {kind} {speed:.1f} images/s", flush=True)

    window.close()
    window.workspace.shutdown()
    print()
    print(f"event-loop latency while training (heartbeat lateness over {len(lateness):,} ticks of {args.heartbeat_ms} ms): "
          f"p50 {percentile(lateness, 0.5):.1f} ms, p99 {percentile(lateness, 0.99):.1f} ms, "
          f"max {max(lateness, default=float('nan')):.1f} ms")
    app_median, cli_median = statistics.median(app_speeds), statistics.median(cli_speeds)
    print(f"images/s, app: {', '.join(f'{s:.1f}' for s in app_speeds)} (median {app_median:.1f})")
    print(f"images/s, CLI: {', '.join(f'{s:.1f}' for s in cli_speeds)} (median {cli_median:.1f})")
    # The machine's speed drifts by 10-20% from minute to minute; each pair ran back to back, so the
    # ratio within a pair is steadier than the ratio of the medians.
    pair_ratios = [app / cli for app, cli in zip(app_speeds, cli_speeds)]
    print(f"app / CLI: {app_median / cli_median:.3f} (medians); pairs {', '.join(f'{r:.2f}' for r in pair_ratios)} "
          f"(median {statistics.median(pair_ratios):.3f})")
    if args.plot_points:
        append_seconds, redraw_seconds = time_plot(args.plot_points)
        print(f"plot with {args.plot_points:,} points in each of 5 curves: appending took {append_seconds:.1f} s "
              f"in chunks of 10,000; a redraw and full repaint takes {redraw_seconds * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
