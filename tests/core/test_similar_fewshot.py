"""The few-shot head's whitening: the thin (SVD) form is the same matrix as the eigendecomposition
of the shrunk scatter, and it does what whitening is for."""

from __future__ import annotations

import numpy as np

from animesion_desktop.core.similar import fewshot
from animesion_desktop.core.similar.vectors import normalize


def reference(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The shrunk within-character scatter's inverse square root, by a D x D eigh."""
    z = np.concatenate([x[labels == c] - x[labels == c].mean(axis=0) for c in np.unique(labels)])
    scatter = z.T.astype(np.float64) @ z / len(z)
    scale = np.trace(scatter) / x.shape[1]
    shrunk = (1 - fewshot.SHRINK) * scatter + fewshot.SHRINK * scale * np.eye(x.shape[1])
    values, vectors = np.linalg.eigh(shrunk)
    return np.asarray((vectors / np.sqrt(values)) @ vectors.T)


def test_thin_whitening_equals_the_eigendecomposition() -> None:
    rng = np.random.default_rng(0)
    for n, dim, classes in ((12, 40, 3), (30, 200, 10), (200, 16, 4)):  # thin, thin, full
        x = normalize(rng.standard_normal((n, dim)))
        labels = np.asarray([f"c{i % classes}" for i in range(n)], dtype=object)
        got = fewshot._whitening(x, labels)
        assert got is not None and got.shape == (dim, dim)
        np.testing.assert_allclose(got, reference(x, labels), rtol=1e-4, atol=1e-4)


def test_whitening_needs_two_examples_of_a_character() -> None:
    x = normalize(np.eye(3, 8))
    assert fewshot._whitening(x, np.asarray(["a", "b", "c"], dtype=object)) is None


def test_whitening_lets_a_small_identity_axis_win_over_a_large_nuisance() -> None:
    """Characters differ a little along axis 0; a pose-like nuisance along axis 1 is larger."""
    rng = np.random.default_rng(1)
    rows, who = [], []
    for name, sign in (("p", 1.0), ("q", -1.0)):
        x = np.zeros((20, 24), dtype=np.float32)
        x[:, 0] = 0.3 * sign
        x[:, 1] = rng.choice([-1.0, 1.0], 20)
        x[:, 2] = 1.0
        x += 0.02 * rng.standard_normal(x.shape).astype(np.float32)
        rows.append(x)
        who += [name] * 20
    x, y = np.concatenate(rows), np.asarray(who, dtype=object)
    # labelled: mostly in one pose for p, in the other for q (plain cosines then follow pose)
    support = np.zeros(len(y), dtype=bool)
    for name, pose in (("p", 1.0), ("q", -1.0)):
        same = np.flatnonzero((y == name) & (np.sign(x[:, 1]) == pose))
        other = np.flatnonzero((y == name) & (np.sign(x[:, 1]) == -pose))
        support[same[:3]] = True
        support[other[:1]] = True

    def accuracy(whiten: bool) -> float:
        head = fewshot.from_examples(x[support], y[support].tolist(), whiten=whiten)
        best = head.predict(x[~support])[0]
        return float(np.mean(np.asarray(head.tags, dtype=object)[best] == y[~support]))

    assert accuracy(True) == 1.0
    assert accuracy(False) < 0.8
