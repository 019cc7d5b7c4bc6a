"""Pause, resume, stop and open-the-run: the same on every page that trains through the shared session."""

from __future__ import annotations


class RunControls:
    """Mixed into a page that has `session`, `workspace`, `pause_button` and `progress_text`."""

    def toggle_pause(self) -> None:
        state = self.session.state
        if state == "training":
            self.session.pause()
            self.pause_button.setEnabled(False)  # until the engine confirms at the end of its step
            self.progress_text.setText(self.progress_text.text() + "  — pausing…")
        elif state == "paused":
            self.session.resume_training()

    def stop(self) -> None:
        if self.session.busy:
            self.session.stop()
            self.progress_text.setText("Stopping after this step and saving a checkpoint…")
            self.workspace.say("Stopping after this step and saving a checkpoint…", 0)

    def _open_current_run(self) -> None:
        if self.session.run_dir is not None:
            self.workspace.run_opened.emit(str(self.session.run_dir))
