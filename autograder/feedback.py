"""Feedback without leaks.

Feedback is nbgrader's own (``GenerateFeedback``: its HTML template, ``GetGrades`` scores from
the gradebook, files in ``COURSE/feedback/STUDENT/LAB/`` where ``nbgrader release_feedback``
and the JupyterHub extension find them), run on a *cleaned copy* of each autograded notebook:

- every test cell shows its public code, its name, its points, whether it passed, and what it
  checks in the words of the lab's source (the test cell's first line, a docstring or a
  comment); never anything produced while it ran, which the student's code controls;
- a hidden test reaches the student's process only when it runs, so only outputs made before the
  notebook's first test with hidden parts started are shown: later ones could carry a hidden
  test in any encoding (a hook that records it, base64, ...) and are replaced by a note. The
  instructor's autograded notebook keeps everything;
- the HTML is sanitised as nbconvert does for untrusted notebooks (``sanitize_html``), and
  markdown cells too (nbgrader's template renders its graded ones unsanitised): no student
  script, event handler or ``javascript:`` link survives; output types that could carry one
  (JavaScript, SVG, widgets) and all student metadata are dropped.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import Course, SourceCell, UsageError

SHOWN_MIMETYPES = ("text/plain", "image/png", "image/jpeg", "text/html")
MARKDOWN_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
                 "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table",
                 "tbody", "td", "th", "thead", "tr", "ul"}
MARKDOWN_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "td": ["align"],
                       "th": ["align"]}
WITHHELD = ("[Output not shown in feedback: this cell ran after a test with hidden parts, so its output "
            "could contain them. Your own notebook has it.]\n")


def _test_line(cell, source: SourceCell | None) -> str:
    from nbgrader import utils

    meta = cell.metadata.nbgrader
    score, max_score = utils.determine_grade(cell)
    verdict = ("passed" if score == max_score else "failed" if not score
               else f"partly passed ({score:g} of {max_score:g} points)")
    what = source.description if source is not None and source.description else "(no description in the lab)"
    return f"Test {meta['grade_id']} ({max_score:g} points): {verdict}. It checks: {what}\n"


def safe_markdown(source: str) -> str:
    """A markdown cell as sanitised HTML (nbgrader's feedback template renders graded markdown
    cells without nbconvert's sanitiser): no script, no event handler, no ``javascript:`` link."""
    import bleach
    from nbconvert.filters.markdown import markdown2html

    return bleach.clean(markdown2html(source), tags=MARKDOWN_TAGS, attributes=MARKDOWN_ATTRIBUTES,
                        protocols={"http", "https", "mailto"}, strip=True)


def _safe_output(out):
    """An output that can be shown: allowed mimetypes and no metadata but image sizes."""
    if out.output_type in ("stream", "error"):
        return out
    data = {k: v for k, v in out.get("data", {}).items() if k in SHOWN_MIMETYPES}
    if not data:
        return None
    out.data = data
    sizes = {}
    for mime, meta in (out.get("metadata") or {}).items():
        if mime in ("image/png", "image/jpeg") and isinstance(meta, dict):
            sizes[mime] = {k: v for k, v in meta.items() if k in ("width", "height") and isinstance(v, int)}
    out.metadata = sizes
    return out


def clean_notebook(nb, source_cells: list[SourceCell]):
    """A copy of an autograded notebook that is safe to show the student."""
    from nbgrader import utils
    from nbgrader.preprocessors import ClearHiddenTests

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    by_id = {c.grade_id: c for c in source_cells}
    hidden = {c.grade_id for c in source_cells if c.hidden}
    tainted = False  # once a hidden test has run, the student's process has seen it
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        cell.metadata = {"nbgrader": meta} if meta else {}
        cell.pop("attachments", None)
        if cell.cell_type == "markdown":
            cell.source = safe_markdown(cell.source)
        if cell.cell_type != "code":
            continue
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        runs_hidden = is_test and gid in hidden
        if is_test:
            outputs = [] if (tainted or runs_hidden) else [o for o in map(_safe_output, cell.outputs) if o]
            line = _test_line(cell, by_id.get(gid))
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=line), *outputs]
        elif tainted and cell.outputs:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=WITHHELD)]
        else:
            cell.outputs = [o for o in map(_safe_output, cell.outputs) if o]
        tainted = tainted or runs_hidden
    keep = ("kernelspec", "language_info")
    nb.metadata = {k: copy.deepcopy(v) for k, v in nb.metadata.items() if k in keep}
    nb, _ = ClearHiddenTests(enforce_metadata=False)(nb, {})
    return nb


def feedback(course: Course, lab: str, students: list[str] | None = None) -> list[Path]:
    """HTML feedback for every graded student of LAB (or the ones named). The files written."""
    from nbgrader.apps import NbGraderAPI

    if not (course.root / "source" / lab).is_dir():
        raise UsageError(f"{lab} was never released or graded in {course.root}")
    autograded_root = course.root / "autograded"
    graded = sorted(p.parent.name for p in autograded_root.glob(f"*/{lab}") if p.is_dir())
    if students:
        graded = [s for s in graded if s in set(students)]
    if not graded:
        raise UsageError(f"nothing graded for {lab} in {course.root}: "
                         f"run `python -m autograder grade {lab}` first")
    source = course.source_cells(lab)
    clean_root = Path(tempfile.mkdtemp(prefix=".feedback-", dir=course.root))
    written = []
    try:
        for sid in graded:
            src = autograded_root / sid / lab
            dst = clean_root / sid / lab
            dst.mkdir(parents=True)
            for path in src.iterdir():
                if path.suffix == ".ipynb" and not path.is_symlink():
                    nb = nbformat.read(str(path), as_version=4)
                    nbformat.write(clean_notebook(nb, source.get(path.stem, [])), str(dst / path.name))
                elif path.is_file() and not path.is_symlink() and path.name in {"timestamp.txt",
                                                                                "submission_secret.txt"}:
                    # nbgrader's release_feedback finds the student's feedback by this secret
                    shutil.copyfile(path, dst / path.name)
        cfg = copy.deepcopy(course.config)
        cfg.CourseDirectory.autograded_directory = clean_root.name
        cfg.HTMLExporter.sanitize_html = True  # no student script runs in the feedback
        from nbgrader.coursedir import CourseDirectory

        api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
        for sid in graded:
            result = api.generate_feedback(lab, sid, force=True)
            if not result.get("success"):
                raise UsageError(f"nbgrader could not write feedback for {sid}:\n{result.get('log', '')}")
            written += sorted((course.root / "feedback" / sid / lab).glob("*.html"))
    finally:
        shutil.rmtree(clean_root, ignore_errors=True)
    return written

