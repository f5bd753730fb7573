"""`pocgen deploy` in order: build, show the plan, upload, wait, and record where the demo lives.

The CLI command calls `deploy()` and nothing else. huggingface_hub is imported only when something
is uploaded, so `--dry-run` and `pocgen --help` never pay for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pocgen.deploy.build import SpaceBuild, build_space
from pocgen.deploy.frontmatter import render
from pocgen.project import load_project

DEPLOY_REPORT = Path("reports/deploy.json")


@dataclass
class DeployOptions:
    """The flags of `pocgen deploy`, passed through unchanged."""

    space: str | None = None
    ui: str | None = None
    private: bool = False
    hardware: str | None = None
    endpoint: str | None = None
    dry_run: bool = False
    wait: bool = False


def show_plan(build: SpaceBuild, console: Console) -> None:
    """The files with their sizes, then the README front matter, as the Space will get them."""
    table = Table(title=f"{build.folder} ({build.ui}, sdk: {build.sdk})")
    table.add_column("file", overflow="fold")
    table.add_column("bytes", justify="right")
    table.add_column("from", overflow="fold")
    sizes = build.sizes()
    for name, size in sizes.items():
        table.add_row(name, f"{size:,}", build.origins[name])
    table.add_row("[bold]total", f"[bold]{sum(sizes.values()):,}", "")
    console.print(table)
    console.print(render(build.front_matter, "").rstrip(), markup=False, highlight=False)


def record(project: Path, space_id: str, url: str, sdk: str) -> Path:
    """Write reports/deploy.json: the writeup and `pocgen check` read the Space's URL from it."""
    path = project / DEPLOY_REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "space_id": space_id,
        "url": url,
        "sdk": sdk,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def deploy(project: Path, options: DeployOptions, console: Console) -> dict[str, str] | None:
    """Build the Space folder and, unless it is a dry run, upload it; returns the deploy record."""
    answers = load_project(project).answers
    with console.status("Building the Space folder..."):
        build = build_space(project, answers, options.ui)
    show_plan(build, console)
    if options.dry_run:
        console.print("Dry run: nothing was uploaded.")
        return None

    from pocgen.deploy import upload  # huggingface_hub is slow to import; only pay when needed

    endpoint = upload.endpoint_url(options.endpoint)
    upload.check_hardware(options.hardware, build.sdk)
    api = upload.connect(endpoint)
    space_id = options.space or "the Space"
    with upload.hub_errors(endpoint, space_id):
        space_id = upload.resolve_space_id(api, options.space, answers)
    with upload.hub_errors(endpoint, space_id), console.status(f"Uploading to {space_id}..."):
        url = upload.upload(
            api, space_id, str(build.folder), build.sdk, options.private, options.hardware
        )
    report = record(project, space_id, url, build.sdk)
    console.print(f"Deployed {space_id}: {url} (recorded in {report.relative_to(project)})")
    if options.wait:
        with upload.hub_errors(endpoint, space_id):
            upload.wait_until_running(api, space_id, console)
        console.print(f"The Space is running: {url}")
    return json.loads(report.read_text(encoding="utf-8"))
