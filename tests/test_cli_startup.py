"""`shencha`'s command groups are imported when named, and every one of them still answers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from shencha.cli import _LAZY_COMMANDS, app

HEAVY = ["checks.cli", "registry_sync.cli", "shencha.cli_api", "shencha.cli_batch", "shencha.cli_sign"]


def test_a_command_of_its_own_does_not_import_the_other_groups() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from shencha.cli import app\n"
        "done = CliRunner().invoke(app, ['ocr', '--help'])\n"
        "assert done.exit_code == 0, done.output\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", list(_LAZY_COMMANDS))
def test_every_group_is_listed_and_answers_when_named(name: str) -> None:
    listed = CliRunner().invoke(app, ["--help"])
    assert listed.exit_code == 0 and f" {name} " in listed.output
    done = CliRunner().invoke(app, [name, "--help"])
    assert done.exit_code == 0, done.output
    assert f"shencha {name}" in done.output
