"""Training batches from a uint8 image array: a seeded, resumable order and augmentation on the device."""

from __future__ import annotations

import os

import numpy as np
import torch

# A dataset smaller than this share of the GPU's memory lives on the GPU; batches then cost no copy at all.
GPU_SHARE = 0.25
# A dataset larger than this share of the machine's memory is read from the memory-mapped cache instead.
RAM_SHARE = 0.4


def physical_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 8 * 2**30  # Windows: assume a modest machine


def should_memory_map(nbytes: int) -> bool:
    return nbytes > RAM_SHARE * physical_memory_bytes()


class ImageBatches:
    """Serves batches of images in [-1, 1] as NCHW float tensors (channels-last in memory) on `device`.

    The order of every epoch comes from one CPU generator whose state is saved with the position in
    the epoch, so a run stopped mid-epoch resumes on exactly the batch it would have drawn next.
    The random horizontal flips of an epoch are drawn with its order, for the same reason. With
    `crop`, the stored pictures are larger than the training size and each one served is a random
    `crop` x `crop` window of its picture (CycleGAN's load-then-crop), the windows drawn with the order too.
    """

    def __init__(self, pixels: np.ndarray, device: torch.device, batch_size: int, seed: int, flip: bool = True,
                 crop: int | None = None):
        if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
            raise ValueError(f"expected N x H x W x 3 uint8 pixels, got {pixels.shape} {pixels.dtype}")
        self.count = int(pixels.shape[0])
        self.device = device
        self.batch_size = batch_size
        self.flip = flip
        self.crop = crop if crop is not None and crop < min(pixels.shape[1], pixels.shape[2]) else None
        if crop is not None and crop > min(pixels.shape[1], pixels.shape[2]):
            raise ValueError(f"cannot crop {crop} px windows from {pixels.shape[2]}x{pixels.shape[1]} pictures")
        self.steps_per_epoch = max(1, self.count // batch_size)
        host = torch.from_numpy(pixels) if pixels.flags.writeable else None
        self.on_device = False
        if device.type == "cpu":
            self.images = host if host is not None else pixels  # a memory map stays a memory map
            self.on_device = host is not None
        elif device.type == "cuda" and pixels.nbytes < GPU_SHARE * torch.cuda.get_device_properties(device).total_memory:
            self.images = torch.as_tensor(np.ascontiguousarray(pixels)).to(device)
            self.on_device = True
        elif device.type == "mps" and pixels.nbytes < 2 * 2**30:
            self.images = torch.as_tensor(np.ascontiguousarray(pixels)).to(device)
            self.on_device = True
        else:
            self.images = host if host is not None else pixels
        self.order_generator = torch.Generator().manual_seed(seed)
        self._epoch_generator_state = self.order_generator.get_state()
        self.position = 0
        self._order: torch.Tensor | None = None
        self._flips: torch.Tensor | None = None
        self._corners: torch.Tensor | None = None

    def _new_epoch(self) -> None:
        self._epoch_generator_state = self.order_generator.get_state()
        self._draw_epoch()

    def _draw_epoch(self) -> None:
        needed = self.steps_per_epoch * self.batch_size
        repeats = -(-needed // self.count)  # a dataset smaller than a batch is repeated to fill it
        order = torch.cat([torch.randperm(self.count, generator=self.order_generator) for _ in range(repeats)])
        flips = torch.rand(order.shape[0], generator=self.order_generator) < 0.5
        target = self.device if self.on_device else torch.device("cpu")
        self._order = order.to(target)
        self._flips = flips.to(target)
        if self.crop is not None:
            # Drawn after the flips, so a run without cropping keeps exactly the order it always had.
            height, width = self.images.shape[1], self.images.shape[2]
            tops = torch.randint(0, height - self.crop + 1, (order.shape[0],), generator=self.order_generator)
            lefts = torch.randint(0, width - self.crop + 1, (order.shape[0],), generator=self.order_generator)
            self._corners = torch.stack([tops, lefts], 1).to(target)

    def next_batch(self) -> tuple[torch.Tensor, bool]:
        """The next batch, and whether it was the last of its epoch."""
        if self._order is None:
            if self.position == 0:
                self._new_epoch()
            else:
                self._draw_epoch()  # resumed mid-epoch: rebuild this epoch's order from its saved state
        start = self.position * self.batch_size
        indices = self._order[start:start + self.batch_size]
        flips = self._flips[start:start + self.batch_size]
        corners = self._corners[start:start + self.batch_size] if self.crop is not None else None
        batch = self._gather(indices, flips, corners)
        self.position += 1
        last = self.position >= self.steps_per_epoch
        if last:
            self.position = 0
            self._order = None
        return batch, last

    def _gather(self, indices: torch.Tensor, flips: torch.Tensor, corners: torch.Tensor | None) -> torch.Tensor:
        if self.on_device:
            uint8 = self.images[indices] if corners is None else self._windows(self.images, indices, corners)
        else:
            if corners is None:
                uint8 = torch.from_numpy(np.ascontiguousarray(self.images[indices.numpy()]))
            else:
                uint8 = torch.stack([torch.from_numpy(np.ascontiguousarray(
                    self.images[int(index), int(top):int(top) + self.crop, int(left):int(left) + self.crop]))
                    for index, (top, left) in zip(indices, corners)])
            if self.device.type == "cuda":
                uint8 = uint8.pin_memory().to(self.device, non_blocking=True)
            else:
                uint8 = uint8.to(self.device)
            flips = flips.to(self.device)
        # N,H,W,C uint8 viewed as N,C,H,W is channels-last already: convolutions want exactly that.
        images = uint8.permute(0, 3, 1, 2).float().mul_(2.0 / 255.0).sub_(1.0)
        if self.flip:
            images = torch.where(flips.view(-1, 1, 1, 1), images.flip(3), images)
        return images.contiguous(memory_format=torch.channels_last)

    def _windows(self, images: torch.Tensor, indices: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
        """One `crop` x `crop` window per picture, all gathered at once on the pictures' device."""
        span = torch.arange(self.crop, device=images.device)
        rows = (corners[:, 0:1] + span).view(-1, self.crop, 1)
        columns = (corners[:, 1:2] + span).view(-1, 1, self.crop)
        return images[indices.view(-1, 1, 1), rows, columns]

    def state_dict(self) -> dict:
        # Between epochs the next epoch starts from the generator as it is now; mid-epoch, from where this one began.
        generator = self._epoch_generator_state if self.position > 0 else self.order_generator.get_state()
        return {"generator": generator.clone(), "position": self.position,
                "count": self.count, "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        if int(state["count"]) != self.count:
            raise ValueError(f"the checkpoint was made with {int(state['count'])} images, the dataset now has {self.count}")
        self.order_generator.set_state(state["generator"])
        self._epoch_generator_state = state["generator"].clone()
        self.position = int(state["position"])
        self._order = None
        if self.position == 0:
            return
        self._draw_epoch()
