"""Looping morph animations between two seeds: the latent path, the frames, and the GIF or MP4 that holds them.

No Qt here: the Generate page runs these on its worker threads and `ganstudio animate` runs them headless.
MP4 needs an ffmpeg program (found on the PATH, or the one the imageio-ffmpeg package carries when it
happens to be installed); without one, GIF is offered alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PIL import Image

from .. import APP_NAME, __version__
from .errors import ConfigError, GanStudioError
from .fileio import atomic_open, atomic_write_bytes

if TYPE_CHECKING:
    from .generate import TrainedGenerator

# Animations of small pictures are enlarged to at least this many pixels a side: a 64-pixel GIF is
# a postage stamp on today's screens. Nearest-neighbour keeps the network's own pixels visible.
MIN_ANIMATION_SIDE = 256
FFMPEG_TIMEOUT_S = 300
DEFAULT_FPS = 24.0
DEFAULT_FRAMES_EACH_WAY = 36
# 1,000 frames each way is 83 s of animation at 24 fps; the 2,000 frames enlarged to 256 px hold
# 390 MB in memory before encoding, so far longer requests would exhaust a laptop instead.
MAX_FRAMES_EACH_WAY = 1000
# Frames go through the generator this many latents at a time, so memory does not grow with the frame count.
FRAME_CHUNK = 64
ANIMATION_SUFFIXES = (".gif", ".mp4")


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
    if fraction == 0:
        return start.copy()  # exactly, not via sin(a)/sin(a): the first frame is the seed's own picture
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


def check_morph(seed_from: int, seed_to: int, frames_each_way: int) -> None:
    """A plain ConfigError for a morph that cannot be made, before any network runs."""
    if frames_each_way < 2:
        raise ConfigError(f"An animation needs at least 2 frames each way, not {frames_each_way}.")
    if frames_each_way > MAX_FRAMES_EACH_WAY:
        raise ConfigError(f"{frames_each_way:,} frames each way is more than the {MAX_FRAMES_EACH_WAY:,} "
                          "an animation can hold; ask for fewer frames.")
    if seed_from == seed_to:
        raise ConfigError(f"Both seeds are {seed_from}, so nothing would move; choose two different seeds.")


def morph_frames(generator: TrainedGenerator, seed_from: int, seed_to: int, frames_each_way: int,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """2 x `frames_each_way` pictures (N x H x W x 3 uint8) from seed_from's to seed_to's and back.

    Frame 0 is exactly the picture seed_from gives, and frame `frames_each_way` the one seed_to gives.
    `progress(done, total)` is told after each chunk of frames.
    """
    import torch
    check_morph(seed_from, seed_to, frames_each_way)
    ends = generator.recipe.latents_for_seeds([seed_from, seed_to]).numpy()
    latents = torch.from_numpy(loop_latents(ends[0], ends[1], frames_each_way))
    chunks = []
    for start in range(0, len(latents), FRAME_CHUNK):
        chunks.append(generator.images_for_latents(latents[start:start + FRAME_CHUNK]))
        if progress is not None:
            progress(min(start + FRAME_CHUNK, len(latents)), len(latents))
    return np.concatenate(chunks)


def morph_metadata(generator: TrainedGenerator, seed_from: int, seed_to: int, frame_count: int, fps: float) -> dict[str, Any]:
    """What an animation file remembers: run, model, checkpoint, step, app version, seeds, frames and speed."""
    return {**generator.metadata(), "seed_from": seed_from, "seed_to": seed_to, "frames": frame_count, "fps": fps}


def _comment(metadata: dict[str, Any]) -> str:
    return json.dumps({"app": APP_NAME, "app_version": __version__, **metadata}, default=str)


def write_gif(path: Path, frames: np.ndarray, fps: float, metadata: dict[str, Any]) -> Path:
    """A looping GIF of N x H x W x 3 frames, written atomically; the metadata goes in its comment."""
    frames = enlarge_frames(frames)
    images = [Image.fromarray(frame, "RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                      dither=Image.Dither.NONE) for frame in frames]
    with atomic_open(path, "wb") as handle:
        images[0].save(handle, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=max(20, round(1000 / fps)), disposal=1, comment=_comment(metadata).encode())
    return path


def write_mp4(path: Path, frames: np.ndarray, fps: float, metadata: dict[str, Any], ffmpeg: str) -> Path:
    """An H.264 MP4 made by ffmpeg from raw frames on its stdin, then written atomically.

    ffmpeg needs a seekable file for +faststart, so it writes a hidden scratch file beside the target,
    which is then copied in with fileio like every other file we write and removed.
    """
    frames = np.ascontiguousarray(enlarge_frames(frames))
    count, height, width, _ = frames.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, scratch_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(descriptor)
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", f"{fps:g}", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18",
               "-movflags", "+faststart", "-metadata", f"comment={_comment(metadata)}", scratch_name]
    try:
        try:
            result = subprocess.run(command, input=frames.tobytes(), capture_output=True, timeout=FFMPEG_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise GanStudioError(f"ffmpeg took more than {FFMPEG_TIMEOUT_S} s to write the video {path.name}; "
                                 "ask for fewer frames or try a GIF instead.") from None
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit status {result.returncode}"
            raise GanStudioError(f"ffmpeg could not write the video {path.name} ({reason}); try a GIF instead.")
        atomic_write_bytes(path, Path(scratch_name).read_bytes())
    finally:
        try:
            os.unlink(scratch_name)
        except OSError:
            pass
    return path


def write_animation(path: Path, frames: np.ndarray, fps: float, metadata: dict[str, Any],
                    ffmpeg: str | None = None) -> Path:
    """A GIF or an MP4, chosen by the suffix of `path`; MP4 needs `ffmpeg`."""
    suffix = path.suffix.lower()
    if suffix == ".gif":
        return write_gif(path, frames, fps, metadata)
    if suffix == ".mp4":
        if ffmpeg is None:
            raise ConfigError(_NO_FFMPEG)
        return write_mp4(path, frames, fps, metadata, ffmpeg)
    raise ConfigError(_unknown_suffix(path))


_NO_FFMPEG = ("MP4 needs the ffmpeg program, which was not found on this computer; install ffmpeg "
              "(or the imageio-ffmpeg package), or write a .gif instead.")


def _unknown_suffix(path: Path) -> str:
    what = f"{path.suffix}" if path.suffix else "a name without a suffix"
    return f"An animation is written as .gif or .mp4, not {what}; name it {path.stem}.gif or {path.stem}.mp4."


def _check_output(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; name a file ending .gif or .mp4 for the animation.")
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; pass --overwrite to replace it, or choose another name.")


def animate_run(run: str | Path, out: str | Path, seed_from: int, seed_to: int,
                frames_each_way: int = DEFAULT_FRAMES_EACH_WAY, fps: float = DEFAULT_FPS,
                checkpoint: str | Path | None = None, device: str = "auto", overwrite: bool = False,
                progress: Callable[[int, int], None] | None = None) -> tuple[Path, TrainedGenerator]:
    """Write a looping morph of a run's pictures from seed_from to seed_to and back to `out` (.gif or .mp4).

    Every mistake a user can make (the file name, ffmpeg, an existing file, the run) is refused with one
    plain sentence before any frame is made. Returns (the path written, the TrainedGenerator used).
    """
    from .generate import load_generator
    path = Path(out).expanduser()
    if path.suffix.lower() not in ANIMATION_SUFFIXES:
        raise ConfigError(_unknown_suffix(path))
    ffmpeg = find_ffmpeg() if path.suffix.lower() == ".mp4" else None
    if path.suffix.lower() == ".mp4" and ffmpeg is None:
        raise ConfigError(_NO_FFMPEG)
    if not fps > 0:
        raise ConfigError(f"The speed must be more than 0 frames a second, not {fps:g}.")
    check_morph(seed_from, seed_to, frames_each_way)
    _check_output(path, overwrite)
    generator = load_generator(run, checkpoint, device)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"The folder {path.parent} could not be created ({exc.strerror or exc}).") from None
    frames = morph_frames(generator, seed_from, seed_to, frames_each_way, progress)
    _check_output(path, overwrite)  # again: the file may have appeared while the frames were made
    try:
        write_animation(path, frames, fps, morph_metadata(generator, seed_from, seed_to, len(frames), fps), ffmpeg)
    except OSError as exc:
        raise GanStudioError(f"{path} could not be written ({exc.strerror or exc}).") from None
    return path, generator
