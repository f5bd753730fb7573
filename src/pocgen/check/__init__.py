"""`pocgen check`: how far a project is along the path, graded against a rubric.

`run` grades and reports (a table, or JSON in `schemas/check.schema.json`); `items` holds the
built-in checks, each reading the project's files; `probes` runs parts of the project (its tests,
notebooks and apps) on a scratch copy with the project's own interpreter; `rubric` reads the
built-in `rubrics/` and a course's own; `course` reads course packs (a pinned template, locked
answers and a rubric), which `pocgen new --course` uses too.
"""

from pocgen.check.grading import Grading, select_grading
from pocgen.check.run import report_table, run_check

__all__ = ["Grading", "report_table", "run_check", "select_grading"]
