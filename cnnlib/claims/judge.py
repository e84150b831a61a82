"""The judge of the claims ledger: a claim's verdict from its printed figure and computed value.

A printed figure is read by :func:`cnnlib.published.read_figure`, the one reader of printed
figures in cnnlib (the registry's published figures use it too): the value, give or take half a
unit of the last printed digit, trailing zeros included ("60,000" is exact, "1.43G" is 1.425G
to 1.435G). A claim is then

* **reproduced** when the computed value falls in that range; when the figure is a lower
  bound (``"16+"``), when the computed value reaches it; when the figure is text
  (``"3 - 1024"``, ``"11x11"``, ``"RSM/(RS+M)"``), when the computed text is the same up to
  spaces and case; when the spec gives its own ``check`` (a comparison the claim makes:
  "fewer weights"), when the check holds;
* **differs** otherwise;
* **not computable** when there is no computed value (accuracies, data-set sizes).

A spec whose source kept fewer digits than it prints (MobileNet's table prints VGG-16's 15.3G
mult-adds as "15300" million) says how many with ``significant``, and says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from cnnlib.published import read_figure

__all__ = ["VERDICTS", "Claim", "Spec", "Value", "evaluate", "judge"]

Value = int | float | str | None
VERDICTS = ("reproduced", "differs", "not computable")


def _text(value: object) -> str:
    return re.sub(r"\s+", "", str(value)).lower()


def judge(stated: str, computed: Value, check: Callable[[Any], bool] | None = None,
          significant: int | None = None) -> str:
    """The verdict ``computed`` earns against the printed figure ``stated`` (see the module)."""
    if computed is None:
        return "not computable"
    if check is not None:
        ok = check(computed)
    elif isinstance(computed, bool) or not isinstance(computed, int | float):   # text
        ok = _text(computed) == _text(stated)
    elif stated.endswith("+") and (bound := read_figure(stated[:-1])) is not None:
        ok = computed >= bound[0]
    elif (figure := read_figure(stated, significant)) is not None:
        value, half = figure
        ok = abs(computed - value) <= half * (1 + 1e-9)
    else:   # a number against a figure printed as text
        ok = _text(computed) == _text(stated)
    return "reproduced" if ok else "differs"


@dataclass(frozen=True)
class Spec:
    """One claim as the lecture prints it, and how cnnlib computes it.

    ``compute`` returns the value in the printed figure's unit (``None``: not computable);
    ``verdict`` is what the author of the entry expects, checked against :func:`judge`; ``why``
    is the convention that reproduces the figure or the cause of the difference (a function of
    the computed value when it quotes counts). ``check`` replaces the comparison with the
    figure; ``significant`` is the number of significant figures the source kept, for a whole
    number printed with more digits than that (see :func:`cnnlib.published.read_figure`).
    """

    slide: str
    quote: str
    stated: str
    compute: Callable[[], Value] | None
    verdict: str
    why: str | Callable[[Any], str]
    check: Callable[[Any], bool] | None = None
    significant: int | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class Claim:
    """One claim with its computed value; ``verdict`` is the judged one, ``expected`` the typed."""

    slide: str
    quote: str
    stated: str
    computed: Value
    verdict: str
    why: str
    expected: str

    def record(self) -> dict[str, Value]:
        """The JSON object: slide, quote, stated, computed, verdict, why."""
        d = asdict(self)
        del d["expected"]
        return d


def evaluate(spec: Spec) -> Claim:
    """Compute ``spec``'s value, judge it, and word its reason."""
    computed = spec.compute() if spec.compute is not None else None
    if isinstance(computed, float):
        computed = round(computed, 4)
    why = spec.why(computed) if callable(spec.why) else spec.why
    return Claim(spec.slide, spec.quote, spec.stated, computed,
                 judge(spec.stated, computed, spec.check, spec.significant), why, spec.verdict)
