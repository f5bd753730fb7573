"""Templating: `pocgen new`, `pocgen update` and `pocgen templates`.

A render reads like cookiecutter's pipeline: `sources` finds the template (built-in name, entry
point, folder, git URL) and its engine, `answers` reads --data and --data-file, `new` renders
through one of `engines/` (Copier or Cookiecutter) into a `staging` folder and moves it into place.
`update` merges template changes in a scratch copy (`merge` for Cookiecutter), `snapshots` keeps
the built-in template's versions, `registry` lists the templates pocgen knows.
"""

from pocgen.templating.engines import RenderOptions
from pocgen.templating.new import create_project
from pocgen.templating.registry import list_templates
from pocgen.templating.update import update_project

__all__ = ["RenderOptions", "create_project", "list_templates", "update_project"]
