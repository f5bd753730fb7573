"""`pocgen writeup` on rendered projects with known artifacts.

The project is the real rendered `poc` template; the report files hold numbers chosen in
known_artifacts.py, so every assertion can name the exact figure that must (or must not) appear.
The writeup runs in process (`run_writeup`, as the CLI calls it) wherever a test is about what it
writes; the CLI itself runs where the test is about what a user sees: one line, the exit code.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import run_pocgen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from known_artifacts import (
    DEPLOY,
    METRICS,
    render,
    write_json,
    write_known_artifacts,
    write_lock,
)

from pocgen.errors import PocgenError
from pocgen.writeup.markers import file_edited, find_regions
from pocgen.writeup.run import plan_writeup, run_writeup, stale_message, summary

SECTIONS = ["problem", "data", "model", "results", "demo", "decisions", "reproduce"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("render") / "defect-spotter")


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    """A fresh copy of the rendered project for each test."""
    return Path(shutil.copytree(rendered, tmp_path / "defect-spotter"))


@pytest.fixture
def finished(project: Path) -> Path:
    write_known_artifacts(project)
    return project


def section(readme: str, name: str) -> str:
    return next(r.body for r in find_regions(readme) if r.name == name)


def outside(text: str) -> list[str]:
    """The text outside every marker pair: what belongs to the user."""
    pieces, position = [], 0
    for region in find_regions(text):
        pieces.append(text[position : region.start])
        position = region.end
    return pieces + [text[position:]]


def backups(root: Path) -> list[Path]:
    folder = root / ".pocgen" / "backups"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_fresh_readme_is_pristine_and_complete(project: Path) -> None:
    """The rendered README carries every section, each signed so writeup may fill it."""
    regions = find_regions((project / "README.md").read_text(encoding="utf-8"))
    assert [r.name for r in regions] == [
        "problem",
        "data",
        "model",
        "results",
        "demo",
        "decisions",
        "contribution",
        "reproduce",
    ]
    assert not any(r.edited for r in regions)


def test_exact_numbers_appear(finished: Path) -> None:
    run_writeup(finished)
    readme = (finished / "README.md").read_text(encoding="utf-8")

    results = section(readme, "results")
    assert "| accuracy (headline) | **0.873** | 0.528 | ≥ 0.9: **not met** |" in results
    assert "| macro-F1 | **0.864** | 0.346 |  |" in results
    assert "| `ok` | 0.901 | 0.842 | 0.871 | 19 |" in results
    assert "On the held-out test split (36 items)" in results
    assert "3.4 ms per item on average, p95 5.8 ms, with onnxruntime" in results
    for figure in ("confusion_matrix", "pr_curve", "examples"):
        assert f"(reports/figures/{figure}.png)" in results
    assert "app_gradio" not in results

    data = section(readme, "data")
    assert "**Data.** 240 images: 240 from a folder of photos;" in data
    assert "| `ok` | 90 | 19 | 19 | 128 |" in data and "| **total** | 168 | 36 | 36 | 240 |" in data
    assert "| exact-duplicate groups | 1 |" in data and "| near-duplicate groups | 2 |" in data
    assert "| `ok` | 0.810 | 40 |" in data
    assert "Agreement over 40 doubly labeled items: Cohen's kappa 0.792." in data
    assert (
        "**Labels.** 240 items labeled in Label Studio by 2 annotators "
        "(`python -m defect_spotter label pull`): jane (200), omar (40)."
    ) in data
    assert "Sample data" not in readme

    model = section(readme, "model")
    assert "| architecture | `small-cnn` |" in model and "| parameters | 91,234 |" in model
    assert "| training time | 5 min 1 s, 12 epochs |" in model
    assert "trained from scratch" in model and "`4f2c9e1`" in model
    assert "Training loss (`train_loss`) went from 0.693 (epoch 1) to 0.217 (epoch 12)" in model

    demo = section(readme, "demo")
    assert f"]({DEPLOY['url']})" in demo and "open-in-hf-spaces" in demo
    assert "![The Gradio demo making a prediction](reports/figures/app_gradio.png)" in demo

    decisions = section(readme, "decisions")
    assert "`small-cnn`: accuracy 0.873 | majority class: 0.528" in decisions
    assert "`defect` is the weakest class (F1 0.857)" in decisions
    assert "seed 42 and code at commit `4f2c9e1`" in section(readme, "reproduce")
    assert "python -m defect_spotter train" in section(readme, "reproduce")
    assert "Catch defective parts before shipping" in section(readme, "problem")

    resume = (finished / "reports" / "resume.md").read_text(encoding="utf-8")
    bullets = [line for line in resume.splitlines() if line.startswith("- ")]
    assert 2 <= len(bullets) <= 3
    assert (
        "Built an image classification model for ok, defect on 240 images from a folder of "
        "photos; accuracy 0.873 against 0.528 for a majority class baseline"
    ) in bullets[0]
    assert DEPLOY["url"] in bullets[1] and "(3.4 ms per image, no PyTorch)" in bullets[1]
    assert bullets[2] == "- " + (
        "Ran labeling in Label Studio: 240 items by 2 annotators (Cohen's kappa 0.792 over 40 "
        "doubly labeled items); checked 240 items for broken files and duplicates (3 duplicate "
        "groups caught)."
    )
    assert "myself" not in resume

    card = (finished / "reports" / "model_card.md").read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---")[1])
    metrics = front["model-index"][0]["results"][0]["metrics"]
    assert {m["type"]: m["value"] for m in metrics} == {"accuracy": 0.8731, "macro_f1": 0.8644}
    assert front["license"] == "mit" and front["pipeline_tag"] == "image-classification"

    assert "## Limitations\n\n**TODO (author):** What this model does not do well" in card

    blog = (finished / "reports" / "blog_post.md").read_text(encoding="utf-8")
    assert "accuracy 0.873, against 0.528" in blog and DEPLOY["url"] in blog
    assert "My success target was accuracy ≥ 0.9: not met yet (0.873)" in blog
    assert "## What I learned\n\n**TODO (author):**" in blog

    contribution = section(readme, "contribution")
    assert "| data collected (`data/manifest.csv`) | 240: 240 from a folder of photos |" in (
        contribution
    )
    assert "| labels made by people (Label Studio, `reports/labels.json`) | 240 items: " in (
        contribution
    )


def test_no_made_up_numbers_without_artifacts(project: Path) -> None:
    """Before any stage ran, each section names the command that produces its artifact."""
    run_writeup(project)
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "run `python -m defect_spotter evaluate`" in section(readme, "results")
    assert "run `python -m defect_spotter train`" in section(readme, "model")
    assert "run `python -m defect_spotter validate`" in section(readme, "data")
    assert "run `pocgen deploy`" in section(readme, "demo")
    for name in ("data", "model", "results", "decisions"):
        assert not re.search(r"\d\.\d", section(readme, name)), name
    resume = (project / "reports" / "resume.md").read_text(encoding="utf-8")
    assert "\n- " not in resume and "python -m defect_spotter evaluate" in resume


def test_second_run_is_a_noop(finished: Path) -> None:
    first = run_writeup(finished)
    assert "README.md" in first.written
    snapshot = {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()}
    second = run_writeup(finished)
    assert "nothing changed: already up to date" in summary(second)
    assert {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()} == snapshot


def test_check_flags_a_stale_readme(finished: Path) -> None:
    assert stale_message(plan_writeup(finished)) is not None
    run_writeup(finished)
    assert run_pocgen("writeup", finished, "--check").exit_code == 0
    metrics = dict(METRICS, metrics={"accuracy": 0.9122, "macro_f1": 0.9})
    write_json(finished / "reports" / "metrics.json", metrics)
    write_lock(finished)  # evaluate ran again: its record follows
    before = (finished / "README.md").read_bytes()
    result = run_pocgen("writeup", finished, "--check")
    assert result.exit_code == 1
    assert "stale" in result.stderr and "results" in result.stderr
    assert (finished / "README.md").read_bytes() == before


def test_edit_inside_a_marker_is_refused_then_forced(finished: Path) -> None:
    run_writeup(finished)
    readme_path = finished / "README.md"
    edited = readme_path.read_text(encoding="utf-8").replace(
        "On the held-out test split", "My own words about the results. On the held-out test split"
    )
    readme_path.write_text(edited, encoding="utf-8")

    with pytest.raises(PocgenError, match="section `results`.*--force"):
        run_writeup(finished)
    assert readme_path.read_text(encoding="utf-8") == edited  # nothing lost
    saved = backups(finished)
    assert saved and saved[-1].read_text(encoding="utf-8") == edited  # backup kept

    assert "edited by hand inside the markers: results" in stale_message(plan_writeup(finished))
    run_writeup(finished, force=True)
    assert "My own words" not in readme_path.read_text(encoding="utf-8")
    assert any("My own words" in b.read_text(encoding="utf-8") for b in backups(finished))


def test_edited_resume_is_refused_unless_forced(finished: Path) -> None:
    run_writeup(finished)
    resume = finished / "reports" / "resume.md"
    resume.write_text(resume.read_text(encoding="utf-8") + "- A bullet I wrote myself\n")
    write_json(
        finished / "reports" / "metrics.json",
        dict(
            METRICS,
            metrics={"accuracy": 0.95, "macro_f1": 0.94},
            headline={"metric": "accuracy", "value": 0.95},
        ),
    )
    write_lock(finished)  # evaluate ran again: its record follows
    with pytest.raises(PocgenError, match="reports/resume.md"):
        run_writeup(finished)
    assert "A bullet I wrote myself" in resume.read_text(encoding="utf-8")
    assert "0.873" in (finished / "README.md").read_text(encoding="utf-8")  # nothing written
    run_writeup(finished, force=True)
    assert "accuracy 0.950" in resume.read_text(encoding="utf-8")
    assert not file_edited(resume.read_text(encoding="utf-8"))


def test_broken_markers_and_bad_reports_give_one_clear_line(finished: Path) -> None:
    readme_path = finished / "README.md"
    original = readme_path.read_text(encoding="utf-8")
    readme_path.write_text(original.replace("<!-- /pocgen:data -->", ""), encoding="utf-8")
    result = run_pocgen("writeup", finished)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "`<!-- pocgen:model -->` starts inside section `data`" in result.stderr
    readme_path.write_text(original, encoding="utf-8")
    (finished / "reports" / "metrics.json").write_text("{not json", encoding="utf-8")
    result = run_pocgen("writeup", finished)
    assert result.exit_code == 1 and "reports/metrics.json is not valid JSON" in result.stderr
    assert "python -m defect_spotter evaluate" in result.stderr
    assert readme_path.read_text(encoding="utf-8") == original


def test_limitations_left_empty_are_flagged(finished: Path) -> None:
    assert "section Limitations is empty: it is yours to write in README.md" in summary(
        run_writeup(finished)
    )
    readme_path = finished / "README.md"
    readme_path.write_text(
        readme_path.read_text(encoding="utf-8").replace(
            "_Write what this model does not do well, and where its data falls short._",
            "Scratches under 1 mm are missed.",
        ),
        encoding="utf-8",
    )
    lines = summary(run_writeup(finished))
    assert not any("section Limitations is empty" in line for line in lines)
    assert any("section Next steps is empty" in line for line in lines)


# Text a user might type anywhere: prose, Markdown, blank lines, CRLF, unicode; never a marker.
user_text = st.text(
    alphabet=st.sampled_from(list("abcXYZ 019#*_-|`>\n\r\t<!—é✓")), max_size=60
).filter(lambda text: "pocgen:" not in text)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0), user_text), max_size=6
    )
)
def test_hand_edits_outside_markers_survive(
    finished: Path, edits: list[tuple[int, int, str]]
) -> None:
    """Random insertions, deletions and replacements outside the markers come through unchanged."""
    readme_path = finished / "README.md"
    original = readme_path.read_text(encoding="utf-8")
    regions = find_regions(original)
    pieces = outside(original)
    for where, length, text in edits:
        index = where % len(pieces)
        piece = pieces[index]
        start = where % (len(piece) + 1)
        pieces[index] = piece[:start] + text + piece[start + length % 8 :]
    edited = pieces[0] + "".join(
        original[r.start : r.end] + piece for r, piece in zip(regions, pieces[1:], strict=True)
    )
    with readme_path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(edited)

    run_writeup(finished)

    with readme_path.open(encoding="utf-8", newline="") as handle:
        written = handle.read()
    assert outside(written) == pieces
    assert [r.name for r in find_regions(written)] == [r.name for r in regions]
    assert plan_writeup(finished).stale == []


def test_synthesized_labels_are_described_not_awaited(project: Path) -> None:
    """Images and boxes from `collect synth`: no Label Studio claim, no wait for `label pull`."""
    (project / "data" / "manifest.csv").write_text(
        "item,source,group,collected_at,original_path,license_note\n"
        "synth/a.jpg,synth,synth:table.jpg,2026-11-26T00:00:00+00:00,table.jpg,drawn\n",
        encoding="utf-8",
    )
    (project / "data" / "labels.csv").write_text(
        "item,label,annotator,labeled_at\nsynth/a.jpg,ok,synthesizer,2026-11-26\n",
        encoding="utf-8",
    )
    plan = plan_writeup(project)
    data = plan.sections["data"]
    assert not any("label" in command for command in plan.waiting["data"])  # split, validate
    assert "1 label measured by the cut-and-paste synthesizer from the pixels it pasted" in (
        data.body
    )
    assert "Labeled in Label Studio" not in data.body


def test_resume_of_synthesized_data_claims_no_collection_or_labeling(finished: Path) -> None:
    (finished / "data" / "manifest.csv").write_text(
        "item,source,group,collected_at,original_path,license_note\n"
        + "".join(
            f"synth/{n}.jpg,synth,synth:t.jpg,2026-11-26T00:00:00+00:00,t.jpg,drawn\n"
            for n in range(3)
        ),
        encoding="utf-8",
    )
    (finished / "data" / "labels.csv").write_text(
        "item,label,annotator,labeled_at\n"
        + "".join(f"synth/{n}.jpg,ok,synthesizer,2026-11-26\n" for n in range(3)),
        encoding="utf-8",
    )
    run_writeup(finished)
    resume = (finished / "reports" / "resume.md").read_text(encoding="utf-8")
    # A model measured only on the synthesizer's scenes earns no bullet (docs/claims.md row 13),
    # and the note says why without claiming a collection or a labeling that never happened.
    assert "_No bullets yet: every item was synthesized by cut-and-paste" in resume
    assert "\n- " not in resume
    assert "collected" not in resume and "Label Studio" not in resume


def hashes(root: Path) -> dict[str, str]:
    """Every file of the project by content hash, to compare before and after a refused run."""
    import hashlib

    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def one_line_refusal(project: Path, *args: str) -> str:
    """Run writeup; assert exit 1, one stderr line, no traceback; return that line."""
    result = run_pocgen("writeup", project, *args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1, result.stdout
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def immutable(finished: Path):
    """A factory that sets the immutable flag (chattr +i) on a file, cleared after the test."""
    import subprocess

    flagged: list[Path] = []

    def make(relative: str) -> Path:
        path = finished / relative
        subprocess.run(["chattr", "+i", str(path)], check=True)
        flagged.append(path)
        return path

    yield make
    for path in flagged:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("relative", ["README.md", "reports/model_card.md"])
def test_writeup_writes_all_files_or_none(finished: Path, immutable, relative: str) -> None:
    """An immutable README or model card: one line naming it, and not one file changed."""
    run_writeup(finished)
    write_json(
        finished / "reports" / "metrics.json",
        dict(METRICS, headline={"metric": "accuracy", "value": 0.95}),
    )
    write_lock(finished)  # evaluate ran again: its record follows
    immutable(relative)
    before = hashes(finished)
    line = one_line_refusal(finished)
    assert f"cannot write {relative}" in line and "nothing was changed" in line
    assert hashes(finished) == before
    assert not list(finished.rglob("*.pocgen-*"))  # no staged or kept file left behind


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda p: (p / "README.md").unlink() or (p / "README.md").mkdir(), "is not a file"),
        (lambda p: (p / "README.md").write_bytes(b"# Caf\xe9\n"), "is not UTF-8 text"),
        (
            lambda p: (p / "reports" / "metrics.json").write_text(
                (p / "reports" / "metrics.json").read_text().replace("0.8731", "NaN", 1)
            ),
            "holds NaN",
        ),
        (
            lambda p: (p / "reports" / "metrics.json").write_text(
                (p / "reports" / "metrics.json").read_text().replace("0.8731", "Infinity", 1)
            ),
            "holds Infinity",
        ),
        (
            lambda p: (p / "reports" / "metrics.json").write_text(
                (p / "reports" / "metrics.json").read_text().replace("0.8731", "1e999", 1)
            ),
            "holds 1e999",
        ),
    ],
    ids=["readme-folder", "readme-latin1", "nan", "infinity", "overflow"],
)
def test_bad_inputs_are_refused_in_one_line(finished: Path, damage, expected: str) -> None:
    damage(finished)
    before = hashes(finished)
    line = one_line_refusal(finished)
    assert expected in line and "nan" not in (finished / "README.md").as_posix()
    assert hashes(finished) == before


def test_untouched_project_makes_no_backup(finished: Path) -> None:
    """Replacing only what pocgen wrote and nobody edited needs no backup, in any run."""
    run_writeup(finished)
    write_json(
        finished / "reports" / "metrics.json",
        dict(METRICS, headline={"metric": "accuracy", "value": 0.95}),
    )
    write_lock(finished)  # evaluate ran again: its record follows
    result = run_writeup(finished)
    assert "README.md" in result.written and result.backups == [] and backups(finished) == []


def test_demo_project_gets_no_resume_and_no_blog(finished: Path) -> None:
    answers = finished / ".copier-answers.yml"
    answers.write_text(answers.read_text(encoding="utf-8") + "demo: true\n", encoding="utf-8")
    result = run_writeup(finished)
    assert not (finished / "reports" / "resume.md").exists()
    assert not (finished / "reports" / "blog_post.md").exists()
    assert "no reports/resume.md: a demo project (`demo: true`) gets none" in summary(result)
    card = (finished / "reports" / "model_card.md").read_text(encoding="utf-8")
    assert "**Demo project.**" in card


def test_contribution_of_an_untouched_project_is_none(project: Path) -> None:
    body = plan_writeup(project).sections["contribution"].body
    assert body.startswith("**Nothing yet.** Measured against a fresh render of the template")
    assert "This project is still the template." in body


def test_contribution_counts_each_scripted_change(finished: Path) -> None:
    """A file added, code edited, a setting changed, two experiments: each figure asserted."""
    package = finished / "src" / "defect_spotter"
    (package / "augment.py").write_text("FLIP = True\nROTATE = 15\n", encoding="utf-8")
    train = package / "train.py"
    lines = train.read_text(encoding="utf-8").splitlines(keepends=True)
    train.write_text("".join(lines[:3] + ["# my change\n", "# and another\n"] + lines[4:]))
    params = finished / "params.yaml"
    data = yaml.safe_load(params.read_text(encoding="utf-8"))
    old_epochs = data["train"]["epochs"]
    data["train"]["epochs"] = old_epochs + 7
    data["train"]["workers"] = 3  # neither the model nor its measurement changes
    params.write_text(yaml.safe_dump(data), encoding="utf-8")
    write_lock(finished)  # the pipeline ran with them
    pretrained = dict(METRICS, model={**METRICS["model"], "pretrained": True})
    experiments = {"scratch": METRICS, "pretrained": pretrained, "scratch2": METRICS}
    for name, result in experiments.items():
        write_json(finished / "reports" / "experiments" / f"{name}.json", result)

    body = plan_writeup(finished).sections["contribution"].body
    assert "| files added | 1: `src/defect_spotter/augment.py` |" in body
    assert "+4 −1 in 2 files: `src/defect_spotter/augment.py (+2 −0)`" in body
    assert "`src/defect_spotter/train.py (+2 −1)`" in body
    assert f"`train.epochs: {old_epochs} → {old_epochs + 7}`" in body
    assert (
        "| experiments recorded in `reports/experiments/`, each with its own settings | 2: "
        "`pretrained`, `scratch` |" in body
    )
    assert "`train.workers` (changes neither the model nor its measurement)" in body
    assert "experiment `scratch2` (the same recorded settings as `scratch`)" in body
    assert "| data collected (`data/manifest.csv`) | 240: 240 from a folder of photos |" in body
    assert "240 items: jane 200, omar 40 |" in body
    assert "_Say in your own words" in body


def test_contribution_says_plainly_when_the_template_cannot_be_rendered(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    text = answers.read_text(encoding="utf-8")
    answers.write_text(
        re.sub(r"_src_path: .*", "_src_path: /nowhere/gone-template", text), encoding="utf-8"
    )
    body = plan_writeup(project).sections["contribution"].body
    assert body.startswith("Files and code are not compared: ")
    assert "gone-template" in body


# A line a user might type inside a section: never a marker, never blank.
typed_line = st.text(alphabet=st.sampled_from(list("abcXYZ 019#*-|`>é✓")), min_size=1, max_size=30)
typed_line = typed_line.map(lambda text: f"MINE {text.strip()}")


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.tuples(st.integers(min_value=0), typed_line), min_size=1, max_size=4))
def test_lines_typed_inside_markers_are_never_lost(
    finished: Path, lines: list[tuple[int, str]]
) -> None:
    """Lines typed inside any sections: refused and kept; forced, they are in a backup."""
    run_writeup(finished)
    readme_path = finished / "README.md"
    text = readme_path.read_text(encoding="utf-8")
    for where, line in lines:
        regions = find_regions(text)
        region = regions[where % len(regions)]
        opening_end = text.index("-->", region.start) + 3
        text = text[:opening_end] + "\n" + line + text[opening_end:]
    readme_path.write_text(text, encoding="utf-8")
    typed = [line for _, line in lines]

    with pytest.raises(PocgenError, match="edited by hand"):
        run_writeup(finished)
    kept = readme_path.read_text(encoding="utf-8")
    assert all(line in kept for line in typed)
    run_writeup(finished, force=True)
    saved = "\n".join(path.read_text(encoding="utf-8") for path in backups(finished))
    assert all(line in saved for line in typed)
