"""README's install and test commands are the ones CI runs, so README stays true."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands_after(text: str, heading: str) -> list[str]:
    section = text.split(heading, 1)[1]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_ci_runs_readme_install_and_test_commands():
    readme = (ROOT / "README.md").read_text()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    install = _commands_after(readme, "## Install")
    test = _commands_after(readme, "## Test")
    assert install and test
    for command in install + test:
        assert command in ci_lines, f"README command not run by .ci/run: {command}"


def test_readme_example_inputs_exist():
    readme = (ROOT / "README.md").read_text()
    for path in re.findall(r"\b(examples/[\w./-]+\.(?:wav|json))", readme):
        assert (ROOT / path).is_file(), f"README names {path}, which is not in the repository"


def test_readme_project_example_is_a_valid_project_of_the_shipped_pack():
    import json

    from producer.project import Project
    from producer.samples import Library

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The project model", 1)[1]
    text = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    project = Project.from_dict(json.loads(text))
    pack = Library.default()
    assert all(c.sample in pack for t in project.tracks for c in t.clips)
