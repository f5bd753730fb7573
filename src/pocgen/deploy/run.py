"""`pocgen deploy` in order: ask who the token is, choose the demo, build, show the plan, upload,
wait, and record where the demo lives.

The CLI command calls `deploy()` and nothing else. huggingface_hub is imported only when the Hub
is asked, so `pocgen --help` and a dry run with `--ui` never pay for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pocgen.deploy.build import SpaceBuild, build_space
from pocgen.deploy.choice import choose
from pocgen.deploy.frontmatter import render
from pocgen.deploy.secrets import ALLOWLIST_FILE
from pocgen.errors import PocgenError, shown
from pocgen.files import write_all
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


def show_plan(build: SpaceBuild, console: Console, private: bool = False) -> None:
    """The files with their sizes, which of the user's files become public, what the secret
    scan's allow-list let through, then the README front matter, as the Space will get them."""
    table = Table(title=f"{shown(build.folder)} ({build.ui}, sdk: {build.sdk})")
    table.add_column("file", overflow="fold")
    table.add_column("bytes", justify="right")
    table.add_column("from", overflow="fold")
    sizes = build.sizes()
    for name, size in sizes.items():
        origin = build.origins[name] + (" (metadata removed)" if name in build.cleaned else "")
        table.add_row(shown(name), f"{size:,}", shown(origin))
    table.add_row("[bold]total", f"[bold]{sum(sizes.values()):,}", "")
    console.print(table)
    public = build.public_files()
    who = "visible to whoever you share the private Space with" if private else "public"
    console.print(
        f"These {len(public)} files of your project become {who} with the Space: "
        + ", ".join(public),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for finding, line in build.allowed:
        console.print(
            f"Allowed by {ALLOWLIST_FILE} line {line}: {finding}", markup=False, highlight=False
        )
    console.print(render(build.front_matter, "").rstrip(), markup=False, highlight=False)


def record(project: Path, space_id: str, url: str, build: SpaceBuild) -> Path:
    """Write reports/deploy.json: the writeup and `pocgen check` read the Space's URL from it."""
    path = project / DEPLOY_REPORT
    report = {
        "space_id": space_id,
        "url": url,
        "sdk": build.sdk,
        "ui": build.ui,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_all({path: json.dumps(report, indent=2) + "\n"})
    return path


@dataclass
class HubSession:
    """The Hub as asked before building: the client, who the token is, and the target Space."""

    api: Any  # huggingface_hub.HfApi, imported lazily
    endpoint: str
    me: dict[str, Any]
    space_id: str

    @property
    def namespace(self) -> str:
        return self.space_id.partition("/")[0]


def ask_hub(answers: dict[str, Any], options: DeployOptions) -> HubSession | str:
    """whoami, the read-only check and the Space's name; nothing is created here. A dry run
    may go without: it returns why the Hub was not asked (--ui given, no token, or the Hub
    answered with an error, which a real deploy reports as its one-line error)."""
    if options.dry_run and (options.ui is not None or options.hardware is not None):
        return "not needed"
    from pocgen.deploy import upload  # huggingface_hub is slow to import; only pay when needed

    endpoint = upload.endpoint_url(options.endpoint)
    api = upload.connect(endpoint, required=not options.dry_run)
    if api is None:
        return "no token"
    try:
        with upload.hub_errors(endpoint, options.space or "the Space"):
            me = upload.account(api)
        space_id = upload.resolve_space_id(me, options.space, answers)
    except PocgenError as error:
        if not options.dry_run:
            raise
        return f"dry run: {str(error).rstrip('.')}"
    return HubSession(api, endpoint, me, space_id)


def deploy(project: Path, options: DeployOptions, console: Console) -> dict[str, str] | None:
    """Choose the demo, build the Space folder and, unless it is a dry run, upload it; returns
    the deploy record. Nothing is created on the Hub before the build has passed its checks."""
    project = project.absolute()  # the web build runs in the project: relative paths break
    answers = dict(load_project(project).answers)
    hub = ask_hub(answers, options)
    if isinstance(hub, HubSession):
        choice = choose(answers, options.ui, options.hardware, hub.me, hub.namespace)
    else:
        choice = choose(answers, options.ui, options.hardware, None, None, unasked=hub)
    console.print(
        f"Demo: {choice.ui} ({choice.reason}).", markup=False, highlight=False, soft_wrap=True
    )
    with console.status("Building the Space folder..."):
        build = build_space(project, answers, choice)
    show_plan(build, console, options.private)
    if options.dry_run:
        console.print("Dry run: nothing was uploaded.")
        return None
    assert isinstance(hub, HubSession)  # outside a dry run, ask_hub asks or refuses
    return upload_build(project, options, console, build, hub)


def upload_build(
    project: Path, options: DeployOptions, console: Console, build: SpaceBuild, hub: HubSession
) -> dict[str, str]:
    """Create or update the Space from the checked build, record it and optionally wait."""
    from pocgen.deploy import upload

    upload.check_hardware(options.hardware, build.sdk)
    space_id = hub.space_id
    with upload.hub_errors(hub.endpoint, space_id), console.status(f"Uploading to {space_id}..."):
        url = upload.upload(
            hub.api, space_id, str(build.folder), build.sdk, options.private, options.hardware
        )
    report = record(project, space_id, url, build)
    console.print(
        f"Deployed {shown(space_id)}: {shown(url)} (recorded in {report.relative_to(project)})"
    )
    if options.wait:
        with upload.hub_errors(hub.endpoint, space_id):
            upload.wait_until_running(hub.api, space_id, console)
        console.print(f"The Space is running: {shown(url)}")
    return json.loads(report.read_text(encoding="utf-8"))
