"""`pocgen check`: how far a project is along the path, graded against a rubric.

`run` grades and reports (a table, or JSON in `schemas/check.schema.json`); `items` holds the
built-in checks, each reading the project's files; `probes` runs parts of the project (its tests,
notebooks and apps) on a scratch copy with the project's own interpreter; `rubric` reads the
built-in `rubrics/` and a course's own; `course` reads course packs (a pinned template, locked
answers, a rubric and exercises), which `pocgen new --course` uses too; `exercises` stubs a
pack's exercise functions and grades them with its hidden tests; `grading` is what one check
grades with; `batch` grades a class in parallel and `cohort` flags the projects that are copies.
"""

from pocgen.check.grading import Grading, select_grading
from pocgen.check.run import report_table, run_check

__all__ = ["Grading", "report_table", "run_check", "select_grading"]
