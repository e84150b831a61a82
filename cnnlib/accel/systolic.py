"""Tier 2: cycles, utilisation and buffer accesses of a layer on a PE array, per dataflow.

Weight-, output- and input-stationary (``ws``, ``os``, ``is``) reproduce the analytical compute
model of SCALE-Sim v2 (Samajdar et al., ISPASS 2020; ``scalesim/compute/systolic_compute_*.py``)
exactly, in closed form instead of by building its demand matrices. SCALE-Sim maps a
convolution as a matrix product (im2col): the reduction "window" ``K = R*S*C`` is one operand
dimension, the ``F = M`` filters another and the ``X = P*Q`` output pixels the third. The
dataflow decides which two lie on the array and which one streams through it in time:

=========  ===========================  ===========================  =========  ============
dataflow   array rows hold (Sr)         array columns hold (Sc)      time (T)   stays in PE
=========  ===========================  ===========================  =========  ============
ws         window K                     filters F                    pixels X   a weight
os         pixels X                     filters F                    window K   an output
is         window K                     pixels X                     filters F  an input
=========  ===========================  ===========================  =========  ============

If ``Sr`` exceeds the array's rows (or ``Sc`` its columns) the product is cut into
``ceil(Sr/rows) x ceil(Sc/cols)`` *folds* that run one after another. Each fold fills the
array, streams ``T`` vectors through it and drains it; SCALE-Sim counts, per fold,
``2*rows + cols + T - 2`` cycles for ws and is (load the stationary operand, stream, drain
the skewed outputs) and ``rows + cols + T - 2`` for os, and reports the index of the last
cycle, one less than their sum. From that:

* ``utilization`` (SCALE-Sim's "overall utilisation") = MACs / (cycles x PEs);
* ``mapping_efficiency`` = the share of PEs a fold occupies, averaged over folds;
* ``compute_utilization`` = SCALE-Sim's per-fold "compute utilisation", averaged over folds.

The published golden case (AlexNet conv1 on a 32 x 32 weight-stationary array) is 112,283
cycles, 91.683% utilisation and 94.53125% mapping efficiency; tests pin it and 97 further
cases generated with the ``scalesim`` package 2.0.2 (``scripts/regen_scalesim_expected.py``:
9 layer shapes, depth-wise included, on 32x32, 8x8, 16x4 and 12x14 arrays, three dataflows),
which agree to the cycle and to the last bits of every utilisation.
SCALE-Sim runs here without stalls (its "CALC" bandwidth mode); DRAM is modelled separately.

**Time steps.** A recurrent layer (``Layer.steps`` = T) is T products of one step's size
(its batch N as the pixels X) run one after another, since each step needs the previous
step's output: T times one step's cycles and accesses. Stacking the steps into one product of
T*N rows would be T-fold too optimistic about how full the array stays.

**Groups.** SCALE-Sim has no groups. A grouped convolution is G independent products, each
with ``K = R*S*C/G`` and ``F = M/G``; they run one after another, so its cycles are G times
one group's. This is SCALE-Sim's own treatment of depth-wise layers (it splits a layer whose
name contains "DP" into one single-channel layer per channel), and it is why a depth-wise
layer collapses on a weight-stationary array: a 3 x 3 depth-wise filter fills 9 of 32 rows
and 1 of 32 columns. (Packing several groups side by side on the array would do better; it is
a mapping choice this model leaves to the reader.)

**Row stationary** (``rs``, Eyeriss; Chen et al., ISCA 2016) is not in SCALE-Sim; it is
modelled to first order as Eyeriss maps it. A *PE set* of R rows x P columns computes one
filter on one input channel of one image (a *job*): PE (r, p) convolves filter row r with
input row ``p*U + r``, a 1-D convolution of Q outputs of S MACs each, and the partial sums add
up the column. Sets stack ``k = rows // R`` high and take k input channels of the same filter,
so their sums also add up the array; P wider than the array is cut into ``ceil(P/cols)``
strips. With one MAC per PE per cycle::

    cycles = ceil(N*M*C/G / k) * ceil(P/cols) * S * Q        (R <= rows)

Buffer accesses for rs: each filter row is read once per strip; an input is read once per
``p`` filters, where ``p`` filters share each input row inside a PE (as many as fit in its
register file beside the input row and their partial sums); partial sums go back to the buffer
after every ``k`` input channels. Eyeriss's other tricks (channels accumulated inside the PE,
strips that share halos) are left out, so rs buffer traffic is an upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cnnlib.accel.errors import BadHardwareError, BadLayerError, check_positive_int
from cnnlib.accel.hardware import Hardware, check_dataflow
from cnnlib.accel.layer import ARRAY_KINDS, Layer
from cnnlib.costs.formulas import ceil_div


@dataclass(frozen=True)
class SystolicResult:
    """One layer on one array with one dataflow. Access counts are words, whole layer."""

    dataflow: str
    rows: int
    cols: int
    groups: int
    #: one group's matrix product: (window K, filters F, pixels X)
    gemm: tuple[int, int, int]
    row_folds: int
    col_folds: int
    #: for ws, os and is one group's product; for rs, whose PE sets take jobs from every group,
    #: the whole layer
    cycles_per_group: int
    cycles: int
    macs: int
    utilization: float
    mapping_efficiency: float
    compute_utilization: float
    #: words the array reads from the buffer: inputs (ifmap) and weights (filter)
    ifmap_reads: int
    filter_reads: int
    #: outputs and partial sums the array writes to the buffer
    ofmap_writes: int
    #: partial sums read back from the buffer to add to (SCALE-Sim does not count these)
    psum_reads: int

    @property
    def folds(self) -> int:
        """Folds of one group (for rs: passes of the PE sets)."""
        return self.row_folds * self.col_folds

    @property
    def buffer_reads(self) -> int:
        return self.ifmap_reads + self.filter_reads + self.psum_reads

    @property
    def buffer_writes(self) -> int:
        return self.ofmap_writes


# Where each operand of the product lies, per dataflow (see the module docstring).
def _operands(dataflow: str, K: int, F: int, X: int) -> tuple[int, int, int]:
    if dataflow == "ws":
        return K, F, X
    if dataflow == "os":
        return X, F, K
    return K, X, F  # is


def systolic(layer: Layer, rows: int | None = None, cols: int | None = None,
             dataflow: str | None = None, *, hardware: Hardware | None = None,
             rf_words: int | None = None) -> SystolicResult:
    """Cycles, utilisation and buffer accesses of ``layer`` on a ``rows x cols`` array.

    ``rows``, ``cols``, ``dataflow`` and ``rf_words`` default to those of ``hardware``;
    without hardware, ``dataflow`` defaults to ``"ws"``. ``rf_words`` (the register file of
    one PE) only matters for the row-stationary model.
    """
    if hardware is not None:
        rows = hardware.rows if rows is None else rows
        cols = hardware.cols if cols is None else cols
        dataflow = hardware.dataflow if dataflow is None else dataflow
        rf_words = hardware.rf_words if rf_words is None else rf_words
    dataflow = check_dataflow("ws" if dataflow is None else dataflow)
    check_positive_int("systolic array", BadHardwareError, rows=rows, cols=cols)
    assert rows is not None and cols is not None   # checked just above: positive integers
    if not isinstance(layer, Layer):
        raise BadLayerError(f"systolic() takes an accel.Layer, got {type(layer).__name__}")
    if layer.kind not in ARRAY_KINDS:
        raise BadLayerError(f"layer {layer.name or layer.describe()!r} of kind {layer.kind!r} does no "
                            f"MACs; the array runs kinds {', '.join(sorted(ARRAY_KINDS))}")
    step = replace(layer, steps=1) if layer.steps > 1 else layer
    if dataflow == "rs":
        result = _row_stationary(step, rows, cols, rf_words)
    else:
        result = _scalesim(step, rows, cols, dataflow)
    if layer.steps > 1:   # a recurrent layer: its time steps run one after the other
        T = layer.steps
        result = replace(result, cycles=T * result.cycles, macs=T * result.macs,
                         ifmap_reads=T * result.ifmap_reads, filter_reads=T * result.filter_reads,
                         ofmap_writes=T * result.ofmap_writes, psum_reads=T * result.psum_reads)
    if layer.useful_macs is not None and result.macs:
        # a sparse layer runs dense: the same cycles, but only its real connections are work
        result = replace(result, macs=layer.macs, utilization=result.utilization * layer.macs / result.macs)
    return result


def _scalesim(layer: Layer, rows: int, cols: int, dataflow: str) -> SystolicResult:
    K, F, X = layer.gemm()
    G = layer.G
    Sr, Sc, T = _operands(dataflow, K, F, X)
    row_folds, col_folds = ceil_div(Sr, rows), ceil_div(Sc, cols)
    folds = row_folds * col_folds

    # Cycles of one fold, as SCALE-Sim's demand matrices count them.
    if dataflow == "os":
        # stream T operands; the outputs leave along a skew of rows + cols - 2 cycles
        fold_lines = rows + cols + T - 2
        fold_cycles_for_util = fold_lines
    else:
        # ws and is: `rows` cycles to load the stationary operand, T to stream, then the
        # skewed drain: rows + cols - 2 more
        fold_lines = 2 * rows + cols + T - 2
        # SCALE-Sim's compute utilisation divides by a fold length one skew longer
        fold_cycles_for_util = 2 * rows + 2 * cols + T - 3
    cycles_per_group = folds * fold_lines - 1  # SCALE-Sim reports the last cycle's index

    macs_per_group = K * F * X
    pes = rows * cols
    # The row folds cover Sr once and the column folds Sc once, so the average occupancy of a
    # fold is Sr*Sc / (folds * PEs): no loop over folds is needed.
    mapping_efficiency = Sr * Sc / (folds * pes)
    compute_utilization = Sr * Sc * T / (folds * pes * fold_cycles_for_util)

    # Buffer (SRAM) traffic, as SCALE-Sim counts the array's requests.
    if dataflow == "ws":
        ifmap, filt, ofmap = T * Sr * col_folds, Sr * Sc, T * Sc * row_folds
        psum = T * Sc * (row_folds - 1)  # each row fold adds to the previous one's sums
    elif dataflow == "os":
        # SCALE-Sim also adds (rows + cols) per fold to the OFMAP writes of os; kept for
        # exact agreement (it is 0.1% of AlexNet conv1's writes)
        ifmap, filt, ofmap = T * Sr * col_folds, T * Sc * row_folds, Sr * Sc + folds * (rows + cols)
        psum = 0  # an output never leaves its PE before it is complete
    else:  # is
        ifmap, filt, ofmap = Sr * Sc, T * Sr * col_folds, T * Sc * row_folds
        psum = T * Sc * (row_folds - 1)

    return SystolicResult(
        dataflow=dataflow, rows=rows, cols=cols, groups=G, gemm=(K, F, X),
        row_folds=row_folds, col_folds=col_folds, cycles_per_group=cycles_per_group,
        cycles=G * cycles_per_group, macs=G * macs_per_group,
        utilization=macs_per_group / (cycles_per_group * pes),
        mapping_efficiency=mapping_efficiency, compute_utilization=compute_utilization,
        ifmap_reads=G * ifmap, filter_reads=G * filt, ofmap_writes=G * ofmap, psum_reads=G * psum,
    )


def filters_per_pe(layer: Layer, rf_words: int | None) -> int:
    """Row stationary: filters whose rows share one input row inside a PE (Eyeriss's ``p``).

    A PE holds ``p`` filter rows (``p*S`` words), the input row's sliding window (``S``) and
    ``p`` partial sums: ``p*S + S + p <= rf_words``.
    """
    if rf_words is None:
        return 1
    p = (rf_words - layer.S) // (layer.S + 1)
    return max(1, min(layer.M // layer.G, p))


def _row_stationary(layer: Layer, rows: int, cols: int, rf_words: int | None) -> SystolicResult:
    N, C, M, G, R, S, P, Q = layer.N, layer.C, layer.M, layer.G, layer.R, layer.S, layer.P, layer.Q
    Cg, Mg = C // G, M // G
    if R <= rows:
        sets, r_folds = rows // R, 1     # PE sets stacked up the array
    else:
        sets, r_folds = 1, ceil_div(R, rows)  # a filter taller than the array: fold its rows
    strips = ceil_div(P, cols)
    jobs = N * M * Cg                     # (image, filter, input channel) triples, all groups
    rounds = ceil_div(jobs, sets)
    cycles = rounds * r_folds * strips * S * Q
    macs = layer.macs
    util = macs / (cycles * rows * cols)
    p = filters_per_pe(layer, rf_words)
    ifmap = layer.inputs * ceil_div(Mg, p)
    filt = N * layer.weights * strips
    channel_passes = ceil_div(Cg, sets)  # the stacked sets add k channels' sums in the array
    ofmap = layer.outputs * channel_passes
    psum = layer.outputs * (channel_passes - 1)
    return SystolicResult(
        dataflow="rs", rows=rows, cols=cols, groups=G, gemm=layer.gemm(),
        row_folds=r_folds, col_folds=strips, cycles_per_group=cycles, cycles=cycles, macs=macs,
        utilization=util, mapping_efficiency=util, compute_utilization=util,
        ifmap_reads=ifmap, filter_reads=filt, ofmap_writes=ofmap, psum_reads=psum,
    )
