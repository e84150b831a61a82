"""Repository hygiene that CI should catch: lint, citations, and the README's commands."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnnlib

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = {"lecture", "torchvision", "timm", "keras", "cadene", "tensorflow"}


def bib_keys() -> set[str]:
    return set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text()))


def test_every_paper_and_source_is_in_references_bib():
    keys = bib_keys()
    missing = set()
    for name in cnnlib.list_models():
        info = cnnlib.model_info(name)
        missing |= {info.paper} - keys
        missing |= {p.source for p in info.published if p.source.lower() not in LIBRARIES} - keys
    assert not missing, f"add these to references.bib: {sorted(missing)}"


def test_ci_runs_exactly_the_readme_test_command():
    ci = [ln for ln in (ROOT / ".ci/run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert ci[-1].strip() == "make test"
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme


def test_code_is_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    out = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


def test_readme_python_examples_run():
    """Every Python block of the README runs; a block of nbgrader configuration (``c.``: the
    course's nbgrader_config.py) runs on a traitlets Config, and the late policy it sets makes
    the plugin it names."""
    from traitlets.config import Config

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    for block in blocks:
        scope = {"c": Config()}
        exec(compile(block, "README.md", "exec"), scope)  # noqa: S102
        config = scope["c"]
        if "AssignLatePenalties" in config:
            from autograder.late import LatePenalty

            assert config.AssignLatePenalties.plugin_class == "autograder.late.LatePenalty"
            plugin = LatePenalty(config=config)
            assert plugin.late_submission_penalty("s", 10.0, 30 * 3600) == 2.0   # two started days
