"""Writes source/fixture_lab/fixture_lab.ipynb: a tiny nbgrader lab for the autograder's tests.

It has what the real labs have (a locked setup cell that imports cnnlib, so grading pays the
torch import; answer cells; test cells with public and hidden parts; a written answer graded
by hand) in a few cells. Run it again after editing: `python tests/data/autograder/make_fixture.py`.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def meta(grade_id, grade=False, solution=False, locked=False, points=None):
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


CELLS = [
    new_markdown_cell("# Fixture lab\n\nA lab small enough to grade hundreds of times in the tests."),
    new_code_cell("from cnnlib import formulas", metadata=meta("setup", locked=True)),
    new_code_cell('def add(a, b):\n    """a + b"""\n    ### BEGIN SOLUTION\n    return a + b\n'
                  '    ### END SOLUTION', metadata=meta("add", solution=True)),
    new_code_cell('"""add: small integers"""\nassert add(1, 2) == 3, "add(1, 2) should be 3"\n'
                  '### BEGIN HIDDEN TESTS\nassert add(-7, 7) == 0, "add must handle negative numbers"\n'
                  'assert add(2.5, 0.25) == 2.75, "add must handle floats"\n### END HIDDEN TESTS',
                  metadata=meta("test_add", grade=True, locked=True, points=2)),
    new_code_cell('def conv_weights(C, M, R, S):\n'
                  '    """Weights of a CONV layer: C channels in, M filters of R x S."""\n'
                  '    ### BEGIN SOLUTION\n    return C * M * R * S\n    ### END SOLUTION',
                  metadata=meta("conv_weights", solution=True)),
    new_code_cell('"""conv_weights: AlexNet\'s first layer, checked with cnnlib"""\n'
                  'got = conv_weights(3, 96, 11, 11)\n'
                  'assert got == 34848, f"AlexNet CONV1 has 34848 weights, got {got}"\n'
                  '### BEGIN HIDDEN TESTS\n'
                  'for C, M, R in [(1, 1, 1), (64, 128, 3), (7, 5, 5)]:\n'
                  '    expected = formulas.conv2d_weights(C=C, M=M, R=R, S=R)\n'
                  '    assert conv_weights(C, M, R, R) == expected, "conv_weights: other shapes"\n'
                  '### END HIDDEN TESTS',
                  metadata=meta("test_conv_weights", grade=True, locked=True, points=3)),
    new_markdown_cell("Which layer of AlexNet has the most weights, and why?"),
    new_markdown_cell("### BEGIN SOLUTION\nThe first FC layer: 9216 x 4096 weights.\n### END SOLUTION",
                      metadata=meta("written_most_weights", grade=True, solution=True, points=2)),
]

if __name__ == "__main__":
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = new_notebook(cells=CELLS, metadata={"kernelspec": kernel})
    out = Path(__file__).parent / "source" / "fixture_lab" / "fixture_lab.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))
    print(out)
