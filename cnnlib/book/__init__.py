"""The machinery of the book's chapters, so that a chapter shows only the code it teaches.

A chapter calls these in one line; what they do is tested here once (``tests/test_book_*.py``):

* :mod:`cnnlib.book.tables`: cost reports and estimates as narrow pandas tables (at most six
  short columns, numbers as ``724M``), legible on a phone;
* :mod:`cnnlib.book.layers`: small computations on layers the chapters cite (the sizes along
  a chain of layers, Inception v3's factorised filter pairs, torch's own MAC count);
* :mod:`cnnlib.book.figures`: the chapters' matplotlib figures that are not plots of one table;
* :func:`glue`: a value for the prose, computed where the chapter computes it.

The training loop of the live experiments is :mod:`cnnlib.training` (the labs use it too);
numbers are written with :mod:`cnnlib.text` (``human``, ``percent``, ``times``). pandas and
matplotlib are imported only by the modules that draw or tabulate, so ``import cnnlib`` stays
light.
"""

from cnnlib.book.glue import glue
from cnnlib.book.tables import (
    cell_frame,
    cite_label,
    filter_label,
    inception_branches,
    kind_frame,
    layer_frame,
    lecture_names,
    plain_table,
    shape_label,
    stage_frame,
    totals_frame,
)

__all__ = ["cell_frame", "cite_label", "filter_label", "glue", "inception_branches", "kind_frame",
           "layer_frame", "lecture_names", "plain_table", "shape_label", "stage_frame", "totals_frame"]
