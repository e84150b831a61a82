"""cnnlib.training: the one training loop of the book's experiments and of lab 6's proxy."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from cnnlib.training import accuracy, train


def _data(n=96, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 4, 4, generator=g)
    y = (x.flatten(1).sum(1) > 0).long()      # a linearly separable two-class problem
    return x, y


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


def test_the_loop_is_the_one_the_chapters_and_lab_6_ran():
    """The loop the chapters (efficient models, NAS) and lab 6 wrote out before it moved here:
    the same weights to the last bit, so every number they print is unchanged."""
    x, y = _data()
    ours = train(_model(), x, y, epochs=3, lr=0.02, batch_size=10, seed=5)
    theirs = _model()
    order = torch.Generator().manual_seed(5)
    optimiser = torch.optim.Adam(theirs.parameters(), lr=0.02)
    for _ in range(3):
        theirs.train()
        perm = torch.randperm(len(y), generator=order)
        for start in range(0, len(perm), 10):
            batch = perm[start:start + 10]
            optimiser.zero_grad()
            F.cross_entropy(theirs(x[batch]), y[batch]).backward()
            optimiser.step()
    assert all(torch.equal(a, b) for a, b in zip(_weights(ours), _weights(theirs), strict=True))


def test_training_twice_from_the_same_seeds_gives_the_same_model():
    x, y = _data()
    a = train(_model(), x, y, epochs=2, lr=0.01)
    b = train(_model(), x, y, epochs=2, lr=0.01)
    assert all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b), strict=True))
    assert accuracy(a, x, y) == accuracy(b, x, y)


def test_the_seed_decides_the_order_of_the_batches():
    x, y = _data()
    a = train(_model(), x, y, epochs=1, lr=0.01, batch_size=8, seed=0)
    b = train(_model(), x, y, epochs=1, lr=0.01, batch_size=8, seed=1)
    assert not all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b), strict=True))


def test_training_learns_and_leaves_the_model_in_eval_mode():
    x, y = _data(n=200)
    model = _model()
    before = accuracy(model, x, y)
    trained = train(model, x, y, epochs=20, lr=0.01)
    assert trained is model and not model.training
    assert accuracy(model, x, y) > max(0.9, before)


def test_scores_turn_distances_into_class_scores():
    """LeNet-5's output units give distances, smaller for the likelier class: trained and judged
    on their negatives, the model learns; on the distances themselves it learns the opposite."""
    class Distances(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _model()

        def forward(self, x):
            return -self.net(x)

    x, y = _data(n=200)
    torch.manual_seed(0)
    model = train(Distances(), x, y, epochs=20, lr=0.01, scores=lambda d: -d)
    assert accuracy(model, x, y, scores=lambda d: -d) > 0.9
    assert accuracy(model, x, y) < 0.1


def test_zero_epochs_change_nothing():
    x, y = _data()
    model = _model()
    before = _weights(model)
    train(model, x, y, epochs=0, lr=0.1)
    assert all(torch.equal(p, q) for p, q in zip(before, _weights(model), strict=True))


def test_bad_arguments_are_clear_errors():
    x, y = _data()
    with pytest.raises(ValueError, match="96 images but 95 labels"):
        train(_model(), x, y[:-1], epochs=1, lr=0.1)
    with pytest.raises(ValueError, match="batch_size at least 1"):
        train(_model(), x, y, epochs=1, lr=0.1, batch_size=0)
