"""Late policies: nbgrader's plugin interface, penalties per started hour or day with a cap.

The arithmetic and the configuration, without grading (the graded class of
``tests/test_autograder_instructor.py`` proves the penalty lands in nbgrader's gradebook field).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from nbgrader.plugins import BasePlugin
from traitlets import TraitError
from traitlets.config import Config

from autograder.course import Course, UsageError
from autograder.late import LatePenalty, configured_plugin, deadline_key, describe, policy_key

HOUR = 3600.0


def plugin(**settings) -> LatePenalty:
    return LatePenalty(**settings)


def test_per_day_counts_every_started_day():
    p = plugin(penalty_method="per_day", penalty_per_period=0.1, max_penalty=0.5)
    assert p.late_submission_penalty("s", 5.0, 34 * HOUR) == pytest.approx(1.0)  # 2 started days: 20 %
    assert p.late_submission_penalty("s", 5.0, 1.0) == pytest.approx(0.5)  # a second late is a day
    assert p.late_submission_penalty("s", 5.0, 24 * HOUR) == pytest.approx(0.5)
    assert p.late_submission_penalty("s", 5.0, 240 * HOUR) == pytest.approx(2.5)  # 100 %, capped at 50 %


def test_per_hour_is_capped():
    p = plugin(penalty_method="per_hour", penalty_per_period=0.02, max_penalty=0.3)
    assert p.late_submission_penalty("s", 10.0, 5 * HOUR - 1) == pytest.approx(1.0)
    assert p.late_submission_penalty("s", 10.0, 34 * HOUR) == pytest.approx(3.0)


def test_none_and_zero_are_nbgraders_own():
    assert plugin().late_submission_penalty("s", 5.0, 34 * HOUR) is None  # nbgrader's default: no penalty
    assert plugin(penalty_method="zero").late_submission_penalty("s", 5.0, 34 * HOUR) == 5.0


@pytest.mark.parametrize("setting", ["penalty_per_period", "max_penalty"])
def test_a_share_outside_0_and_1_is_refused(setting):
    with pytest.raises(TraitError, match="between 0 and 1"):
        plugin(**{setting: 10})


def course_with(tmp_path, lines: str) -> Course:
    root = tmp_path / "course"
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa\n" + lines)
    return Course(root)


def test_the_course_configures_the_plugin_nbgrader_applies(tmp_path):
    course = course_with(tmp_path, 'c.AssignLatePenalties.plugin_class = "autograder.late.LatePenalty"\n'
                                   'c.LatePenalty.penalty_method = "per_hour"\n'
                                   "c.LatePenalty.penalty_per_period = 0.05\n"
                                   "c.LatePenalty.max_penalty = 0.25\n")
    p = configured_plugin(course)
    assert type(p) is LatePenalty and p.penalty_per_period == 0.05
    assert describe(p) == "5% of the points per started hour late, at most 25%"


class HalfOff(BasePlugin):
    """A course's own late policy, any class nbgrader accepts."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return score / 2


def test_nbgraders_own_plugin_and_a_courses_own_class_apply_too(tmp_path):
    assert describe(configured_plugin(course_with(tmp_path, ""))) == "no penalty (late work is marked late)"
    zero = configured_plugin(course_with(tmp_path / "z", 'c.LateSubmissionPlugin.penalty_method = "zero"\n'))
    assert describe(zero) == "a late notebook scores 0"
    own = configured_plugin(course_with(tmp_path / "o", 'c.AssignLatePenalties.plugin_class = '
                                                        '"test_late.HalfOff"\n'))
    assert type(own).__name__ == "HalfOff" and describe(own) == "test_late.HalfOff (the course's own plugin)"


@pytest.mark.parametrize("lines, words", [
    ('c.AssignLatePenalties.plugin_class = "no.such.Plugin"\n', "cannot be used"),
    ('c.AssignLatePenalties.plugin_class = "autograder.late.LatePenalty"\n'
     "c.LatePenalty.max_penalty = 2\n", "between 0 and 1"),
    ('c.AssignLatePenalties.plugin_class = "autograder.late.LatePenalty"\n'
     'c.LatePenalty.penalty_method = "weekly"\n', "penalty_method"),
])
def test_a_policy_that_cannot_be_made_is_a_usage_error(tmp_path, lines, words):
    with pytest.raises(UsageError, match=words):
        configured_plugin(course_with(tmp_path, lines))


def test_the_deadline_key_changes_with_the_due_date_and_the_policy():
    a = plugin(penalty_method="per_day", penalty_per_period=0.1)
    b = plugin(penalty_method="per_day", penalty_per_period=0.2)
    due = {"": datetime(2030, 1, 1), "ext": datetime(2030, 1, 3)}
    assert deadline_key(a, due, "anyone") == deadline_key(a, due, "other")  # the lab's due date
    assert deadline_key(a, due, "ext") != deadline_key(a, due, "anyone")  # an extension
    assert deadline_key(a, due, "anyone") != deadline_key(b, due, "anyone")  # another policy
    assert deadline_key(a, {"": None}, "x") != deadline_key(a, due, "x")
    assert policy_key(a) != policy_key(b)


def test_the_plugin_reads_its_settings_from_nbgraders_config():
    cfg = Config()
    cfg.LatePenalty.penalty_method = "per_day"
    cfg.LatePenalty.penalty_per_period = 0.25
    assert LatePenalty(config=cfg).late_submission_penalty("s", 4.0, HOUR) == pytest.approx(1.0)
