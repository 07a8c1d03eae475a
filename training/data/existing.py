"""Dropping rows whose image file is missing, with one note instead of a crash mid-epoch."""

from __future__ import annotations

from training.data.samples import Sample
from training.errors import DataError


def keep_existing(
    samples: list[Sample], lines: list[tuple[str, int]], notes: list[str]
) -> tuple[list[Sample], list[int]]:
    """Samples whose file exists and their original positions; `lines` is (file, line) of each.

    A data set with some files missing is still usable (DAF:re downloads are often partial);
    one with none present is certainly pointed at the wrong folder, so that is an error.
    """
    kept: list[Sample] = []
    positions: list[int] = []
    missing: list[int] = []
    for i, sample in enumerate(samples):
        if sample.path.is_file():
            kept.append(sample)
            positions.append(i)
        else:
            missing.append(i)
    if missing:
        where, line = lines[missing[0]]
        if not kept:
            raise DataError(
                f"none of the {len(samples)} listed images exist (first: {samples[0].path})",
                where,
                line,
            )
        notes.append(
            f"{len(missing)} of {len(samples)} listed images are missing and were skipped "
            f"(first: {samples[missing[0]].path}, listed at {where}:{line})"
        )
    return kept, positions
