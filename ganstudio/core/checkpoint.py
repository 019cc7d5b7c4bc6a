"""Checkpoints: the whole training state in one file, written atomically, read without running any code."""

from __future__ import annotations

import hashlib
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from .errors import CheckpointError, TrainingDiverged
from .fileio import atomic_save
from .filetypes import kind_sentence, sniff

FORMAT = "ganstudio-checkpoint"
# The version policy: FORMAT_VERSION rises whenever the layout of a checkpoint changes. A checkpoint of a
# newer version than this code knows is refused with advice to update. One of an older version is
# upgraded to the current layout as it is read (each change of layout brings its upgrade from the version
# before), so a run started years ago still resumes. Version 1 is the first GAN Studio ever wrote: a
# version below it, a missing one or one that is not a whole number was not written by GAN Studio and
# is refused plainly.
FORMAT_VERSION = 1
FIRST_FORMAT_VERSION = 1
# A checksum of everything else in the checkpoint, tensor bytes included: torch checks none of the zip's
# CRCs, so one flipped byte in a weight would otherwise resume silently. Checkpoints written before it
# have none and are read as before (adding it changed no layout, so the version stays 1).
DIGEST_KEY = "digest"
# What each use reads, in words for the sentence that names what a checkpoint lacks. Generating and
# translating read the first group; continuing training reads all of it.
EVERY_USE_FIELDS = {"model": "the name of its model", "config": "the settings of its run",
                    "recipe": "the weights of its model", "counters": "its training counters"}
TRAINING_FIELDS = {"data": "the order of its pictures", "history": "its loss history",
                   "rng": "the states of its random number generators"}
EVERY_USE_COUNTERS = ("step", "epoch")
TRAINING_COUNTERS = ("position", "images_seen", "train_seconds")
RNG_STATES = ("python", "numpy", "torch")


def capture_rng_state() -> dict[str, Any]:
    """Every random number generator training draws from, in a form torch.load(weights_only=True) accepts."""
    keys_name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"name": keys_name, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        state["mps"] = torch.mps.get_rng_state()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_as_python_random_state(state["python"]))
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["name"], numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda_states = state["cuda"][:torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)
    if "mps" in state and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"])


def _as_python_random_state(value: Any) -> tuple:
    version, internal, gauss_next = value
    return int(version), tuple(int(v) for v in internal), gauss_next


def _non_finite_tensors(value: Any, path: str = "") -> list[str]:
    """The names of floating-point tensors in `value` holding NaN or infinity."""
    found: list[str] = []
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            found.append(path or "tensor")
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(_non_finite_tensors(item, f"{path}/{key}" if path else str(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(_non_finite_tensors(item, f"{path}/{index}"))
    return found


def check_finite(state: dict, what: str = "weights") -> None:
    """TrainingDiverged when any weight or optimiser value is NaN or infinite."""
    bad = _non_finite_tensors(state.get("recipe", {}))
    if bad:
        raise TrainingDiverged(f"Training diverged: {what} became NaN or infinite ({bad[0]}); "
                               f"no checkpoint was written over the last good one. {DIVERGENCE_ADVICE}")


# What a user can do about divergence, in options both front ends have: resume takes no learning rates.
DIVERGENCE_ADVICE = ("Start a new run with lower learning rates (--lr-g and --lr-d, or Advanced settings in the "
                     "app) or another seed.")


def state_digest(value: Any) -> str:
    """A checksum of a checkpoint's contents: its structure, plain values and every tensor's bytes."""
    digest = hashlib.blake2b(digest_size=32)
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor {tensor.dtype} {tuple(tensor.shape)};".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(value, dict):
        digest.update(f"dict {len(value)};".encode())
        for key in sorted(value, key=repr):  # the order a dict comes back in is not part of its content
            digest.update(f"{key!r}:".encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"list {len(value)};".encode())  # torch.load may give back a tuple as saved, or not
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"{type(value).__name__} {value!r};".encode())


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write `state` to `path` atomically with its checksum, never when a weight is non-finite."""
    check_finite(state)
    body = {"format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__,
            "torch_version": str(torch.__version__), **state}
    body[DIGEST_KEY] = state_digest(body)
    atomic_save(path, lambda handle: torch.save(body, handle))


def load_checkpoint(path: str | Path, for_training: bool = False, _offer: bool = True) -> dict:
    """Read a checkpoint on the CPU and check it holds what its use reads: generating and translating by
    default, continuing training with `for_training`. Opening it never runs code: weights_only=True, and
    no fallback. Anything missing is a CheckpointError naming it, never a KeyError later; so is a checksum
    that does not match and a weight that is NaN or infinite, with the run's newest intact earlier
    checkpoint offered (unless `_offer` is False, as when looking for that one)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"There is no checkpoint file at {path}.")
    kind = sniff(path)
    plain = kind_sentence(path.name, kind)
    if plain is not None:
        raise CheckpointError(plain)
    if kind == "safetensors":
        raise CheckpointError(f"{path.name} holds bare weights (safetensors), not a GAN Studio checkpoint with its "
                              "training state.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path.name} holds Python objects beyond plain weights; GAN Studio does not open such "
                              "files, because loading them could run code.") from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name} is damaged or incomplete and cannot be read ({first_line(exc)}).") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not a GAN Studio checkpoint.")
    version = state.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < FIRST_FORMAT_VERSION:
        raise CheckpointError(f"{path.name} carries no checkpoint format version GAN Studio ever wrote "
                              f"({version!r}), so it cannot be trusted; choose another checkpoint of the run.")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path.name} was written by a newer GAN Studio ({state.get('app_version')}); update to open it.")
    lacking = missing_part(state, for_training)
    if lacking is not None:
        if for_training:
            advice = "it cannot continue training; resume from an earlier checkpoint of the run, or start a new run"
        else:
            advice = "it cannot be opened; choose another checkpoint of the run"
        raise CheckpointError(f"{path.name} is incomplete: it lacks {lacking}, so {advice}.")
    written = state.pop(DIGEST_KEY, None)
    if written is not None and written != state_digest(state):
        offer = _earlier_offer(path, for_training) if _offer else ""
        raise CheckpointError(f"{path.name} is damaged: its contents no longer match the checksum written with "
                              f"it, so it cannot be trusted.{offer}")
    bad = _non_finite_tensors(state["recipe"])
    if bad:
        use = "training cannot continue from it" if for_training else "it cannot make pictures"
        offer = _earlier_offer(path, for_training) if _offer else ""
        raise CheckpointError(f"{path.name} holds weights that are NaN or infinite ({bad[0]}), so {use}.{offer}")
    return state


def _earlier_offer(path: Path, for_training: bool) -> str:
    """' The run's checkpoint step_….pt, before it, is intact: …' naming the newest earlier one that loads
    and checks out, or '' when there is none. Only runs on the way to refusing a checkpoint."""
    from .runs import RunFolder
    folder = RunFolder(path.parent.parent)
    names = [candidate.name for _, candidate in folder.checkpoints()]
    if path.name in names:
        earlier = [folder.checkpoints_dir / name for name in names[:names.index(path.name)]]
    else:
        step = folder.step_of(path)
        earlier = [candidate for candidate_step, candidate in folder.checkpoint_files()
                   if step is not None and candidate_step < step]
    for candidate in reversed(earlier):
        try:
            load_checkpoint(candidate, for_training, _offer=False)
        except CheckpointError:
            continue
        return (f" The run's checkpoint {candidate.name}, before it, is intact: use it instead "
                f"(--checkpoint {candidate}).")
    return " The run has no intact checkpoint before it."


def missing_part(state: dict, for_training: bool = False) -> str | None:
    """What `state` lacks that its use reads, in words ("its loss history"), or None when it is whole."""
    fields = {**EVERY_USE_FIELDS, **(TRAINING_FIELDS if for_training else {})}
    for key, words in fields.items():
        expected_type = str if key == "model" else dict
        if not isinstance(state.get(key), expected_type):
            return words
    counters = state["counters"]
    for name in EVERY_USE_COUNTERS + (TRAINING_COUNTERS if for_training else ()):
        if not _is_number(counters.get(name)):
            return f"the {name.replace('_', ' ')} among its training counters"
    if not for_training:
        return None
    domains = state["data"].get("domains")
    if not isinstance(domains, list) or not domains or not all(isinstance(domain, dict) for domain in domains):
        return TRAINING_FIELDS["data"]
    history = state["history"]
    if not isinstance(history.get("names"), list) or not isinstance(history.get("values"), torch.Tensor):
        return TRAINING_FIELDS["history"]
    rng = state["rng"]
    for name in RNG_STATES:
        if name not in rng:
            return f"the state of its {name} random number generator"
    # Which optimisers a model keeps is its own affair (the engine checks the recipe's keys against the
    # model's); those named as optimisers must at least hold what torch's optimisers read back.
    for key, value in state["recipe"].items():
        if str(key).startswith("optimizer") and (not isinstance(value, dict) or "state" not in value
                                                 or "param_groups" not in value):
            return f"the state of its optimiser {key}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, short enough to sit inside a sentence."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:100]
