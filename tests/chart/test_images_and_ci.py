"""Dockerfiles (hadolint, pinned build args, non-root) and the kind workflow (actionlint)."""

from __future__ import annotations

import re
import subprocess

import chartlib
import pytest
import yaml

DOCKERFILES = sorted((chartlib.ROOT / "images").glob("*/Dockerfile"))
WORKFLOWS = sorted((chartlib.ROOT / ".github" / "workflows").glob("*.yml"))


def run_tool(name: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    try:
        binary = chartlib.tool(name)
    except chartlib.ToolMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, check=False, cwd=chartlib.ROOT)


def test_both_images_exist():
    assert [p.parent.name for p in DOCKERFILES] == ["airflow", "spark"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_clean(dockerfile):
    proc = run_tool("hadolint", str(dockerfile))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_does_flag_problems():
    proc = run_tool("hadolint", "-", stdin="FROM ubuntu\nRUN apt-get install -y curl\n")
    assert proc.returncode != 0 and "DL3006" in proc.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_build_args_come_from_versions_env_and_user_is_not_root(dockerfile):
    text = dockerfile.read_text()
    args = re.findall(r"^ARG (\w+)(=.*)?$", text, flags=re.M)
    assert args, "no build args"
    for name, default in args:
        assert name in chartlib.pins(), f"ARG {name} is not a versions.env key (task k8s:images passes those)"
        assert not default, f"ARG {name} has a default: versions.env is the only place for versions"
    users = re.findall(r"^USER (\S+)$", text, flags=re.M)
    assert users and users[-1] not in ("root", "0"), "the image must end as a non-root user"


def test_spark_image_builds_jars_from_the_project_pom():
    text = (chartlib.ROOT / "images" / "spark" / "Dockerfile").read_text()
    assert "COPY jvm/spark/pom.xml pom.xml" in text
    pom = (chartlib.ROOT / "jvm" / "spark" / "pom.xml").read_text()
    for prop in re.findall(r'-D([\w.]+)="\$\{\w+\}"', text):
        assert "${" + prop + "}" in pom, f"-D{prop} is not a property of jvm/spark/pom.xml"


def test_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["kind-e2e.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_clean(workflow):
    proc = run_tool("actionlint", "-no-color", str(workflow))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_does_flag_problems(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    proc = run_tool("actionlint", "-no-color", str(bad))
    assert proc.returncode != 0 and "nope" in proc.stdout


def test_workflow_runs_the_same_e2e_tests_as_local():
    wf = yaml.safe_load(WORKFLOWS[0].read_text())
    steps = [s.get("run", "") for job in wf["jobs"].values() for s in job["steps"]]
    assert any("task k8s:up" in s for s in steps)
    # `task k8s:e2e` is pytest over tests/k8s_e2e (Taskfile), the suite .ci/run runs inside `task test`.
    assert any("task k8s:e2e" in s for s in steps)
    taskfile = yaml.safe_load((chartlib.ROOT / "Taskfile.yml").read_text())
    assert any("pytest tests/k8s_e2e" in cmd for cmd in taskfile["tasks"]["k8s:e2e"]["cmds"])


SCRIPTS = sorted((chartlib.ROOT / "scripts" / "k8s").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_k8s_scripts_parse(script):
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_k8s_scripts_pass_shellcheck():
    proc = run_tool("shellcheck", "-x", *[str(p.relative_to(chartlib.ROOT)) for p in SCRIPTS])
    assert proc.returncode == 0, proc.stdout + proc.stderr
