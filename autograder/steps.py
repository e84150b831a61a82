"""nbgrader's own autograde steps, as the course configures them, split around execution.

nbgrader's ``Autograde`` runs ``Autograde.sanitize_preprocessors`` on a submission, then
``Autograde.autograde_preprocessors`` (``Execute`` first, by default). This grader builds both
lists from the same configuration nbgrader would load (``labs/nbgrader_config.py`` and the
course's ``nbgrader_config.py``) and runs every step in the coordinating process, in the
configured order, except ``Execute``: that one step runs in the sandbox instead (a warm IPython
shell per notebook), honouring ``ExecutePreprocessor.timeout`` per cell as nbgrader's ``Execute``
does (the cell is interrupted and gets a ``CellTimeoutError``; the next cells run).

What it cannot honour is refused with a clear error instead of being silently ignored: a
preprocessor that runs a kernel itself, a list without exactly one ``Execute``, and any other
setting of ``Execute`` / ``ExecutePreprocessor`` (they configure a kernel this grader does not
start).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .course import Course, UsageError

EXECUTE_SECTIONS = ("Execute", "ExecutePreprocessor", "NotebookClient")
EXECUTE_SETTINGS_HONOURED = {"timeout", "error_on_timeout"}


@dataclass
class Steps:
    sanitize: list = field(default_factory=list)  # preprocessors of the submission as handed in
    before: list = field(default_factory=list)  # autograde preprocessors configured before Execute
    after: list = field(default_factory=list)  # autograde preprocessors configured after Execute
    cell_timeout: float | None = None  # ExecutePreprocessor.timeout, seconds per cell (None: no limit)
    timeout_error: dict = field(default_factory=dict)  # the error output of a cell past its timeout
    exclude_overwriting: dict = field(default_factory=dict)  # Autograde.exclude_overwriting
    create_student: bool = True  # Autograde.create_student


def _instance(item, config):
    """A configured list entry (class, instance or import string) as a preprocessor instance."""
    from traitlets.utils.importstring import import_item

    if isinstance(item, str):
        try:
            item = import_item(item)
        except Exception as exc:  # noqa: BLE001 - a typo in the course's configuration
            raise UsageError(f"nbgrader configuration names a preprocessor that cannot be imported: "
                             f"{item!r} ({exc})") from exc
    if isinstance(item, type):
        return item(config=config)
    return item


def _name(pp) -> str:
    return f"{type(pp).__module__}.{type(pp).__qualname__}"


def autograde_steps(course: Course) -> Steps:
    """The configured autograde steps. UsageError for anything this grader cannot honour."""
    from nbclient import NotebookClient
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    config = course.config
    for section in EXECUTE_SECTIONS:
        extra = sorted(set(config[section]) - EXECUTE_SETTINGS_HONOURED) if section in config else []
        if extra:
            raise UsageError(
                f"the nbgrader configuration sets {section}.{extra[0]}, which python -m autograder cannot "
                "honour (notebooks run in a warm, sandboxed IPython shell, not a kernel); only "
                f"{section}.timeout applies. Remove the setting, or grade with nbgrader autograde")
    autograde = Autograde(coursedir=course.coursedir, config=config)
    steps = Steps(exclude_overwriting=dict(autograde.exclude_overwriting),
                  create_student=bool(autograde.create_student))
    steps.sanitize = [_instance(item, config) for item in autograde.sanitize_preprocessors]
    pipeline = [_instance(item, config) for item in autograde.autograde_preprocessors]
    for pp in steps.sanitize + pipeline:
        if isinstance(pp, NotebookClient) and type(pp) is not Execute:
            raise UsageError(f"the nbgrader configuration's autograde steps include {_name(pp)}, which "
                             "runs a kernel itself: python -m autograder cannot honour it (its notebooks "
                             "run in its sandbox); remove it, or grade with nbgrader autograde")
    executes = [i for i, pp in enumerate(pipeline) if type(pp) is Execute]
    if len(executes) != 1 or any(type(pp) is Execute for pp in steps.sanitize):
        raise UsageError("the nbgrader configuration's Autograde.autograde_preprocessors must contain "
                         f"nbgrader's Execute exactly once (it has it {len(executes)} times), and "
                         "Autograde.sanitize_preprocessors never")
    execute = pipeline[executes[0]]
    steps.before, steps.after = pipeline[: executes[0]], pipeline[executes[0] + 1:]
    timeout = execute.timeout
    steps.cell_timeout = float(timeout) if timeout is not None and timeout > 0 else None
    steps.timeout_error = dict(execute.error_on_timeout or {})
    return steps
