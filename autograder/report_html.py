"""The report as one self-contained HTML page: inline CSS, plots as inline SVG images, no script.

It opens offline from a file (no CDN, nothing fetched), reads on a phone (420 px: images
scale, wide tables scroll in their own box), and passes the book's axe-core accessibility
check: every plot is a figure with a caption and alt text that says what it shows, and the same
numbers are in a table next to it. Every text that comes from the course (student ids,
reasons, the lab's words) is HTML-escaped; student ids never appear in a plot.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable, Set

import matplotlib
from matplotlib.figure import Figure

from .report import STATUS_WORDS

BAR = "#1f5f99"  # 7.0:1 on white
WIDTH = 5.2  # inches: about 500 px, so that the text stays legible when a phone shrinks it to 390 px
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1b1b1b;
       background: #fff; margin: 0; line-height: 1.5; overflow-wrap: break-word; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0; } h2 { font-size: 1.3rem; margin-top: 2rem; }
.meta { color: #4a4a4a; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #333; font-size: 0.95rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5rem 0; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border-bottom: 1px solid #c8c8c8; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top;
         max-width: 24rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
details { margin: 0.5rem 0; } summary { cursor: pointer; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


# ---------------------------------------------------------------- plots
def _plot(draw: Callable, width: float, height: float) -> str:
    """A matplotlib figure drawn by ``draw(ax)``, as an SVG data URI (no pyplot, no global state
    left behind: the style applies only while this figure is made)."""
    with matplotlib.rc_context({"font.size": 13, "svg.fonttype": "none", "svg.hashsalt": "autograder-report",
                                "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(width, height), layout="constrained")
        draw(fig.subplots())
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue().encode()).decode()


def _figure(uri: str, alt: str, caption: str) -> str:
    return (f'<figure><img src="{uri}" alt="{esc(alt)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def _bin_label(b: dict) -> str:
    return _num(b["from"]) if b["from"] == b["to"] else f"{_num(b['from'])}–{_num(b['to'])}"


def score_plot(data: dict) -> str:
    scores, top = data["auto_scores"], data["max_auto_score"]
    bins = scores["histogram"]
    if not scores["students"]:
        return "<p>No submission has been graded yet.</p>"
    labels = [_bin_label(b) for b in bins]
    counts = [b["count"] for b in bins]
    discrete = all(b["from"] == b["to"] for b in bins)

    def draw(ax):
        if discrete:  # one bar per score
            ax.bar([b["from"] for b in bins], counts, width=0.8, color=BAR)
            ax.xaxis.get_major_locator().set_params(integer=True)
        else:
            ax.bar([(b["from"] + b["to"]) / 2 for b in bins], counts, width=[(b["to"] - b["from"]) * 0.9
                                                                          for b in bins], color=BAR)
        ax.set_xlabel(f"auto-graded points (of {_num(top)})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)

    counted = "; ".join(f"{label} points: {c}" for label, c in zip(labels, counts, strict=True) if c)
    alt = (f"Bar chart of the auto-graded scores of {scores['students']} students, out of {_num(top)} "
           f"points: mean {_num(scores['mean'])}, median {_num(scores['median'])}; {scores['full_marks']} "
           f"with full marks and {scores['zero']} with none. Students per score: {counted}.")
    caption = (f"Figure 1. Auto-graded scores of the {scores['students']} graded submissions (tests only, "
               "before any late penalty and without the points graded by hand).")
    return _figure(_plot(draw, WIDTH, 3.4), alt, caption)


def pass_share_plot(data: dict) -> str:
    cells = [c for c in data["cells"] if c["auto"] and c["students"]]
    if not cells:
        return "<p>No auto-graded test has run yet.</p>"
    names = [c["grade_id"] for c in cells]
    shares = [100 * c["pass_share"] for c in cells]

    def draw(ax):
        ax.barh(range(len(cells)), shares, color=BAR)
        ax.set_yticks(range(len(cells)), names)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("students who passed (%)")
        for i, c in enumerate(cells):
            ax.text(min(shares[i] + 1, 80), i, f"{c['passed']}/{c['students']}", va="center")

    alt = ("Horizontal bar chart of the share of students who passed each auto-graded test: "
           + "; ".join(f"{c['grade_id']} {_share(c['passed'], c['students'])} "
                       f"({c['passed']} of {c['students']})" for c in cells) + ".")
    caption = ("Figure 2. Share of students who passed each auto-graded test cell, in the lab's order, among "
               "the students whose notebook ran it (full points only: partial credit counts as not passed).")
    return _figure(_plot(draw, WIDTH, 1.2 + 0.45 * len(cells)), alt, caption)


def status_plot(data: dict) -> str:
    counts = [(s, n) for s, n in data["status_counts"].items() if n]
    if not counts:
        return "<p>No student in the gradebook.</p>"
    words = [STATUS_WORDS.get(s, s).split(" (")[0] for s, _ in counts]

    def draw(ax):
        ax.barh(range(len(counts)), [n for _, n in counts], color=BAR)
        ax.set_yticks(range(len(counts)), words)
        ax.invert_yaxis()
        ax.set_xlabel("students")
        ax.xaxis.get_major_locator().set_params(integer=True)

    alt = ("Horizontal bar chart of the students by status: "
           + "; ".join(f"{w} {n}" for w, (_, n) in zip(words, counts, strict=True)) + ".")
    caption = ("Figure 3. Students by the status of their submission (every student on the roster or "
               "submitting).")
    return _figure(_plot(draw, WIDTH, 1.2 + 0.45 * len(counts)), alt, caption)


def time_plot(data: dict) -> str:
    t = data["grading_time"]
    if not t["notebooks"]:
        return "<p>No notebook has been graded yet.</p>"
    bins = t["histogram"]

    def draw(ax):
        ax.bar([(b["from"] + b["to"]) / 2 for b in bins], [b["count"] for b in bins],
               width=[(b["to"] - b["from"]) * 0.9 or 0.5 for b in bins], color=BAR)
        ax.set_xlabel("seconds per notebook")
        ax.set_ylabel("notebooks")
        ax.yaxis.get_major_locator().set_params(integer=True)

    alt = (f"Histogram of the grading time of {t['notebooks']} notebooks: median {_num(t['median'])} s, "
           f"90 % under {_num(t['p90'])} s, the slowest {_num(t['max'])} s.")
    caption = ("Figure 4. Wall-clock time per notebook in its sandbox, from the moment a worker took it to "
               "its last cell's answer (a notebook stopped by the time limit counts its limit).")
    return _figure(_plot(draw, WIDTH, 3.2), alt, caption)


# ---------------------------------------------------------------- tables
def _table(caption: str, head: list[str], rows: Iterable[list[str]], numeric: Set[int] = frozenset()) -> str:
    """A table in its own scrolling box; cells are HTML already (escape before)."""
    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    th = "".join(f'<th scope="col"{cls(i)}>{h}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return (f'<div class="scroll" role="region" aria-label="{esc(caption)}" tabindex="0"><table>'
            f"<caption>{esc(caption)}</caption><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>")


def _key_figures(data: dict) -> str:
    c, s = data["status_counts"], data["auto_scores"]
    rows = [("Students (on the roster or submitting)", data["students"]["roster_and_submitted"]),
            ("Submitted", data["students"]["submitted"]),
            ("Did not submit", len(data["not_submitted"])),
            ("Graded without a problem", c.get("graded", 0)),
            ("Mean auto-graded score", f"{_num(s['mean'])} of {_num(data['max_auto_score'])}"),
            ("Late submissions", len(data["late"])),
            ("Manual grades still to enter", data["manual_to_grade"]["total"])]
    body = "".join(f'<tr><th scope="row">{esc(k)}</th><td class="num">{esc(v)}</td></tr>' for k, v in rows)
    return (f'<div class="scroll" role="region" aria-label="Key figures" tabindex="0"><table>'
            f"<caption>Key figures</caption><tbody>{body}</tbody></table></div>")


def _cells_table(data: dict) -> str:
    rows = []
    for c in data["cells"]:
        what = esc(c["description"] or ("(no description in the lab)" if c["auto"]
                                        else "an answer graded by hand"))
        if c["auto"]:
            rows.append([esc(c["grade_id"]), what, _num(c["max_points"]), "tests", str(c["passed"]),
                         str(c["partial"]), str(c["failed"]), str(c["not run"]),
                         _share(c["passed"], c["students"])])
        else:
            rows.append([esc(c["grade_id"]), what, _num(c["max_points"]), "by hand",
                         f"{c['graded']} graded", "–", "–", f"{c['to_grade']} to grade", "–"])
    return _table("Every graded cell", ["Cell", "What it checks", "Points", "Graded by", "Passed", "Partly",
                                         "Failed", "Not run", "Passed (share)"], rows, {2, 4, 5, 6, 7, 8})


def _failed_table(data: dict) -> str:
    tests = data["tests_failed_most"]
    if not tests:
        return "<p>No test failed.</p>"
    rows = []
    for t in tests:
        why = [f"{m['students']} × “{esc(m['message'])}” ({m['part']} part)" for m in t["messages"]]
        why += [f"{e['students']} × {esc(e['error'])}" for e in t["errors"]]
        if t["not_run"]:
            why.append(f"{t['not_run']} × not run (the notebook stopped before it)")
        rows.append([esc(t["grade_id"]), esc(t["description"] or "(no description in the lab)"),
                     "yes" if t["hidden"] else "no", f"{t['failed']} of {t['students']}",
                     "<br>".join(why) or "–"])
    return _table("Tests that failed most, and why (the lab's own failure messages)",
                  ["Test", "What it checks", "Hidden part", "Failed", "Why it failed (students × message)"],
                  rows, {3})


def _timing_table(data: dict) -> str:
    t = data["grading_time"]
    if not t["notebooks"]:
        return ""
    summary = _table("Grading time per notebook",
                     ["Notebooks", "Median (s)", "90 % under (s)", "Slowest (s)", "Total (s)"],
                     [[str(t["notebooks"]), *(_num(t[k]) for k in ("median", "p90", "max", "total"))]],
                     {0, 1, 2, 3, 4})
    slowest = _table("The slowest notebooks", ["Student", "Notebook", "Seconds", "Status"],
                     [[esc(r["student_id"]), esc(r["notebook"]), _num(r["seconds"]), esc(r["status"])]
                      for r in t["slowest"]], {2})
    return summary + slowest


def _status_table(data: dict) -> str:
    return _table("Students by status", ["Status", "Students"],
                  [[esc(STATUS_WORDS.get(s, s)), str(n)] for s, n in data["status_counts"].items()], {1})


def _problems_table(data: dict) -> str:
    if not data["problems"]:
        return ""
    return _table("Submissions that did not grade cleanly", ["Student", "Status", "Reason"],
                  [[esc(p["student_id"]), esc(STATUS_WORDS.get(p["status"], p["status"])), esc(p["reason"])]
                   for p in data["problems"]])


def _missing(data: dict) -> str:
    ids = data["not_submitted"]
    if not ids:
        return "<p>Every student on the roster submitted.</p>"
    items = "".join(f"<li>{esc(i)}</li>" for i in ids)
    return f"<p>{len(ids)} students on the roster submitted nothing (score 0):</p><ul>{items}</ul>"


def _manual_section(data: dict) -> str:
    m = data["manual_to_grade"]
    if not m["total"]:
        return "<p>Nothing is waiting to be graded by hand.</p>"
    per_cell = _table("Manual grades to enter, per cell", ["Cell", "Students"],
                      [[esc(c["cell"]), str(c["students"])] for c in m["cells"]], {1})
    students = "".join(f"<li>{esc(s['student_id'])}: {esc(', '.join(s['cells']))}</li>"
                       for s in m["students"])
    return (f"<p>{m['total']} grades wait for the formgrader.</p>{per_cell}"
            f"<details><summary>The {len(m['students'])} students</summary><ul>{students}</ul></details>")


def _late_section(data: dict) -> str:
    late = data["late"]
    policy = f"<p>Due: {esc(data['due'] or 'no due date set')}. Late policy: {esc(data['late_policy'])}.</p>"
    if not late:
        return policy + "<p>No submission was late.</p>"
    return policy + _table("Late submissions",
                           ["Student", "Submitted", "Due", "Hours late", "Penalty (points)", "Score before",
                            "Score"],
                           [[esc(r["student_id"]), esc(r["submitted"]), esc(r["due"]), _num(r["hours_late"]),
                             _num(r["late_penalty"]), _num(r["raw_score"]), _num(r["score"])] for r in late],
                           {3, 4, 5, 6})


def render(data: dict) -> str:
    """The page for a report's data (``autograder.report.build_report``)."""
    title = f"{data['lab']}: what the class did"
    sections = [
        ("Scores", score_plot(data) + _key_figures(data)),
        ("Each graded cell", pass_share_plot(data) + _cells_table(data)),
        ("Tests that failed most", "<p>Ranked by the students who failed them. What a test checks and why "
         "it failed are in the lab's own words (its docstring and the failure message the error started "
         "with); a test's code and a student's output are never shown.</p>" + _failed_table(data)),
        ("How grading went", status_plot(data) + _status_table(data) + time_plot(data) + _timing_table(data)
         + _problems_table(data)),
        ("Students who did not submit", _missing(data)),
        ("Manual grades still to do", _manual_section(data)),
        ("Late submissions", _late_section(data)),
    ]
    body = "".join(f"<section><h2>{esc(name)}</h2>{content}</section>" for name, content in sections)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body><main><h1>{esc(title)}</h1>"
            f'<p class="meta">Course {esc(data["course_id"])}, {data["students"]["submitted"]} submissions, '
            f"report of {esc(data['generated'])}. Made by python -m autograder report from the gradebook.</p>"
            f"{body}</main></body></html>\n")
