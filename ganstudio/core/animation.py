"""Looping morph animations between two seeds: the latent path, and the GIF or MP4 that holds the frames.

No Qt here: the Generate page runs these on its worker threads. MP4 needs an ffmpeg program (found on the PATH, or the one
the imageio-ffmpeg package carries when it happens to be installed); without one, GIF is offered alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .. import APP_NAME, __version__
from .errors import GanStudioError
from .fileio import atomic_open

# Animations of small pictures are enlarged to at least this many pixels a side: a 64-pixel GIF is
# a postage stamp on today's screens. Nearest-neighbour keeps the network's own pixels visible.
MIN_ANIMATION_SIDE = 256
FFMPEG_TIMEOUT_S = 300


def find_ffmpeg() -> str | None:
    """An ffmpeg executable, or None: MP4 export is offered only when there is one."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # optional: present only if the user installed it
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (RuntimeError, OSError):
        return None


def slerp(start: np.ndarray, end: np.ndarray, fraction: float) -> np.ndarray:
    """Spherical interpolation: the path Gaussian latents take without passing through the dull middle."""
    start_unit = start / np.linalg.norm(start)
    end_unit = end / np.linalg.norm(end)
    angle = float(np.arccos(np.clip(np.dot(start_unit, end_unit), -1.0, 1.0)))
    if angle < 1e-6:
        return (1 - fraction) * start + fraction * end
    return (np.sin((1 - fraction) * angle) * start + np.sin(fraction * angle) * end) / np.sin(angle)


def loop_latents(start: np.ndarray, end: np.ndarray, frames_each_way: int) -> np.ndarray:
    """Latents from `start` to `end` and back, so the animation loops without a jump."""
    fractions = np.linspace(0.0, 1.0, frames_each_way, endpoint=False)
    there = [slerp(start, end, f) for f in fractions]
    back = [slerp(end, start, f) for f in fractions]
    return np.stack(there + back).astype(np.float32)


def enlarge_frames(frames: np.ndarray, min_side: int = MIN_ANIMATION_SIDE) -> np.ndarray:
    """Frames scaled up by a whole factor to at least `min_side`, pixels kept square and sharp."""
    side = frames.shape[1]
    factor = max(1, -(-min_side // side))
    if factor == 1:
        return frames
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)


def write_gif(path: Path, frames: np.ndarray, fps: float, metadata: dict[str, Any]) -> Path:
    """A looping GIF of N x H x W x 3 frames, written atomically; the metadata goes in its comment."""
    frames = enlarge_frames(frames)
    images = [Image.fromarray(frame, "RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                      dither=Image.Dither.NONE) for frame in frames]
    comment = json.dumps({"app": APP_NAME, "app_version": __version__, **metadata}, default=str)
    with atomic_open(path, "wb") as handle:
        images[0].save(handle, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=max(20, round(1000 / fps)), disposal=1, comment=comment.encode())
    return path


def write_mp4(path: Path, frames: np.ndarray, fps: float, metadata: dict[str, Any], ffmpeg: str) -> Path:
    """An H.264 MP4 made by ffmpeg from raw frames on its stdin; written to a temporary name, then renamed."""
    frames = np.ascontiguousarray(enlarge_frames(frames))
    count, height, width, _ = frames.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(descriptor)
    comment = json.dumps({"app": APP_NAME, "app_version": __version__, **metadata}, default=str)
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", f"{fps:g}", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18",
               "-movflags", "+faststart", "-metadata", f"comment={comment}", temp_name]
    try:
        result = subprocess.run(command, input=frames.tobytes(), capture_output=True, timeout=FFMPEG_TIMEOUT_S)
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit status {result.returncode}"
            raise GanStudioError(f"ffmpeg could not write the video {path.name} ({reason}); try a GIF instead.")
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise
    return path
