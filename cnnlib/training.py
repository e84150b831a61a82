"""The one training loop of the book's live experiments and of the labs.

The chapters train small networks while the book is built (LeNet-5 in *LeNet-5*, a standard
and a depth-wise separable CNN in *Efficient models*, the candidates of the search in *Neural
architecture search*), and lab 6's accuracy proxy trains the candidates of the students'
search. All of them train the same way: Adam on the softmax cross-entropy, in mini-batches
drawn in an order fixed by a seed, so that a build or a test run gives the same numbers every
time (with ``torch.set_num_threads(1)``, which the callers set: PyTorch's sums then run in
one order too). Deterministic training is also what lets lab 6's tests train a candidate
again and compare.

>>> import torch
>>> from torch import nn
>>> x, y = torch.randn(40, 4), torch.arange(40) % 2
>>> torch.manual_seed(0) and None
>>> model = train(nn.Linear(4, 2), x, y, epochs=2, lr=0.1)
>>> 0.0 <= accuracy(model, x, y) <= 1.0
True
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["accuracy", "train"]

Scores = Callable[[torch.Tensor], torch.Tensor]


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
          batch_size: int = 64, seed: int = 0, scores: Scores | None = None) -> nn.Module:
    """Train ``model`` in place on the images ``x`` and labels ``y``; return it, in eval mode.

    Each of the ``epochs`` passes shuffles the examples with a generator seeded once with
    ``seed`` (the same orders on every run) and takes one Adam step (learning rate ``lr``) per
    mini-batch of ``batch_size``, on the cross-entropy of the model's output. ``scores`` turns
    a model's output into class scores when it is not one already: LeNet-5's output units give
    distances, smaller for the likelier digit, so its scores are ``lambda d: -d``. The model's
    initial weights are the caller's: seed ``torch`` before building it.
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be at least 0 and batch_size at least 1, "
                         f"got {epochs} and {batch_size}")
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    order = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y), generator=order).split(batch_size):
            optimiser.zero_grad()
            out = model(x[batch])
            loss = F.cross_entropy(out if scores is None else scores(out), y[batch])
            loss.backward()
            optimiser.step()
    return model.eval()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, scores: Scores | None = None) -> float:
    """The fraction of ``x`` that ``model`` (in eval mode, without gradients) labels as ``y``:
    the class of the highest score wins (``scores`` as in :func:`train`)."""
    model.eval()
    with torch.no_grad():
        out = model(x)
        predicted = (out if scores is None else scores(out)).argmax(dim=1)
    return (predicted == y).float().mean().item()
