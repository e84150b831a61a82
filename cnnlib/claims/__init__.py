"""The claims ledger: every numeric claim of the lecture, what cnnlib computes, and a verdict.

Three parts, each in its own module:

* :mod:`cnnlib.claims.specs`, the data: one entry per claim as the lecture prints it (the
  slide's title, the claim's words, the figure), the function of :mod:`cnnlib.claims.compute`
  that computes the same quantity, the verdict its author expects and why;
* :mod:`cnnlib.claims.judge`, the judge: the verdict the computed value earns against the
  printed figure, read at its printed precision (:func:`cnnlib.published.read_figure`). The
  verdict is not taken on trust: the expected one must agree (``tests/test_claims.py``);
* :mod:`cnnlib.claims.render`, the renderers: a text table, JSON and HTML.

Run ``python -m cnnlib claims`` (a table) or ``python -m cnnlib claims --json``.
"""

from cnnlib.claims.judge import VERDICTS, Claim, Spec, evaluate, judge
from cnnlib.claims.ledger import claims, find, verdict_counts
from cnnlib.claims.render import claims_html, claims_json, claims_table

__all__ = ["VERDICTS", "Claim", "Spec", "claims", "claims_html", "claims_json", "claims_table",
           "evaluate", "find", "judge", "verdict_counts"]
