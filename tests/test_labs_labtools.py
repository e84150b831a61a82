"""cnnlib.labtools: the labs' tests see a student's function hand its work to cnnlib, however hidden.

Each test is one way a submission could delegate (or fake a result) and the check that must
catch it; the honest versions must pass, and the checks must leave the process as they found it.
"""

from __future__ import annotations

import functools
import sys
import threading

import numpy as np
import pytest
import torch
from torch import nn

import cnnlib
from cnnlib import accel, formulas
from cnnlib.labtools import assert_exact, assert_own_modules, watched
from cnnlib.models import googlenet, resnet
from cnnlib.models.layers import ConvBNAct

ARITHMETIC = ("cnnlib", "torch")


def honest_weights(C, M, R, S, G=1):
    if C % G or M % G:
        raise ValueError("G must divide C and M")
    return M * (C // G) * R * S


_captured = formulas.conv2d_weights        # a reference taken before any test runs


def captured_weights(C, M, R, S, G=1):
    return _captured(C, M, R, S, G)


def threaded_weights(C, M, R, S, G=1):
    out = []
    worker = threading.Thread(target=lambda: out.append(_captured(C, M, R, S, G)))
    worker.start()
    worker.join()
    return out[0]


def disarming_weights(C, M, R, S, G=1):
    profiler = sys.getprofile()
    sys.setprofile(None)                     # switch the watcher off, delegate, switch it back on
    try:
        return _captured(C, M, R, S, G)
    finally:
        sys.setprofile(profiler)


def evaluated_weights(C, M, R, S, G=1):
    return eval("cnnlib.formulas.conv2d_weights(C, M, R, S, G)", {"cnnlib": cnnlib}, locals())


class CallableWeights:
    def __call__(self, C, M, R, S, G=1):
        return formulas.conv2d_weights(C, M, R, S, G)


def delegating_then_raising(C, M, R, S, G=1):
    try:
        return _captured(C, M, R, S, G)
    except cnnlib.CnnlibError as exc:        # cnnlib's error turned into the ValueError the lab asks for
        raise ValueError(str(exc)) from None


DELEGATING = [captured_weights, threaded_weights, disarming_weights, evaluated_weights, CallableWeights(),
              functools.partial(formulas.conv2d_weights), formulas.conv2d_weights]


def test_an_honest_function_passes_and_returns_its_result():
    assert watched(honest_weights, forbid=ARITHMETIC)(12, 18, 1, 7, 6) == 252


@pytest.mark.parametrize("fn", DELEGATING, ids=lambda f: getattr(f, "__name__", type(f).__name__))
def test_delegating_to_cnnlib_is_seen_however_it_is_hidden(fn):
    with pytest.raises(AssertionError, match="this lab asks you to write it yourself"):
        watched(fn, forbid=ARITHMETIC)(12, 18, 1, 7, 6)


def test_the_message_names_what_ran():
    with pytest.raises(AssertionError, match=r"captured_weights ran conv2d_weights \(cnnlib/costs/formulas"):
        watched(captured_weights)(12, 18, 1, 7, 6)
    with pytest.raises(AssertionError, match=r"setprofile\(\)"):
        watched(disarming_weights)(12, 18, 1, 7, 6)


def test_delegating_then_raising_the_expected_error_still_fails():
    with pytest.raises(AssertionError) as info:
        watched(delegating_then_raising)(96, 256, 5, 5, 5)
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(ValueError):          # the honest function's own error passes through
        watched(honest_weights, forbid=ARITHMETIC)(96, 256, 5, 5, 5)


def test_a_subclass_of_a_cnnlib_block_is_seen_when_built():
    row = googlenet.INCEPTION_TABLE[0]

    class Inception(googlenet.Inception):
        def __init__(self, C):
            super().__init__(C, row)

    with pytest.raises(AssertionError, match=r"Inception.__init__ \(cnnlib/models/googlenet.py\)"):
        watched(Inception)(192)


def test_torch_is_forbidden_only_when_asked():
    def by_measuring(H, R):
        return nn.Conv2d(1, 1, R)(torch.zeros(1, 1, H, H)).shape[-1]

    assert watched(by_measuring)(9, 3) == 7
    with pytest.raises(AssertionError, match="torch/nn/modules"):
        watched(by_measuring, forbid=ARITHMETIC)(9, 3)


def test_forbidden_functions_and_classes_by_object():
    def helper(x):                            # say, a checker the public test defines
        return 2 * x

    def uses_helper(x):
        return helper(x)

    with pytest.raises(AssertionError, match="helper"):
        watched(uses_helper, forbid=(helper,))(3)
    report = accel.estimate("lenet5", "systolic32")
    with pytest.raises(AssertionError, match="AccelReport.by_kind"):
        watched(lambda r: r.by_kind(), forbid=(accel.AccelReport.by_kind,))(report)
    assert watched(lambda r: r.macs, forbid=(accel.AccelReport.by_kind,))(report) == report.macs


def test_allowed_functions_may_use_forbidden_code_but_the_student_may_not():
    def counted(C):
        return cnnlib.count_costs(nn.Conv2d(C, C, 3), (1, C, 8, 8)).macs

    def by_formula(C):
        return formulas.conv2d_macs(1, C, C, 6, 6, 3, 3)

    assert watched(counted, forbid=(formulas,), allow=(cnnlib.count_costs,))(4) == 4 * 4 * 9 * 36
    with pytest.raises(AssertionError, match="count_costs"):
        watched(counted)(4)                   # count_costs itself is cnnlib
    with pytest.raises(AssertionError, match="conv2d_macs"):
        watched(by_formula, forbid=(formulas,), allow=(cnnlib.count_costs,))(4)


# the given names live in this module's globals, as a notebook's names live in its namespace
def conv_output_size(H, R, stride=1, padding=0):
    return -1                                  # a slip that the given version hides


def conv_macs(H, W, C, M, R, S, stride=1, padding=0, G=1, N=1):
    P, Q = conv_output_size(H, R, stride, padding), conv_output_size(W, S, stride, padding)
    return N * P * Q * M * (C // G) * R * S


def test_given_functions_replace_the_earlier_answers_for_the_call_only():
    macs = watched(conv_macs, forbid=ARITHMETIC, given={"conv_output_size": formulas.conv_output_size})
    assert macs(227, 227, 3, 96, 11, 11, stride=4) == 105_415_200   # cnnlib inside a given: allowed
    assert conv_output_size(227, 11) == -1                            # put back
    assert "not_there_before" not in globals()
    watched(lambda: None, given={"not_there_before": print})()
    assert "not_there_before" not in globals()
    # nothing forbidden: the names are given, and no profiler slows the call down (lab 6 trains)
    seen = watched(lambda: (sys.getprofile(), conv_output_size(5, 3)), forbid=(),
                   given={"conv_output_size": formulas.conv_output_size})()
    assert seen == (None, 3)


def test_given_functions_are_put_back_when_the_call_raises():
    def raises():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        watched(raises, given={"conv_output_size": formulas.conv_output_size})()
    assert conv_output_size(227, 11) == -1


def test_the_previous_profiler_is_restored():
    def mine(frame, event, arg):
        return None

    sys.setprofile(mine)
    try:
        watched(honest_weights)(1, 1, 1, 1)
        with pytest.raises(AssertionError):
            watched(captured_weights)(1, 1, 1, 1)
        assert sys.getprofile() is mine
    finally:
        sys.setprofile(None)
    assert threading.getprofile() is None


# ---------------------------------------------------------------- assert_exact
class AlwaysEqualInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class AlwaysCloseFloat(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return 0.0

    __hash__ = float.__hash__


class AlwaysEqualStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize(("got", "want"), [
    (AlwaysEqualInt(0), 55), (AlwaysCloseFloat(0.0), 0.28), (AlwaysEqualStr("?"), "fc6"),
    (True, 1), (np.int64(55), 55), (np.float64(0.28), 0.28), (55.0, 55), (55, 55.0),
    ([1, 2], (1, 2)), ((1, 2), [1, 2]), ([1, 2], [1, 2, 3]), ({"a": 1}, {"b": 1}), (None, 0),
    ([("conv1", 1, AlwaysEqualInt(2))], [("conv1", 1, 7)]), ({"a": (1, 0.5)}, {"a": (1, 0.6)}),
], ids=repr)
def test_assert_exact_rejects_other_types_and_values(got, want):
    with pytest.raises(AssertionError):
        assert_exact(got, want, "x")


def test_assert_exact_accepts_equal_values_and_close_floats():
    assert_exact([("conv1", 34_848, 105_415_200)], [("conv1", 34_848, 105_415_200)])
    assert_exact({"MobileNet": (568.740352, 4.209088)}, {"MobileNet": (568.740352 * (1 + 1e-12), 4.209088)})
    assert_exact(0.1 + 0.2, 0.3, "float sums")
    assert_exact(True, True)


def test_assert_exact_runs_no_code_of_the_values_class():
    calls = []

    class Spy(list):
        def __len__(self):
            calls.append("len")
            return 2

        def __eq__(self, other):
            calls.append("eq")
            return True

        def __repr__(self):
            calls.append("repr")
            return "[]"

    with pytest.raises(AssertionError, match="an object of type Spy"):
        assert_exact(Spy([1, 2]), [1, 2], "x")
    assert calls == []


def test_assert_exact_says_where_the_difference_is():
    with pytest.raises(AssertionError, match=r"table\[1\]\[2\]: expected 7, got 8"):
        assert_exact([("a", 1, 2), ("b", 3, 8)], [("a", 1, 2), ("b", 3, 7)], "table")


# ---------------------------------------------------------------- assert_own_modules
def test_modules_from_torch_nn_pass():
    assert_own_modules(nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.ReLU(), nn.Conv2d(4, 4, 1)))


@pytest.mark.parametrize("module", [
    nn.Sequential(ConvBNAct(3, 4), nn.ReLU()),
    type("Block", (resnet.Bottleneck,), {})(8, 2, 8),
], ids=["cnnlib-part", "cnnlib-subclass"])
def test_modules_built_on_cnnlib_classes_fail(module):
    with pytest.raises(AssertionError, match="built on cnnlib's"):
        assert_own_modules(module)


def test_a_module_with_a_cost_rule_of_its_own_fails():
    """A fake module whose counts come from a rule (copied from a public test) rather than real layers."""
    from cnnlib.costs import rules

    class Fake(nn.Module):
        def forward(self, x):
            return x

    rules.cost_rule(Fake)(lambda m, inputs, y: {"kind": "conv", "macs": 128_000_000})
    try:
        with pytest.raises(AssertionError, match="cost rule of its own"):
            assert_own_modules(nn.Sequential(Fake()))
    finally:
        del rules._RULES[Fake]


def test_not_a_module_fails():
    with pytest.raises(AssertionError, match="expected an nn.Module"):
        assert_own_modules([nn.ReLU()])
