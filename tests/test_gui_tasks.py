"""Background tasks of the window: answers in the GUI thread, jobs in order, and no worker thread left idle."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from ganstudio.core.errors import DataError
from ganstudio.gui.tasks import TaskRunner, WorkerPool

# Waits are on events and conditions; these only end a hang, so a busy machine never fails a test.
HANG_TIMEOUT_S = 60
HANG_TIMEOUT_MS = HANG_TIMEOUT_S * 1000


def test_jobs_run_in_the_order_given_on_one_worker():
    pool = WorkerPool(1, "order", idle_seconds=5)
    done = threading.Event()
    seen: list[int] = []
    threads: set[str] = set()
    for index in range(20):
        def job(index=index):
            seen.append(index)
            threads.add(threading.current_thread().name)
            if index == 19:
                done.set()
        pool.submit(job)
    assert done.wait(HANG_TIMEOUT_S)
    assert seen == list(range(20))
    assert len(threads) == 1, "a busy worker takes the next job itself"
    pool.shutdown(wait=True)
    assert pool.thread_count == 0


def test_an_idle_worker_ends_and_a_later_job_gets_a_new_one():
    pool = WorkerPool(2, "idle", idle_seconds=0.2)
    ran_on: list[threading.Thread] = []
    finished = threading.Event()

    def job():
        ran_on.append(threading.current_thread())
        finished.set()

    pool.submit(job)
    assert finished.wait(HANG_TIMEOUT_S)
    ran_on[0].join(HANG_TIMEOUT_S)
    assert not ran_on[0].is_alive(), "the worker ended once it had nothing to do"
    assert pool.thread_count == 0
    finished.clear()
    pool.submit(job)
    assert finished.wait(HANG_TIMEOUT_S), "a job after the worker ended still runs"
    assert ran_on[1] is not ran_on[0]
    pool.shutdown(wait=True)


def test_shutdown_drops_waiting_jobs_and_lets_the_running_one_finish():
    pool = WorkerPool(1, "close", idle_seconds=60)
    started, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def slow():
        started.set()
        release.wait(HANG_TIMEOUT_S)
        seen.append("slow")

    pool.submit(slow)
    pool.submit(lambda: seen.append("waiting"))
    assert started.wait(HANG_TIMEOUT_S)
    release.set()
    pool.shutdown(wait=True)  # returns although the idle time is a minute: shutdown wakes the worker
    assert seen == ["slow"], "the job still waiting is dropped, the running one finishes"
    assert pool.thread_count == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the process's threads in /proc")
def test_torch_work_in_a_task_leaves_no_thread_behind(qtbot):
    """Each thread that runs torch gets its own team of OpenMP threads for as long as it lives; a worker
    kept forever after a preview slowed the next training run by 10-25% on 2 cores."""
    import torch

    def thread_ids() -> set[int]:
        return {int(name) for name in os.listdir("/proc/self/task")}

    if torch.get_num_threads() < 2:
        pytest.skip("one torch thread: no OpenMP team to leave behind")
    runner = TaskRunner(workers=1, name="model", idle_seconds=0.2)
    # Counting the process's threads raced with threads of earlier tests ending meanwhile; the test
    # follows the very threads that appear while the task runs instead.
    before = thread_ids()
    worker: list[threading.Thread] = []

    def work(task):
        worker.append(threading.current_thread())
        pixels = torch.randn(512, 512)
        (pixels @ pixels).sum()
        return thread_ids()

    with qtbot.waitCallback(timeout=HANG_TIMEOUT_MS) as done:
        runner.submit(work, done)
    started = done.args[0] - before
    assert worker[0].native_id in started and len(started) > 1, "the worker and its OpenMP team were running"
    worker[0].join(HANG_TIMEOUT_S)
    assert not worker[0].is_alive()
    # join() returns when the Python thread is done; the OS thread and its OpenMP team exit a moment later.
    qtbot.waitUntil(lambda: not started & thread_ids(), timeout=HANG_TIMEOUT_MS)
    runner.shutdown(wait=True)


def test_an_error_in_a_task_reaches_the_page_as_a_sentence(qtbot):
    runner = TaskRunner(workers=2, name="errors")

    def fails(task):
        raise DataError("The folder holds no pictures.")

    def crashes(task):
        raise ZeroDivisionError("division by zero")

    with qtbot.waitCallback(timeout=HANG_TIMEOUT_MS) as ours:
        runner.submit(fails, on_error=ours)
    assert ours.args == ["The folder holds no pictures."]
    with qtbot.waitCallback(timeout=HANG_TIMEOUT_MS) as bug:
        runner.submit(crashes, on_error=bug)
    assert bug.args[0].startswith("Something went wrong inside GAN Studio (ZeroDivisionError")
    assert "Traceback" not in bug.args[0]
    runner.shutdown(wait=True)


def test_a_cancelled_task_calls_back_nothing(qtbot):
    runner = TaskRunner(workers=1, name="cancel")
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def waits(task):
        started.set()
        release.wait(HANG_TIMEOUT_S)
        task.check()
        return "result"

    task = runner.submit(waits, on_done=lambda value: calls.append(value), on_error=calls.append)
    assert started.wait(HANG_TIMEOUT_S)
    task.cancel()
    release.set()
    with qtbot.waitCallback(timeout=HANG_TIMEOUT_MS) as later:
        runner.submit(lambda task: "next", on_done=later)
    assert later.args == ["next"] and calls == [], "the cancelled task's callbacks never ran"
    runner.shutdown(wait=True)


def test_quitting_waits_for_writes_but_not_for_reads():
    pool = WorkerPool(2, "quit", idle_seconds=60)
    reading, writing = threading.Event(), threading.Event()
    release_read, release_write = threading.Event(), threading.Event()
    seen: list[str] = []

    def read():
        reading.set()
        release_read.wait(HANG_TIMEOUT_S)

    def write():
        writing.set()
        release_write.wait(HANG_TIMEOUT_S)
        seen.append("written")

    pool.submit(read, writes=False)
    pool.submit(write)
    assert reading.wait(HANG_TIMEOUT_S) and writing.wait(HANG_TIMEOUT_S)
    pool.shutdown()
    seen_when_done: list[list[str]] = []

    def wait_then_look():
        pool.wait_for_writes()
        seen_when_done.append(list(seen))

    waiter = threading.Thread(target=wait_then_look)
    waiter.start()
    release_write.set()
    waiter.join(HANG_TIMEOUT_S)
    assert seen_when_done == [["written"]], "the write under way was waited for, and the read still running was not"
    assert all(thread.daemon for thread in threading.enumerate() if thread.name.startswith("quit")), \
        "a worker does not hold the process open"
    release_read.set()
    pool.shutdown(wait=True)
