"""Background work for the pages: plain Python functions on worker threads, answers delivered in the GUI thread.

A task never touches a Qt object. It returns a value (or raises), and may call `task.progress(...)`;
a GUI-thread timer drains the answers and calls the page's callbacks, so no Qt object ever crosses
a thread and a slow task (a scan, a checkpoint load) never blocks the window.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer

from ..core.errors import GanStudioError

log = logging.getLogger(__name__)

# The answer queue is drained this often while tasks are out: quick enough to feel instant, and
# idle (the timer stops) when nothing is pending.
DRAIN_INTERVAL_MS = 30
# A worker with nothing to do for this long ends. Every thread that runs a torch operation gets
# its own OpenMP team, which lives as long as the thread; GNU OpenMP counts those idle teams and,
# once they outnumber the cores, stops busy-waiting in the training thread's team too. A worker kept
# forever after the Generate page drew one preview cut a 2-core machine's next training run from
# 289 to 215-240 images/s; starting a thread again after a pause costs well under a millisecond.
WORKER_IDLE_SECONDS = 2.0


class TaskCancelled(Exception):
    """Raised inside a task that noticed `task.cancelled`; the task ends quietly."""


def plain_message(exc: BaseException) -> str:
    """The sentence a user reads for an error: ours as they are, anything else named and logged."""
    if isinstance(exc, GanStudioError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory; try a smaller image size or fewer pictures."
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"A file could not be read or written{where}: {exc.strerror}."
    return (f"Something went wrong inside GAN Studio ({type(exc).__name__}: {str(exc)[:160]}); "
            "the details are in the log file (Help > Open log folder).")


class Task:
    """One piece of background work: a cancel flag the work checks, and progress it reports."""

    def __init__(self, runner: "TaskRunner", name: str):
        self.name = name
        self._runner = runner
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise TaskCancelled if the task was cancelled; call between chunks of work."""
        if self._cancel.is_set():
            raise TaskCancelled()

    def progress(self, *values: Any) -> None:
        self._runner._answers.put(("progress", self, values))


class WorkerPool:
    """Up to `workers` threads running jobs in the order given; a thread idle for `idle_seconds` ends.

    The threads do not hold the process open: a job that writes (an export, a save) is waited for at quit
    with `wait_for_writes`, while one that only reads (a scan, the device probe importing torch) is left.
    Quitting used to wait 5-13 s for the probe and the demo scan to finish work nobody would see.
    """

    def __init__(self, workers: int, name: str, idle_seconds: float = WORKER_IDLE_SECONDS):
        self._max_workers = workers
        self._name = name
        self._idle_seconds = idle_seconds
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._started = 0
        self._closed = False
        self._writes_running = 0
        self._writes_done = threading.Condition(self._lock)

    def submit(self, job: Callable[[], None], writes: bool = True) -> None:
        """Queue `job`; `writes` False for a job whose work may be dropped when the app quits."""
        self._jobs.put((job, writes))
        with self._lock:
            if self._closed or self._idle or len(self._threads) >= self._max_workers:
                return
            self._started += 1
            thread = threading.Thread(target=self._work, name=f"{self._name}_{self._started}", daemon=True)
            self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                job, writes = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                job, writes = None, False
            with self._lock:
                self._idle -= 1
                # Checked under the lock that `submit` takes: a job put after this check finds no idle
                # worker and starts a thread of its own, so no job is ever left without one.
                if job is None and (self._closed or self._jobs.empty()):
                    self._threads.discard(threading.current_thread())
                    return
                if job is None or self._closed:
                    continue
                self._writes_running += writes
            try:
                job()
            finally:
                with self._lock:
                    self._writes_running -= writes
                    self._writes_done.notify_all()

    def wait_for_writes(self) -> None:
        """Block until no job that writes is running (those not started are dropped by `shutdown`)."""
        with self._lock:
            while self._writes_running:
                self._writes_done.wait()

    @property
    def thread_count(self) -> int:
        with self._lock:
            return len(self._threads)

    def shutdown(self, wait: bool = False) -> None:
        """Drop the jobs not yet started; with `wait`, block until the running ones have ended."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        for _ in threads:
            self._jobs.put((None, False))  # wakes the idle workers, which then see the pool closed and end
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()


class TaskRunner(QObject):
    """A small pool of worker threads whose results come back to callbacks in the GUI thread."""

    def __init__(self, parent: QObject | None = None, workers: int = 2, name: str = "task",
                 idle_seconds: float = WORKER_IDLE_SECONDS):
        super().__init__(parent)
        self._pool = WorkerPool(workers, f"ganstudio-{name}", idle_seconds)
        self._answers: queue.SimpleQueue = queue.SimpleQueue()
        self._callbacks: dict[Task, tuple[Callable | None, Callable | None, Callable | None]] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self._drain)
        self._closed = False

    def submit(self, work: Callable[[Task], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None, on_progress: Callable[..., None] | None = None,
               name: str = "task", writes: bool = True) -> Task:
        """Run `work(task)` on a worker; `on_done(result)` or `on_error(sentence)` follow in the GUI thread.

        A cancelled task calls neither. `writes` False: the work only reads, and quitting does not wait for it.
        """
        task = Task(self, name)
        if self._closed:
            task.cancel()
            return task
        self._callbacks[task] = (on_done, on_error, on_progress)

        def run() -> None:
            try:
                result = work(task)
            except TaskCancelled:
                self._answers.put(("cancelled", task, None))
            except BaseException as exc:  # every failure becomes a sentence in the GUI thread
                if not isinstance(exc, GanStudioError):
                    log.exception("background task %s failed", name)
                self._answers.put(("error", task, plain_message(exc)))
            else:
                self._answers.put(("done", task, result))

        self._pool.submit(run, writes)
        self._timer.start()
        return task

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def _drain(self) -> None:
        latest_progress: dict[Task, tuple] = {}
        finished: list[tuple[str, Task, Any]] = []
        while True:
            try:
                kind, task, value = self._answers.get_nowait()
            except queue.Empty:
                break
            if kind == "progress":
                latest_progress[task] = value  # only the newest progress of a task matters to a bar
            else:
                finished.append((kind, task, value))
        for task, values in latest_progress.items():
            callbacks = self._callbacks.get(task)
            if callbacks and callbacks[2] is not None and not task.cancelled:
                callbacks[2](*values)
        for kind, task, value in finished:
            on_done, on_error, _ = self._callbacks.pop(task, (None, None, None))
            if task.cancelled or kind == "cancelled":
                continue
            if kind == "done" and on_done is not None:
                on_done(value)
            elif kind == "error" and on_error is not None:
                on_error(value)
        if not self._callbacks:
            self._timer.stop()

    def shutdown(self, wait: bool = False) -> None:
        """Cancel everything pending; with `wait`, block until running work has noticed and ended."""
        self._closed = True
        for task in list(self._callbacks):
            task.cancel()
        self._callbacks.clear()
        self._timer.stop()
        self._pool.shutdown(wait=wait)

    def wait_for_writes(self) -> None:
        """Block until the work under way that writes files has ended (at quit, after `shutdown`)."""
        self._pool.wait_for_writes()
