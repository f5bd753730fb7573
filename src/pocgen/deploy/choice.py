"""Which demo to deploy: the one asked for, else the one the account can run.

The Hub lets everyone create static Spaces, but new Gradio and Docker Spaces need a paid plan
(PRO, or a paid organisation). So without `--ui`, pocgen asks whoami: a free namespace gets the
web demo (the ONNX model running in the visitor's browser, as a static Space that never sleeps),
a paid one gets the project's Gradio or Streamlit app. The reason is printed in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pocgen.errors import PocgenError

PYTHON_UIS = ("gradio", "streamlit")
UIS = ("web", *PYTHON_UIS)
# The Space SDK each demo runs on; Streamlit has no SDK of its own any more, so it runs in Docker.
SDK_OF_UI = {"web": "static", "gradio": "gradio", "streamlit": "docker"}


@dataclass(frozen=True)
class UiChoice:
    """The demo to deploy and, in one sentence, why."""

    ui: str
    reason: str

    @property
    def sdk(self) -> str:
        return SDK_OF_UI[self.ui]


def python_apps(answers: dict[str, Any]) -> list[str]:
    """The project's Python demo apps, from its `ui` answer (gradio, streamlit or both)."""
    return [name for name in PYTHON_UIS if answers.get("ui") in (name, "both")]


def owner(me: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The whoami entry of `namespace`: the user, or one of their organisations."""
    orgs = {org.get("name"): org for org in me.get("orgs", [])}
    return me if namespace == me.get("name") else orgs.get(namespace, {})


def is_paid(entry: dict[str, Any]) -> bool:
    """A PRO user, or an account or organisation with billing (whoami's isPro, canPay)."""
    return bool(entry.get("isPro") or entry.get("canPay") or entry.get("isEnterprise"))


def _requested(answers: dict[str, Any], ui: str, hardware: str | None) -> UiChoice:
    if ui not in UIS:
        raise PocgenError(f"--ui {ui} is not a demo pocgen deploys; use one of {', '.join(UIS)}.")
    apps = python_apps(answers)
    if ui == "web":
        if hardware:
            raise PocgenError(
                f"--ui web deploys a static Space, which runs in the visitor's browser and takes "
                f"no --hardware; drop --hardware {hardware}, or deploy --ui {apps[0]}."
            )
        return UiChoice("web", "--ui web: the model runs in the visitor's browser")
    if ui not in apps:
        raise PocgenError(
            f"--ui {ui}: this project has no {ui} app (its ui answer is '{answers.get('ui')}'); "
            f"use --ui {apps[0]} or --ui web."
        )
    return UiChoice(ui, f"--ui {ui}")


def choose(
    answers: dict[str, Any],
    ui: str | None,
    hardware: str | None,
    me: dict[str, Any] | None,
    namespace: str | None,
    unasked: str = "no token",
) -> UiChoice:
    """`--ui` if given; else what the Space's namespace can run (`me` is whoami's answer, None
    when a dry run could not ask the Hub, for the reason `unasked`)."""
    if ui is not None:
        return _requested(answers, ui, hardware)
    app = python_apps(answers)[0]
    if hardware:
        return UiChoice(app, f"--hardware {hardware} runs a Python app, not a static page")
    if me is None or namespace is None:
        return UiChoice(
            "web",
            f"the account's plan is unknown ({unasked}): a free account gets the web demo as a "
            f"static Space, a PRO account or paid organisation would get the {app} app; pass "
            "--ui to choose",
        )
    if is_paid(owner(me, namespace)):
        return UiChoice(
            app, f"{namespace} has a paid plan, which runs the {app} app (--ui web for a page)"
        )
    reason = (
        f"{namespace} is on the free plan, which cannot create Gradio or Docker Spaces: the web "
        "demo goes up as a free static Space"
    )
    if app == "gradio":
        reason += " (--ui gradio --hardware zero-a10g for the Gradio app on ZeroGPU)"
    return UiChoice("web", reason)
