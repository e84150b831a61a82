"""nbgrader configuration of the course "Popular DNN Models" (nbgrader 0.9).

This folder (``labs/``) is the course root wherever nbgrader runs: sources with solutions and
hidden tests in ``source/<lab>/<lab>.ipynb``, student versions generated into
``release/<lab>/<lab>.ipynb`` (gitignored; the book includes them). See ``labs/README.md``.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "popular-dnn-models"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"

# The labs: lab1_counting, lab2_receptive_fields, lab3_bottlenecks, lab4_efficient_convs,
# lab5_macs_not_latency, lab6_nas (nbgrader finds them in source/).

# A cell may import torch and count a model: generous per cell, and the whole lab stays
# under a minute (checked by `python -m autograder check`).
c.ExecutePreprocessor.timeout = 120
