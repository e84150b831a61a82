"""``glue(key, value)``: a value computed in a chapter, for its prose to cite.

The chapters compute every number their sentences state and hand it to the prose with MyST-NB's
``glue`` (``{glue:text}`key``` in the text). The value belongs in the sentence, not under the
cell that computes it, so it is never displayed there: that is the only way the chapters call
``glue``.
"""

from __future__ import annotations

__all__ = ["glue"]


def glue(key: str, value: object) -> None:
    """Glue ``value`` (a string, a number or a matplotlib figure) under ``key``, not displayed."""
    from myst_nb import glue as myst_glue  # a dependency of the book only

    myst_glue(key, value, display=False)
