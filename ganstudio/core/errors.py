"""Errors a user can cause, each carrying one plain sentence that says what happened and what to do."""


class GanStudioError(Exception):
    """An error whose message is meant for the user, as it is, without a traceback."""


class ConfigError(GanStudioError):
    """A setting is out of range or does not fit with another."""


class DataError(GanStudioError):
    """The dataset cannot be used: nothing usable found, unreadable path, and the like."""


class CheckpointError(GanStudioError):
    """A checkpoint or weights file cannot be read or does not fit the model."""


class DeviceError(GanStudioError):
    """The requested device is missing or ran out of memory."""


class TrainingDiverged(GanStudioError):
    """Losses or weights became NaN or infinite."""
