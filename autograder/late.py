"""Deadlines and late penalties, the way nbgrader applies them.

The due date is nbgrader's: the gradebook assignment's ``duedate`` (``nbgrader db assignment
add LAB --duedate=...``, or the formgrader), plus a student's extension where one was given. The
submission time is the collection's (``timestamp.txt`` as ``nbgrader collect`` or ``grade
--submissions`` wrote it). At grading, nbgrader's own ``AssignLatePenalties`` step (one of the
configured autograde steps) asks the configured plugin, ``AssignLatePenalties.plugin_class``,
for each notebook's penalty and records it in nbgrader's own field,
``SubmittedNotebook.late_submission_penalty``. nbgrader's ``LateSubmissionPlugin`` knows two
policies, ``none`` (its default: late work is marked late, not penalised) and ``zero``;
``LatePenalty`` adds a share of the points per started hour or day late, with a cap. A course
chooses it in its ``nbgrader_config.py``::

    c.AssignLatePenalties.plugin_class = "autograder.late.LatePenalty"
    c.LatePenalty.penalty_method = "per_day"     # none | zero | per_hour | per_day
    c.LatePenalty.penalty_per_period = 0.1       # 10 % of the notebook's points per started day
    c.LatePenalty.max_penalty = 0.5              # never more than half of them

Like nbgrader's plugins, the penalty is a share of the points the notebook has when it is
graded (nbgrader hands the plugin that score): points entered by hand later are not penalised
until the notebook is graded again (``grade --force``). The policy and the due dates are part of
each result's key, so changing either grades the class again on the next run.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from textwrap import dedent

from nbgrader.plugins import BasePlugin, LateSubmissionPlugin
from traitlets import Enum, Float, TraitError, validate

from .course import Course, UsageError

PERIOD_SECONDS = {"per_hour": 3600.0, "per_day": 86400.0}


class LatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin with penalties per started hour or day, capped."""

    penalty_method = Enum(
        ("none", "zero", "per_hour", "per_day"), default_value="none",
        help=dedent("""
            none: no penalty (late work is only marked late); zero: the notebook scores 0;
            per_hour / per_day: penalty_per_period of the notebook's points for every started
            hour / day past the due date, at most max_penalty of them""")).tag(config=True)
    penalty_per_period = Float(
        0.0, help="share of the notebook's points lost per started period (0.1: 10 %)").tag(config=True)
    max_penalty = Float(
        1.0, help="the largest share of the notebook's points a penalty takes").tag(config=True)

    @validate("penalty_per_period", "max_penalty")
    def _a_share(self, proposal):
        value = proposal["value"]
        if not 0.0 <= value <= 1.0:
            raise TraitError(f"LatePenalty.{proposal['trait'].name} is a share of the points, "
                             f"between 0 and 1, not {value!r}")
        return value

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float | None:
        if self.penalty_method not in PERIOD_SECONDS:
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        periods = math.ceil(total_seconds_late / PERIOD_SECONDS[self.penalty_method])
        return score * min(self.max_penalty, self.penalty_per_period * periods)


def configured_plugin(course: Course) -> BasePlugin:
    """The late-submission plugin the course configures, as nbgrader's AssignLatePenalties makes
    it. UsageError for a policy that cannot be made (a typo, a share above 1)."""
    from nbgrader.preprocessors import AssignLatePenalties

    try:
        step = AssignLatePenalties(config=course.config)
        step.init_plugin()
    except Exception as exc:  # noqa: BLE001 - the course's configuration: said plainly, exit 2
        raise UsageError(f"the nbgrader configuration's late-submission policy cannot be used: "
                         f"{type(exc).__name__}: {exc}") from exc
    return step.plugin_inst


def describe(plugin: BasePlugin) -> str:
    """The policy in words, for the report and the export."""
    method = getattr(plugin, "penalty_method", None)
    if type(plugin) not in (LatePenalty, LateSubmissionPlugin):
        return f"{type(plugin).__module__}.{type(plugin).__qualname__} (the course's own plugin)"
    if method == "none":
        return "no penalty (late work is marked late)"
    if method == "zero":
        return "a late notebook scores 0"
    unit = "hour" if method == "per_hour" else "day"
    return (f"{plugin.penalty_per_period:.0%} of the points per started {unit} late, "
            f"at most {plugin.max_penalty:.0%}")


def policy_key(plugin: BasePlugin) -> str:
    """What the penalties depend on besides the submission: the plugin and its settings."""
    settings = {name: repr(getattr(plugin, name)) for name in sorted(plugin.trait_names(config=True))}
    return json.dumps([f"{type(plugin).__module__}.{type(plugin).__qualname__}", settings])


def due_dates(course: Course, lab: str) -> dict[str, datetime | None]:
    """Each submitted student's due date (UTC, extension included) and the lab's under ``""``."""
    with course.gradebook() as gb:
        assignment = gb.find_assignment(lab)
        due = {"": assignment.duedate}
        for sub in assignment.submissions:
            due[sub.student.id] = sub.duedate
    return due


def deadline_key(plugin: BasePlugin, due: dict[str, datetime | None], student: str) -> str:
    """A hash of the student's due date and the policy: part of the key of their result."""
    when = due.get(student, due.get(""))
    text = policy_key(plugin) + "|" + (when.isoformat() if when else "no due date")
    return hashlib.sha256(text.encode()).hexdigest()
