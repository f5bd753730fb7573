"""What a `pocgen check` grades with, and what it may run.

A `Grading` is fixed before any project is looked at: the rubric, the answers a course locked,
the course's exercises, whether student code may run at all (`--static`), and whether commands
of a rubric fetched from the network are trusted. Its `digest` goes into every report, so two
reports can be compared only when they were graded the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from pocgen.check.exercises import Exercise, contribution_as_handed_out
from pocgen.check.items import Context
from pocgen.check.rubric import Rubric, RubricItem, load_rubric
from pocgen.errors import PocgenError
from pocgen.project import Project

# Built-in checks that run the project's own code: its tests, notebooks and demo apps. Rubric
# commands and exercises run it too. `--static` grades everything else and runs none of these.
RUNS_PROJECT_CODE = frozenset({"tests_pass", "notebooks_execute", "app_starts"})


def runs_project_code(item: RubricItem) -> bool:
    return bool(item.command or item.exercise or item.check in RUNS_PROJECT_CODE)


@dataclass(frozen=True)
class Grading:
    rubric: Rubric
    locked: dict[str, Any] = field(default_factory=dict)
    exercises: tuple[Exercise, ...] = ()
    static: bool = False  # grade without running anything of the project's
    trust: bool = False  # allow the commands of a rubric fetched from the network

    def exercise(self, exercise_id: str) -> Exercise:
        return next(exercise for exercise in self.exercises if exercise.id == exercise_id)

    def items_for(self, task: object) -> list[RubricItem]:
        """The rubric's items for a project of `task`: exercises of other tasks are left out."""
        return [
            item
            for item in self.rubric.items
            if not item.exercise or self.exercise(item.exercise).applies_to(task)
        ]

    def digest(self) -> str:
        """sha256 of everything that decides a grade: items, locked answers, hidden tests."""
        content = {
            "items": [asdict(item) for item in self.rubric.items],
            "locked": self.locked,
            "exercises": [exercise.digest() for exercise in self.exercises],
            "static": self.static,
        }
        canonical = json.dumps(content, sort_keys=True, default=str).encode()
        return hashlib.sha256(canonical).hexdigest()

    def context(self, project: Project) -> Context:
        """What the checks read `project` through: the answers the course locked, and its
        contribution measured against the project as handed out (the stubs are pocgen's doing:
        only what the student wrote in their place counts)."""
        run_code = not self.static
        if not self.exercises:
            return Context(project, self.locked, run_code=run_code)
        measure = partial(contribution_as_handed_out, exercises=self.exercises)
        return Context(project, self.locked, measure, run_code=run_code)

    def check_trust(self) -> None:
        """A rubric from the network runs its commands only with --trust."""
        commands = [item.id for item in self.rubric.items if item.command]
        if self.rubric.remote and commands and not self.trust and not self.static:
            raise PocgenError(
                f"rubric {self.rubric.source} came from the network and runs commands "
                f"({', '.join(commands)}); read them, then rerun with --trust to allow them "
                "(or grade with --static, which runs none)."
            )


def select_grading(
    rubric: str | None, course: str | None, static: bool = False, trust: bool = False
) -> Grading:
    """The grading a command line asks for: a rubric, or a course pack's rubric and exercises."""
    if rubric and course:
        raise PocgenError("give --rubric or --course, not both: a course pack brings its rubric.")
    if course:
        from pocgen.check.course import load_pack

        pack = load_pack(course)
        return Grading(pack.grading_rubric(), pack.locked_answers, pack.exercises, static, trust)
    return Grading(load_rubric(rubric), static=static, trust=trust)
