"""Per-layer cost formulas, as pure functions of shapes.

These are the formulas of the lecture, in its letters:

====  ==========================================  ====  =================================
N     batch size                                  R, S  filter height, width
C     input channels                              P, Q  output height, width
M     output channels (number of filters)         H, W  input height, width
G     groups (G = C for a depth-wise conv)        U     stride
====  ==========================================  ====  =================================

A MAC is one multiply-accumulate. ``flops = 2 * macs`` (a multiply and an add), stated here
once and used everywhere in cnnlib. Chapters and labs call these functions directly; the cost
collector (:func:`cnnlib.count_costs`) calls the same ones, so there is one way to count.
"""

from __future__ import annotations

from cnnlib.errors import CnnlibError

FLOPS_PER_MAC = 2


def _positive(**fields: int) -> None:
    for name, value in fields.items():
        if type(value) is int and value > 0:
            continue  # the common case, checked first: the collector calls this per layer
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CnnlibError(f"{name} must be a positive integer, got {value!r}")


def _check_groups(C: int, M: int, G: int) -> None:
    _positive(C=C, M=M, G=G)
    if C % G or M % G:
        raise CnnlibError(
            f"groups G={G} must divide both the input channels C={C} and the filters M={M}"
        )


def conv_output_size(H: int, R: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output height P of a convolution or pooling window: ``floor((H + 2p - d(R-1) - 1)/U) + 1``.

    ``ceil_mode`` rounds up instead (Caffe's pooling did, and GoogLeNet's sizes depend on it).
    As in PyTorch, a window that would start entirely in the right padding is dropped.
    """
    _positive(R=R, stride=stride, dilation=dilation)
    if type(padding) is not int or padding < 0:
        raise CnnlibError(f"padding must be a non-negative integer, got {padding!r}")
    span = H + 2 * padding - dilation * (R - 1) - 1
    if span < 0:
        return 0
    P = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (P - 1) * stride >= H + padding:
        P -= 1
    return P


def conv2d_weights(C: int, M: int, R: int, S: int, G: int = 1) -> int:
    """Filter weights of a (grouped) convolution: each of M filters sees C/G channels."""
    _check_groups(C, M, G)
    _positive(R=R, S=S)
    return M * (C // G) * R * S


def conv2d_macs(N: int, C: int, M: int, P: int, Q: int, R: int, S: int, G: int = 1) -> int:
    """MACs of a (grouped) convolution: one R x S x C/G dot product per output value."""
    return N * P * Q * conv2d_weights(C, M, R, S, G)


def fc_weights(C: int, M: int) -> int:
    """Weights of a fully connected layer with C inputs and M outputs."""
    _positive(C=C, M=M)
    return C * M


def fc_macs(N: int, C: int, M: int) -> int:
    """MACs of a fully connected layer: an FC layer is a conv whose filter covers the input."""
    return N * fc_weights(C, M)


def pool_ops(N: int, C: int, P: int, Q: int, R: int, S: int) -> int:
    """Operations of a pooling layer: R x S compares (max) or adds (average) per output."""
    return N * C * P * Q * R * S


def norm_macs(elements: int) -> int:
    """MACs of batch norm at inference: one multiply-add per element (``x * a + b``)."""
    return elements


def lrn_macs(elements: int, size: int) -> int:
    """MACs of local response normalisation: a sum of ``size`` squares per element."""
    return elements * size


def eltwise_ops(elements: int) -> int:
    """Operations of an element-wise add or multiply: one per output element."""
    return elements


def flops(macs: int) -> int:
    """FLOPs as most papers count them: a MAC is one multiply and one add."""
    return FLOPS_PER_MAC * macs


def depthwise_separable_ratio(R: int, S: int, M: int) -> float:
    """How many times fewer MACs a depth-wise separable conv needs than a full conv.

    A full R x S conv costs ``HWC * RSM``; a depth-wise R x S conv plus a 1 x 1 point-wise
    conv costs ``HWC * (RS + M)``. The ratio is ``RSM / (RS + M)`` (MobileNet, Howard 2017).
    """
    _positive(R=R, S=S, M=M)
    return R * S * M / (R * S + M)


def receptive_field_of_stack(R: int, depth: int) -> int:
    """Receptive field of ``depth`` stacked R x R stride-1 convolutions: ``depth(R-1) + 1``."""
    _positive(R=R, depth=depth)
    return depth * (R - 1) + 1


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)
