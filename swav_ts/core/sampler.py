"""A shuffling sampler that shards across ranks and can resume in the middle of an epoch."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableDistributedSampler(Sampler[int]):
    """Epoch-seeded permutation, sharded by rank, with an optional start offset.

    Every epoch draws ``randperm(n, seed + epoch)``; the tail is dropped so each of the
    ``world_size`` ranks gets the same number of samples, and rank ``r`` takes positions
    ``r, r + W, r + 2W, ...``. Hence batch ``s`` of all ranks together is exactly batch ``s``
    of a single process with a ``W`` times larger batch. ``set_start(k)`` skips this rank's
    first ``k`` samples (resuming mid-epoch).
    """

    def __init__(
        self,
        n_samples: int,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        shuffle: bool = True,
    ):
        if n_samples < world_size:
            raise ValueError(f"{n_samples} samples cannot be sharded over {world_size} ranks")
        self.n_samples, self.rank, self.world_size = n_samples, rank, world_size
        self.seed, self.shuffle = seed, shuffle
        self.epoch, self.start = 0, 0
        self.per_rank = n_samples // world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start(self, start: int) -> None:
        self.start = start

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n_samples, generator=g)
        else:
            order = torch.arange(self.n_samples)
        order = order[: self.per_rank * self.world_size][self.rank :: self.world_size]
        return iter(order[self.start :].tolist())

    def __len__(self) -> int:
        return self.per_rank - self.start
