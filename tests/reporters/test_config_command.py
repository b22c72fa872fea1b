"""``splitcheck config``: the effective configuration and where each value came from."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from splitcheck.cli_reports import config_command
from splitcheck.scanners import all_rules, registered_scanners

PYPROJECT = """
[tool.splitcheck]
fail-on = "warning"
ignore = ["DS103"]

[tool.splitcheck.severity]
LK301 = "warning"

[tool.splitcheck.class-distribution]
alpha = 0.05
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # found from a sub-folder, as scan finds it
    return tmp_path / "pyproject.toml"


def settings(*args: str) -> dict[str, dict]:
    result = CliRunner().invoke(config_command, ["--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sources_are_default_file_or_command_line(project):
    data = settings("--jobs", "3", "--ignore", "DQ2")
    assert data["fail-on"] == {"value": "warning", "source": str(project), "doc": data["fail-on"]["doc"]}
    assert (data["ignore"]["value"], data["ignore"]["source"]) == (["DS103", "DQ2"], f"{project} + command line")
    assert (data["jobs"]["value"], data["jobs"]["source"]) == (3, "command line")
    assert (data["severity.LK301"]["value"], data["severity.LK301"]["source"]) == ("warning", str(project))
    assert (data["severity.LK101"]["value"], data["severity.LK101"]["source"]) == ("error", "default")
    alpha = data["class-distribution.alpha"]
    assert (alpha["value"], alpha["source"]) == (0.05, str(project))
    assert data["class-distribution.min-class-count"]["source"] == "default"
    assert {k.split(".", 1)[1] for k in data if k.startswith("severity.")} == set(all_rules())
    n_params = sum(len(cls.params) for cls in registered_scanners().values())
    assert len([k for k in data if "." in k and not k.startswith("severity.")]) == n_params
    assert settings("--fail-on", "info")["fail-on"]["source"] == "command line"


def test_toml_output_comments_each_origin(project):
    result = CliRunner().invoke(config_command, [])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "[tool.splitcheck]"
    assert any(line.startswith('fail-on = "warning"') and line.endswith(f"# {project}") for line in lines)
    assert "[tool.splitcheck.class-distribution]" in lines
    assert any(line.startswith("alpha = 0.05") and line.endswith(f"# {project}") for line in lines)
    assert any(line.startswith("max-drivers = 5") and line.endswith("# default") for line in lines)


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = settings()
    assert {v["source"] for v in data.values()} == {"default"}
    assert data["fail-on"]["value"] == "error"


def test_unknown_key_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "splitcheck.toml"
    bad.write_text('fail-on = "error"\nthreshold = 3\n')
    result = CliRunner().invoke(config_command, ["--config", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"splitcheck: error: {bad}: unknown key 'threshold' in top level; known keys: ")
