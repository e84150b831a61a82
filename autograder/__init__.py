"""The instructors' autograder: isolated, parallel, resumable grading of a class, on nbgrader 0.9.

Commands (``python -m autograder --help``): ``release``, ``grade``, ``feedback``, ``export``,
``check``. The course directory keeps nbgrader's layout and gradebook; see ``autograder/README.md``.
"""

from .course import DEFAULT_COURSE, Course, UsageError

__all__ = ["Course", "DEFAULT_COURSE", "UsageError"]
