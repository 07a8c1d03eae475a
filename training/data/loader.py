"""DataLoaders that keep up with the model: workers, persistent workers, prefetching,
pinned memory only where it helps (CUDA), and a DistributedSampler under torchrun."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

WORKER_NICENESS = 5


def default_workers() -> int:
    """One core stays with the training process; the rest decode (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, min(8, cores - 1))


def _init_worker(worker_id: int) -> None:
    # torch seeds each worker; carry that seed to the Python and NumPy generators torchvision
    # and PIL-based augmentations may use, so runs are reproducible.
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)
    # Where the model computes on the same cores (CPU training), a decoding worker that takes
    # a core away mid-operation stalls all of the model's threads; at a lower priority it
    # fills the prefetch queue in the gaps instead. Its queue keeps it ahead either way.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    train: bool,
    workers: int | None = None,
    seed: int = 0,
    distributed: bool = False,
    device_type: str = "cpu",
    prefetch_factor: int = 4,
) -> DataLoader:
    workers = default_workers() if workers is None else workers
    sampler: DistributedSampler | None = None
    if distributed:
        # Every rank sees a different shard; the loop calls set_epoch() so shuffles differ.
        sampler = DistributedSampler(dataset, shuffle=train, seed=seed, drop_last=train)
    generator = torch.Generator()
    generator.manual_seed(seed)
    n = len(dataset)  # type: ignore[arg-type]
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=workers,
        pin_memory=device_type == "cuda",
        persistent_workers=workers > 0,
        prefetch_factor=prefetch_factor if workers > 0 else None,
        # A last batch of one breaks BatchNorm in training; evaluation must see every image.
        drop_last=train and n > batch_size,
        generator=generator,
        worker_init_fn=_init_worker if workers > 0 else None,
    )
