"""The command reference cannot drift from the commands: every verb and every
option a command accepts appears in docs/cli.md, and every verb in `cairn --help`."""

from __future__ import annotations

import importlib

import pytest

from cairn.cmd._args import Option
from cairn.cmd.main import VERBS
from conftest import REPO

CLI_DOC = (REPO / "docs" / "cli.md").read_text()


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_and_option_is_in_the_command_reference(verb):
    command = importlib.import_module(f"cairn.cmd.{verb.replace('-', '_')}").command
    assert f"`cairn {verb}" in CLI_DOC, f"docs/cli.md has no section for cairn {verb}"
    missing = [
        name
        for param in command.params
        if isinstance(param, Option)
        for name in param.opts
        if name.startswith("--") and name != "--help" and name not in CLI_DOC
    ]
    assert not missing, f"docs/cli.md does not mention {missing} of cairn {verb}"


def test_the_state_directory_doc_names_every_file_of_the_layout():
    doc = (REPO / "docs" / "state-directory.md").read_text()
    from cairn.state.layout import Layout

    layout = Layout(REPO / "example-home")
    names = [p.name for p in layout.directories()]
    names += [layout.meta.name, layout.events.name, layout.next_id.name, layout.scheduler_info.name]
    names += [getattr(layout, f)(1).name for f in ("task_file", "state_file", "task_lock", "runner_lock", "agent_log",
                                                     "prompt_file", "exit_file", "preview_diff", "checks_log", "review_file")]
    missing = [name for name in names if name not in doc]
    assert not missing, f"docs/state-directory.md does not mention {missing}"
