"""The contract between the template and the tool: schemas, answers files, engines, licences, and
the success-sentence rule that copier.yml's validator and `pocgen check` share."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment
from jsonschema import Draft202012Validator
from known_artifacts import DEPLOY, LABELS, METRICS, QUALITY, TEMPLATE, TRAINING

from pocgen.contract import (
    answers_file,
    builtin_root,
    hub_license,
    read_record,
    recorded_answers,
    schema_problem,
    schemas_dir,
    stated_numbers,
    success_rule,
    success_sentence_gap,
    template_engine,
)
from pocgen.errors import PocgenError

pytestmark = pytest.mark.unit

SCHEMAS = ("metrics", "experiments", "training", "data_quality", "labels", "deploy", "gpu")


def test_schemas_ship_beside_the_template_not_inside_it() -> None:
    assert schemas_dir() == TEMPLATE / "schemas"
    assert not (TEMPLATE / "template" / "schemas").exists()
    assert builtin_root() == TEMPLATE.parent


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_json_schema(name: str) -> None:
    schema = json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"{name}.schema.json" and schema["description"]


@pytest.mark.parametrize(
    ("name", "report"),
    [
        ("metrics", METRICS),
        ("experiments", METRICS),
        ("training", TRAINING),
        ("data_quality", QUALITY),
        ("labels", LABELS),
        ("deploy", DEPLOY),
    ],
)
def test_the_known_artifacts_keep_the_contract(name: str, report: dict) -> None:
    assert schema_problem(report, name) is None


def test_experiments_are_metrics_by_reference() -> None:
    assert "smoke" in schema_problem(
        {k: v for k, v in METRICS.items() if k != "smoke"}, "experiments"
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["copier.yml"], "copier"),
        (["copier.yaml"], "copier"),
        (["cookiecutter.json"], "cookiecutter"),
        (["cookiecutter.json", "copier.yml"], "copier"),
        (["README.md"], None),
    ],
)
def test_a_template_folder_names_its_engine(tmp_path: Path, files: list, expected: str) -> None:
    for name in files:
        (tmp_path / name).write_text("{}\n")
    assert template_engine(tmp_path) == expected


def test_a_folder_named_like_a_config_file_is_no_template(tmp_path: Path) -> None:
    (tmp_path / "copier.yml").mkdir()
    assert template_engine(tmp_path) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("MIT", "mit"), ("Apache-2.0", "apache-2.0"), ("BSD-3-Clause", "bsd-3-clause")]
    + [("proprietary", "other"), (None, "other"), ("", "other")],
)
def test_licence_answers_map_to_the_hubs_identifiers(answer: object, expected: str) -> None:
    assert hub_license(answer) == expected


def test_copier_answers_are_read_as_recorded(tmp_path: Path) -> None:
    (tmp_path / ".copier-answers.yml").write_text("_commit: v1\ntask: text-classification\n")
    assert recorded_answers(tmp_path) == {"_commit": "v1", "task": "text-classification"}
    assert answers_file(tmp_path) == tmp_path / ".copier-answers.yml"


def test_cookiecutter_answers_are_the_context_pocgen_recorded(tmp_path: Path) -> None:
    record = {"engine": "cookiecutter", "template": "x", "context": {"name": "shop"}}
    (tmp_path / ".pocgen.yml").write_text(yaml.safe_dump(record))
    assert recorded_answers(tmp_path) == {"name": "shop"}
    assert read_record(tmp_path / ".pocgen.yml")["template"] == "x"


def test_a_project_without_answers_records_none(tmp_path: Path) -> None:
    assert recorded_answers(tmp_path) is None and answers_file(tmp_path) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("task: [image\n", "is not valid YAML at line"),
        ("- a list\n", "must be a mapping of `key: value` pairs"),
        ("", "must be a mapping"),
    ],
)
def test_a_broken_answers_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / ".copier-answers.yml").write_text(content)
    with pytest.raises(PocgenError, match=message) as raised:
        recorded_answers(tmp_path)
    assert "git checkout -- .copier-answers.yml" in str(raised.value)


def test_a_cookiecutter_record_without_a_context_mapping_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".pocgen.yml").write_text("context: [a, b]\n")
    with pytest.raises(PocgenError, match="must hold a mapping of answers"):
        recorded_answers(tmp_path)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("accuracy of 0.9", [0.9]),
        ("90% accuracy", [0.9]),
        ("90 % accuracy", [0.9]),
        ("mAP@0.5 of at least 0.85", [0.5, 0.85]),
        ("no numbers here", []),
    ],
)
def test_numbers_stated_in_a_sentence(sentence: str, expected: list) -> None:
    assert stated_numbers(sentence) == pytest.approx(expected)


# (sentence, target_metric, target_value, target_class, the part the rule finds missing)
SENTENCES = [
    ("accuracy of at least 0.9 on a held-out test set", "accuracy", 0.9, None, None),
    ("Accuracy of 90% on new parts", "accuracy", 0.9, None, None),
    ("recall of at least 0.95 on defective parts", "accuracy", 0.9, None, "metric"),
    ("accuracy of at least 0.8 on held-out parts", "accuracy", 0.9, None, "target"),
    ("macro-F1 of at least 0.75", "macro_f1", 0.75, None, None),
    ("mAP@0.5 of at least 0.8 on held-out generated pictures", "map50", 0.8, None, None),
    ("mAP@0.5:0.95 of at least 0.5", "map50_95", 0.5, None, None),
    ("all objects found in at least 80% of held-out generated pictures", "all_found_rate", 0.8)
    + (None, None),
    ("all objects found in at least 0.8 of held-out generated pictures", "all_found_rate", 0.8)
    + (None, None),
    ("every object spotted in 80% of pictures", "all_found_rate", 0.8, None, "metric"),
    ("recall of defect of at least 0.95", "class_recall", 0.95, "defect", None),
    ("recall of at least 0.95", "class_recall", 0.95, "defect", "class"),
    ("recall of defect of at least 0.9 at precision 0.8", "recall_at_precision", 0.9, "defect")
    + (None,),
    ("recall of defect of at least 0.9", "recall_at_precision", 0.9, "defect", "metric"),
]


@pytest.mark.parametrize(("sentence", "metric", "value", "target_class", "gap"), SENTENCES)
def test_the_success_sentence_rule(
    sentence: str, metric: str, value: float, target_class: str | None, gap: str | None
) -> None:
    assert success_sentence_gap(sentence, metric, value, target_class) == gap


def _copier_validator() -> jinja2.Template:
    """copier.yml's success_metric validator in an environment like Copier's own: sandboxed, the
    template folder as loader, the Ansible filters Copier enables by default."""
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
    environment = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE)),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
    )
    return environment.from_string(config["success_metric"]["validator"])


@pytest.mark.parametrize(("sentence", "metric", "value", "target_class", "gap"), SENTENCES)
def test_copier_yml_applies_the_same_rule(
    sentence: str, metric: str, value: float, target_class: str | None, gap: str | None
) -> None:
    """One rule, two readers: the validator refuses exactly the sentences `check` warns about."""
    message = (
        _copier_validator()
        .render(
            success_metric=sentence,
            target_metric=metric,
            target_value=value,
            target_class=target_class or "",
        )
        .strip()
    )
    assert (message == "") == (gap is None), message


def test_the_rule_names_every_metric_the_template_offers() -> None:
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
    offered = set(re.findall(r":\s*(\w+)\s*$", config["target_metric"]["choices"], re.M))
    assert len(offered) == 8 and offered <= set(success_rule()["metric_words"])


def test_a_metric_the_template_does_not_know_is_named_by_its_key() -> None:
    assert success_sentence_gap("mean iou of 0.7", "mean_iou", 0.7) is None
    assert success_sentence_gap("overlap of 0.7", "mean_iou", 0.7) == "metric"
