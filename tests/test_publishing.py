"""The publishing workflow builds the book with the README's book command and deploys it."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_workflow_parses_and_runs_on_pushes_to_main():
    wf = _workflow()
    triggers = wf[True] if True in wf else wf["on"]   # YAML 1.1 reads a bare `on` as True
    assert triggers["push"]["branches"] == ["main"]
    assert set(wf["jobs"]) == {"build", "deploy"}


def test_workflow_builds_with_the_readme_book_command():
    steps = _workflow()["jobs"]["build"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert any(r.split()[:2] == ["make", "book"] for r in runs), runs
    assert "make book" in (ROOT / "README.md").read_text()


def test_workflow_deploys_the_built_html_to_pages():
    jobs = _workflow()["jobs"]
    upload = [s for s in jobs["build"]["steps"]
              if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert jobs["deploy"]["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in jobs["deploy"]["steps"])
