"""pocgen's command line. Each command is a few lines: parse, call one library function, print.

Heavy libraries (copier, cookiecutter, huggingface_hub) are imported inside the commands that use
them, so `pocgen --help` starts fast.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
import typer.core
from rich.console import Console

from pocgen import __version__
from pocgen.errors import Interrupted, PocgenError, printable, shown


def _examples(*commands: str) -> str:
    """A help epilog listing example commands, one a line (a Markdown code block keeps typer from
    joining them)."""
    return "**Examples**\n\n```\n" + "\n".join(commands) + "\n```"


def _flag_without_type(option: typer.core.TyperOption, ctx: click.Context) -> str | None:
    """A flag takes no value, so its help shows none (typer would print `<bool>`, which reads
    as if `--defaults true` were the way to use it)."""
    return None if option.is_flag else _display_type_rich(option, ctx)


_display_type_rich = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_without_type  # type: ignore[method-assign]

app = typer.Typer(
    name="pocgen",
    help="Do the job before you have it: generate, run, deploy and write up an ML proof of "
    "concept.",
    epilog=_examples(
        "pocgen new my-poc --defaults",
        "cd my-poc && make pipeline",
        "pocgen deploy --dry-run",
        "pocgen writeup",
        "pocgen check",
        "pocgen update",
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="markdown",
)
console = Console()
err_console = Console(stderr=True)

ProjectArg = Annotated[Path, typer.Argument(help="The project folder.", show_default=True)]


def main() -> None:
    """Console-script entry point: run the app and turn `PocgenError` into one line, exit 1."""
    try:
        app(prog_name="pocgen")
    except Interrupted as interrupted:
        err_console.print(shown(interrupted), highlight=False, soft_wrap=True)
        sys.exit(interrupted.exit_code)
    except PocgenError as error:
        err_console.print(f"[bold red]error:[/] {shown(error)}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)


def _show_version(value: bool) -> None:
    if value:
        console.print(f"pocgen {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show pocgen's version."
        ),
    ] = False,
) -> None:
    """pocgen's own options (the app's `help` above is what `pocgen --help` shows)."""


def _render_options(defaults: bool, trust: bool, pretend: bool, ref: str | None):
    from pocgen.templating import RenderOptions

    return RenderOptions(defaults=defaults, trust=trust, pretend=pretend, ref=ref)


@app.command(
    epilog=_examples(
        "pocgen new my-poc",
        "pocgen new my-poc --defaults --data task=text-classification",
        "pocgen new my-poc --data-file answers.yml --defaults",
        "pocgen new my-poc --template gh:org/course-template --vcs-ref v2 --trust",
    )
)
def new(
    dest: Annotated[Path, typer.Argument(help="Folder to create the project in.")],
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Built-in or registered name, local folder, or git URL (gh:owner/repo). "
            "Default: the built-in 'poc'.",
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option("--vcs-ref", "-r", help="Git tag, branch or commit of the template."),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Ask nothing; use defaults.")
    ] = False,
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="Answer a question: KEY=VALUE.")
    ] = None,
    data_file: Annotated[
        Path | None, typer.Option("--data-file", help="YAML or JSON file of answers.")
    ] = None,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow the template to run code (tasks, hooks).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty DEST, overwriting files.")
    ] = False,
    pretend: Annotated[
        bool, typer.Option("--pretend", help="Show what would be written; write nothing.")
    ] = False,
    course: Annotated[
        str | None,
        typer.Option("--course", help="Course pack (file, URL or name): its template and answers."),
    ] = None,
    git: Annotated[
        bool,
        typer.Option(
            "--git/--no-git",
            help="Start a git repository with a first commit (not inside another repository).",
        ),
    ] = True,
) -> None:
    """Create a project from a template (the built-in 'poc' unless --template says otherwise)."""
    from pocgen.templating import answers, create_project

    finish = None
    try:
        given = answers.collect(data or [], data_file)
        if course:
            from pocgen.check.course import course_request

            template, vcs_ref, given, finish = course_request(course, template, vcs_ref, given)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: nothing was written to {dest}.") from None
    options = _render_options(defaults, trust, pretend, vcs_ref)
    created = create_project(
        dest, template, data=given, options=options, force=force, finish=finish, git=git
    )
    for warning in created.warnings:
        err_console.print(f"[yellow]warning:[/] {shown(warning)}", highlight=False)
    if created.pretend:
        if created.files:
            console.print(f"Would create {len(created.files)} files in {shown(dest)}:")
            for name in created.files:
                console.print(f"  {printable(name)}", markup=False, highlight=False)
        return
    console.print(f"[green]Created[/] {shown(dest)} ({created.engine} template).")
    if created.repository:
        console.print(printable(created.repository), markup=False, highlight=False)
    console.print("Next steps:")
    console.print(f"  cd {printable(shlex.quote(str(dest)))}", markup=False, highlight=False)
    for command in created.next_steps:
        console.print(f"  {printable(command)}", markup=False, highlight=False)
    if course:
        from pocgen.check.course import exercises_to_write

        functions = exercises_to_write(course, dest)
        if functions:
            console.print("Your course asks you to write these functions (now stubs with a hint):")
            for function in functions:
                console.print(f"  {printable(function)}", markup=False, highlight=False)


@app.command(
    epilog=_examples(
        "pocgen update",
        "pocgen update my-poc --vcs-ref v2",
        "pocgen update my-poc --data ui=both",
    )
)
def update(
    project: ProjectArg = Path("."),
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", "-r", help="Template version to update to.")
    ] = None,
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="Change an answer: KEY=VALUE.")
    ] = None,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow the template to run code (tasks, hooks).")
    ] = False,
) -> None:
    """Bring template changes into a project; your edits are merged, never dropped."""
    from pocgen.templating import answers, update_project

    options = _render_options(True, trust, False, vcs_ref)
    try:
        updated = update_project(project, data=answers.parse_pairs(data or []), options=options)
    except KeyboardInterrupt:  # the merge happens in a scratch copy; the project is untouched
        raise Interrupted(f"interrupted: {project} is unchanged.") from None
    if updated.resumed:
        console.print(
            "Finished an update that was interrupted while moving files into place; review "
            "it with `git diff`."
        )
        return
    if not updated.changed:
        console.print("Already up to date.")
        return
    count = len(updated.changed)
    console.print(f"Updated {count} file{'s' if count != 1 else ''}; review with `git diff`.")
    if updated.conflicts:
        err_console.print(
            "Conflicts left (your edit and the template's touch the same lines; both are kept "
            "between <<<<<<< and >>>>>>> markers; resolve them, then commit): "
            + shown(", ".join(updated.conflicts)),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command(epilog=_examples("pocgen templates", "pocgen templates --course my-course.yaml"))
def templates(
    course: Annotated[
        str | None, typer.Option("--course", help="Show the template of this course pack.")
    ] = None,
) -> None:
    """List the templates pocgen knows: built-ins, those installed packages register, and the
    templates of installed course packs."""
    from rich.table import Table

    from pocgen.check.course import course_templates
    from pocgen.templating import list_templates

    table = Table("name", "description", "engine", "source")
    entries = course_templates(course) if course else list_templates() + course_templates()
    for entry in entries:
        source = "built-in" if entry.builtin else entry.source
        table.add_row(*map(shown, (entry.name, entry.description, entry.engine, source)))
    console.print(table)


@app.command(epilog=_examples("pocgen deploy --dry-run", "pocgen deploy --space you/my-poc"))
def deploy(
    project: ProjectArg = Path("."),
    space: Annotated[
        str | None, typer.Option(help="USER/NAME (default: the project's hf_username/space_name).")
    ] = None,
    ui: Annotated[
        str | None,
        typer.Option(
            help="web (the model in the visitor's browser, a free static Space), gradio or "
            "streamlit. Default: what the account can run (whoami: free -> web, paid -> the app)."
        ),
    ] = None,
    private: Annotated[bool, typer.Option(help="Create the Space as private.")] = False,
    hardware: Annotated[
        str | None, typer.Option(help="Space hardware flavour, e.g. zero-a10g (Gradio only).")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="Hub URL (default: HF_ENDPOINT, else huggingface.co).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Build dist/space/ and print the plan; upload nothing.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Wait until the Space runs.")] = False,
) -> None:
    """Build the demo's Space folder and upload it to Hugging Face Spaces.

    Size caps: the model 100 MiB for --ui web, 500 MiB for gradio or streamlit; each example
    5 MiB; any other file 5 MiB (the web runtime's .wasm 32 MiB). Images go up without their
    metadata. Every file is scanned for secrets first; mark a false positive with a
    `pragma: allowlist secret` comment on its line, or a line `FILE: PATTERN` (the file and a
    regular expression matching the flagged line) in the project's .secrets-allowlist.
    """
    from pocgen.deploy.run import DeployOptions
    from pocgen.deploy.run import deploy as deploy_project

    options = DeployOptions(space, ui, private, hardware, endpoint, dry_run, wait)
    deploy_project(project, options, console)


@app.command(epilog=_examples("pocgen writeup", "pocgen writeup --check"))
def writeup(
    project: ProjectArg = Path("."),
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 when README.md is stale (for CI)."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace text edited by hand (a backup is kept).")
    ] = False,
) -> None:
    """Fill the README's writeup sections from the project's results, plus resume bullets, a model
    card and a blog-post draft in reports/."""
    from pocgen.writeup import plan_writeup, run_writeup, stale_message, summary

    if check:
        problem = stale_message(plan_writeup(project))
        if problem:
            raise PocgenError(problem)
        console.print("README.md is up to date with the project's artifacts.")
        return
    try:
        result = run_writeup(project, force=force)
    except KeyboardInterrupt:  # write_all put back what it had moved and removed what it staged
        err_console.print("interrupted: the writeup wrote all its files or none.", highlight=False)
        raise typer.Exit(130) from None
    for line in summary(result):
        console.print(line, markup=False, highlight=False)


@app.command(
    epilog=_examples(
        "pocgen check",
        "pocgen check my-poc --course pack.yaml --json",
        "pocgen check --course pack.yaml students/* --json > grades.json",
        "pocgen check --course pack.yaml students/* --static",
    )
)
def check(
    projects: Annotated[
        list[Path] | None,
        typer.Argument(
            help="The project folder, or several: graded in parallel, with a cohort report.",
            show_default=".",
        ),
    ] = None,
    rubric: Annotated[
        str | None,
        typer.Option("--rubric", help="Rubric YAML file or built-in name (path, ml-course)."),
    ] = None,
    course: Annotated[
        str | None,
        typer.Option("--course", help="Grade with a course pack's rubric: file, URL or name."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for autograders (see docs/check.md).")
    ] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow commands from a rubric fetched by URL.")
    ] = False,
    static: Annotated[
        bool,
        typer.Option(
            "--static",
            help="Run none of the project's code (tests, notebooks, apps, commands, exercises): "
            "grade the rest. See docs/check.md for what runs without it.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Projects graded at once (default: one per core)."),
    ] = None,
    similarity: Annotated[
        float,
        typer.Option("--similarity", min=0.0, max=1.0, help="Flag two projects sharing this much."),
    ] = 0.5,
) -> None:
    """Show where a project stands: each rubric item passes, fails or warns, with evidence."""
    import json

    from pocgen.check import report_table, run_check, select_grading

    grading = select_grading(rubric, course, static=static, trust=trust)
    folders = projects or [Path(".")]
    if len(folders) > 1:
        from pocgen.check.batch import batch_table, grade_many

        batch = grade_many(folders, grading, workers, similarity)
        if as_json:
            typer.echo(json.dumps(batch.to_json(), indent=2))
        else:
            console.print(batch_table(batch))
        passed = batch.passed
    else:
        report = run_check(folders[0], grading)
        if as_json:
            typer.echo(json.dumps(report.to_json(), indent=2))
        else:
            console.print(report_table(report))
        passed = report.passed
    if not passed:
        raise typer.Exit(1)


gpu_app = typer.Typer(
    help="Train on a GPU elsewhere (Hugging Face Jobs, Kaggle or Colab) and bring models/ and "
    "reports/ back.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(gpu_app, name="gpu")


@gpu_app.command(
    "run",
    epilog=_examples(
        "pocgen gpu run",
        "pocgen gpu run --flavor a10g-small --timeout 2h --detach",
        "pocgen gpu run --engine kaggle",
        "pocgen gpu run --engine colab",
    ),
)
def gpu_run(
    project: ProjectArg = Path("."),
    engine: Annotated[
        str,
        typer.Option(
            help="hf (Hugging Face Jobs: needs credits, t4-small is $0.40/h, billed per minute), "
            "kaggle (free weekly GPU hours; pip install 'pocgen[kaggle]') or colab (uploads the "
            "data, then you run notebooks/train-on-colab.ipynb on Colab's free GPU)."
        ),
    ] = "hf",
    flavor: Annotated[
        str | None,
        typer.Option(help="Hardware: a Jobs flavor (default t4-small) or a Kaggle machine shape."),
    ] = None,
    timeout: Annotated[
        str, typer.Option(help="Stop the job after this long (90m, 2h, or seconds).")
    ] = "1h",
    namespace: Annotated[
        str | None,
        typer.Option(help="Hub user or organisation that runs the job and owns its repos."),
    ] = None,
    detach: Annotated[
        bool,
        typer.Option("--detach", help="Return once the job is started; `pocgen gpu pull` later."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Run a text project anyway, or start over a run not yet pulled."
        ),
    ] = False,
    endpoint: Annotated[
        str | None, typer.Option(help="Hub URL (default: HF_ENDPOINT, else huggingface.co).")
    ] = None,
    image: Annotated[
        str | None, typer.Option(help="Docker image for Hugging Face Jobs (CUDA PyTorch).")
    ] = None,
) -> None:
    """Train, export and evaluate the project on a GPU, then bring models/ and reports/ back.

    Uploads what git tracks plus data/ (never models/, .venv, .env or .git) to a private dataset
    on the chosen engine; the job runs the project's own stages and returns its results to a
    private model repo (Kaggle: the notebook's output). The job is recorded in .pocgen/gpu.json.
    """
    from pocgen.gpu.engine import RunOptions
    from pocgen.gpu.run import run_on_gpu

    options = RunOptions(engine, flavor, timeout, namespace, detach, force, endpoint, image)
    try:
        run_on_gpu(project, options, console)
    except KeyboardInterrupt:
        err_console.print(
            "Stopped following; the job keeps running (and billing) until it ends: "
            "`pocgen gpu status`, `pocgen gpu pull` or `pocgen gpu cancel`.",
            highlight=False,
        )
        raise typer.Exit(130) from None


@gpu_app.command("pull", epilog=_examples("pocgen gpu pull", "pocgen gpu pull --force"))
def gpu_pull(
    project: ProjectArg = Path("."),
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace local results even if they changed after the job started."
        ),
    ] = False,
) -> None:
    """Bring the recorded GPU run's models/ and reports/ back (waits while it still runs)."""
    from pocgen.gpu.run import pull

    pull(project, force, console)


@gpu_app.command("status", epilog=_examples("pocgen gpu status"))
def gpu_status(project: ProjectArg = Path(".")) -> None:
    """Show where the recorded GPU run stands and what to do next."""
    from pocgen.gpu.run import status

    status(project, console)


@gpu_app.command("cancel", epilog=_examples("pocgen gpu cancel"))
def gpu_cancel(project: ProjectArg = Path(".")) -> None:
    """Stop the recorded GPU job (Hugging Face Jobs bill until a job ends)."""
    from pocgen.gpu.run import cancel

    cancel(project, console)
