"""Training on several processes under torchrun: which process this is, its process group, and the few collectives the engine uses.

Gradients are synchronised by an optimiser step pre-hook that all-reduces the optimiser's gradients,
flattened into one buffer, just before it steps, rather than by DistributedDataParallel wrappers: a
GAN step alternates D and G updates through each other's networks, which under DDP means unused
parameters (D's weights are frozen for G's step), all-reduces fired by backward passes that belong to
the other network's update, and `no_sync` bookkeeping for micro-batches. The hook needs nothing of a
recipe but its `optimizers()`, fires exactly once per optimiser step whatever the recipe's order of
updates, and costs one collective per optimiser per step.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from .errors import ConfigError

# A process that waits this long on the others (a rank stuck, not dead) gives up; a dead one is noticed
# at once, when its connection closes. Loading a large dataset on rank 0 first must fit well inside it.
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=30)
# Stop requests and time targets are agreed every this many steps: one small collective, and a host sync
# on a GPU, per ten steps rather than every step; a stop comes at most ten steps later.
AGREE_EVERY_STEPS = 10
REASON_CODES = {None: 0, "stopped": 1, "time_limit": 2, "completed": 3}
# Set once this process has left a gloo or NCCL process group: see must_skip_interpreter_teardown.
_left_a_group = False


def environment_processes(environ=None) -> tuple[int, int, int]:
    """(rank, world size, local rank) from the variables torchrun sets; (0, 1, 0) when they are absent."""
    environ = os.environ if environ is None else environ
    try:
        world = int(environ.get("WORLD_SIZE", "1") or 1)
        rank = int(environ.get("RANK", "0") or 0)
        local_rank = int(environ.get("LOCAL_RANK", str(rank)) or 0)
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers; start several processes "
                          "with torchrun.") from None
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK {rank} does not fit WORLD_SIZE {world}; start several processes with torchrun.")
    return rank, world, local_rank


@dataclass
class Processes:
    """This process's place among those training one run; with one process every method is a no-op."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    _started_group: bool = field(default=False, repr=False)
    collectives_this_step: int = field(default=0, repr=False)

    @classmethod
    def from_environment(cls, environ=None) -> "Processes":
        rank, world, local_rank = environment_processes(environ)
        return cls(rank, world, local_rank)

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the one process that writes the run's files and tells its progress."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """Each process on its own GPU: the one torchrun's LOCAL_RANK names."""
        if self.active and device.type == "cuda":
            if self.local_rank >= torch.cuda.device_count():
                raise ConfigError(f"Process {self.rank} was given GPU {self.local_rank}, but this machine has "
                                  f"{torch.cuda.device_count()}; start at most that many processes per machine.")
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return device

    def start(self, device: torch.device) -> None:
        """Join the process group: NCCL between GPUs, gloo between CPU processes."""
        if not self.active or dist.is_initialized():
            return
        if device.type not in ("cuda", "cpu"):
            raise ConfigError(f"Training on several processes works on CUDA GPUs and on CPUs, not on {device.type}.")
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, rank=self.rank, world_size=self.world, timeout=COLLECTIVE_TIMEOUT)
        self._started_group = True

    def finish(self) -> None:
        global _left_a_group
        if self._started_group and dist.is_initialized():
            dist.destroy_process_group()
            _left_a_group = True
        self._started_group = False

    def synchronise_gradients(self, optimizers: dict[str, torch.optim.Optimizer]) -> list:
        """Average each optimiser's gradients across processes just before it steps; the hooks' handles."""
        if not self.active:
            return []
        return [optimizer.register_step_pre_hook(self._average_gradients) for optimizer in optimizers.values()]

    def _average_gradients(self, optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        gradients = [parameter.grad for group in optimizer.param_groups for parameter in group["params"]
                     if parameter.grad is not None]
        if not gradients:
            return
        # One buffer, one collective: CycleGAN's optimisers hold about 100 tensors each, and a collective per
        # tensor would pay its latency a hundred times.
        flat = torch.cat([gradient.reshape(-1) for gradient in gradients])
        self.collectives_this_step += 1
        dist.all_reduce(flat)
        flat.div_(self.world)
        offset = 0
        for gradient in gradients:
            count = gradient.numel()
            gradient.copy_(flat[offset:offset + count].view(gradient.shape))
            offset += count

    def gather(self, piece: torch.Tensor) -> torch.Tensor:
        """Every process's `piece` (the same shape on each), concatenated in rank order."""
        pieces = [torch.empty_like(piece) for _ in range(self.world)]
        self.collectives_this_step += 1
        dist.all_gather(pieces, piece.contiguous())
        return torch.cat(pieces)

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean over processes of a step's reported values (each process's are its share's)."""
        if not self.active:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values.div_(self.world)

    def agree(self, reason: str | None, step: int) -> str | None:
        """Why the run ends, the same on every process: a stop asked of any one, or a time target any one reached.

        A target of steps or epochs is reached by all at the same step without asking; the rest is agreed
        every AGREE_EVERY_STEPS steps, and in between no process ends alone.
        """
        if not self.active or reason == "completed":
            return reason
        if step % AGREE_EVERY_STEPS:
            return None
        flag = torch.tensor([REASON_CODES[reason]], dtype=torch.int64,
                            device=torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        agreed = int(flag.item())
        return next(name for name, code in REASON_CODES.items() if code == agreed)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def from_main(self, value):
        """Rank 0's `value`, on every process (a picklable object: a path, a small dict)."""
        if not self.active:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]


def must_skip_interpreter_teardown() -> bool:
    """True once this process has trained in a process group: it must then end without Python's teardown.

    destroy_process_group does not join gloo's worker threads. One of them may still be releasing the
    last collective's work (a barrier holding the step's all-reduces, whose tensors are Python objects)
    when the interpreter finalises; it then needs the GIL, cannot have it, and the process aborts with
    SIGABRT ("terminate called without an active exception"), so torchrun reports a failed run after
    a complete one. Two processes, 8 steps, 2 cores: 3 of 107 torchrun runs and 3 of 30 runs under gdb
    aborted so, on the rank that finished first (gdb showed gloo's thread in take_gil during
    Py_FinalizeEx); a barrier before leaving did not help (1 of 30). Ending with os._exit once every file
    is closed skips the teardown that races with the thread: 0 of 50 and 0 of 30.
    """
    return _left_a_group


def is_collective_failure(exc: BaseException) -> bool:
    """True when a collective failed because another process died or its connection closed."""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and dist.is_initialized() and any(
        phrase in text for phrase in ("Connection closed by peer", "Connection reset by peer", "Gloo", "NCCL"))
