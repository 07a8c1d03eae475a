import math

import numpy as np
import pytest
import torch

from training.losses import MultiHeadLoss, class_balanced_weights, exclusion_loss
from training.metrics import (
    average_precision,
    best_f1_thresholds,
    confused_pairs,
    expected_calibration_error,
    f1_at,
    macro_accuracy,
    mean_average_precision,
    topk_accuracy,
)
from training.schedule import lr_factor, resolve_warmup

KINDS = {"character": "softmax", "general": "sigmoid"}


def test_multihead_loss_is_ce_plus_bce_and_ignores_unlabelled():
    torch.manual_seed(0)
    logits = {"character": torch.randn(4, 3), "general": torch.randn(4, 5)}
    targets = {"character": torch.tensor([0, 2, -100, 1]),
               "general": torch.tensor([[1, 0, 0, 1, 0]] * 3 + [[-1] * 5], dtype=torch.float)}
    total, parts = MultiHeadLoss(KINDS)(logits, targets)
    ce = torch.nn.functional.cross_entropy(logits["character"][[0, 1, 3]], torch.tensor([0, 2, 1]))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        logits["general"][:3], targets["general"][:3])
    assert torch.allclose(parts["character"], ce) and torch.allclose(parts["general"], bce)
    assert torch.allclose(total, ce + bce)


def test_a_head_without_labels_adds_zero_but_keeps_gradients_flowing():
    logits = {"character": torch.randn(2, 3, requires_grad=True),
              "general": torch.randn(2, 4, requires_grad=True)}
    targets = {"character": torch.tensor([-100, -100]), "general": -torch.ones(2, 4)}
    total, _ = MultiHeadLoss(KINDS)(logits, targets)
    total.backward()
    assert total.item() == 0.0 and logits["character"].grad is not None


def test_class_balanced_weights_favour_the_tail():
    w = class_balanced_weights(torch.tensor([1000, 10, 0]), beta=0.999)
    assert w[1] > w[0] > 0 and torch.isfinite(w).all()
    counts = torch.tensor([1000.0, 10.0])
    assert torch.isclose((w[:2] * counts).sum() / counts.sum(), torch.tensor(1.0))
    loss = MultiHeadLoss({"character": "softmax"}, class_weights={"character": w},
                         label_smoothing=0.1)
    total, _ = loss({"character": torch.zeros(2, 3)}, {"character": torch.tensor([0, 1])})
    assert math.isfinite(total.item())


def test_exclusion_loss_grows_when_layers_differ():
    same = [torch.ones(2, 8)] * 4
    different = [torch.randn(2, 8) * 5 for _ in range(4)]
    assert exclusion_loss(same).item() == pytest.approx(0.0, abs=1e-6)
    assert exclusion_loss(different).item() > 0.1


def test_schedules():
    kw = {"total_steps": 100, "warmup_steps": 10, "steps_per_epoch": 10, "epoch_decay": 2}
    assert lr_factor("warmup_cosine", 0, **kw) == pytest.approx(0.1)
    assert lr_factor("warmup_cosine", 10, **kw) == pytest.approx(1.0)
    assert lr_factor("warmup_cosine", 99, **kw) < 0.01
    assert lr_factor("epoch_decay", 19, **kw) == 1.0  # epoch 1: the first decay is after 2
    assert lr_factor("epoch_decay", 25, **kw) == pytest.approx(1 / 3)
    assert lr_factor("epoch_decay", 40, **kw) == pytest.approx(1 / 9)
    assert resolve_warmup(None, 200) == 10 and resolve_warmup(1000, 100) == 50


def test_accuracy_calibration_and_confusions():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 1, 1, -100])
    assert topk_accuracy(probs, y, 1) == pytest.approx(2 / 3)
    assert topk_accuracy(probs, y, 2) == 1.0
    assert macro_accuracy(probs, y, 3) == pytest.approx((1 + 0.5) / 2)
    assert confused_pairs(probs, y, ["a", "b", "c"]) == [{"true": "b", "predicted": "a", "count": 1}]
    perfect = np.eye(3)
    assert expected_calibration_error(perfect, np.arange(3)) == pytest.approx(0.0)
    assert expected_calibration_error(np.full((4, 2), 0.5) + [0.3, -0.3], np.array([1, 1, 1, 1])) \
        == pytest.approx(0.8)


def test_average_precision_and_f1_thresholds():
    scores = np.array([0.9, 0.8, 0.3, 0.2])
    assert average_precision(scores, np.array([1, 0, 1, 0])) == pytest.approx((1 + 2 / 3) / 2)
    assert math.isnan(average_precision(scores, np.zeros(4)))
    probs = np.array([[0.9, 0.2], [0.7, 0.1], [0.4, 0.6], [0.1, 0.05]])
    targets = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=float)
    m, _ = mean_average_precision(probs, targets)
    assert m == pytest.approx(1.0)
    t = best_f1_thresholds(probs, targets)
    assert 0.4 < t[0] <= 0.7 and 0.2 < t[1] <= 0.6
    assert f1_at(probs, targets, t)["micro_f1"] == pytest.approx(1.0)
    assert f1_at(probs, targets, 0.95)["micro_f1"] == 0.0
