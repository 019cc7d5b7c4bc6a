"""The control token a front end holds to stop or pause the engine; checked at step boundaries."""

from __future__ import annotations

import threading


class Control:
    """Stop and pause flags shared between the thread that trains and the one that asks.

    The engine polls these between steps; nothing is interrupted mid-step, so a stop always
    leaves consistent weights to checkpoint.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused engine must wake up to stop

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; True once running again (or stopping), False if `timeout` passed first."""
        return self._running.wait(timeout)
