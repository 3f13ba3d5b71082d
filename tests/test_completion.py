"""Shell completion: `cairn completion bash|zsh|fish`, loaded into the real
shell in a subprocess and asked what a Tab offers — verbs, each verb's
options, priorities and states, agent names from the configuration, and task
ids from the state directory, narrowed to the states the verb takes.

bash is driven through its completion function as readline would
(`COMP_WORDS`, `COMP_CWORD`) after `complete -p` shows it registered for
`cairn` and every `cairn-VERB`; fish through `complete -C`; zsh through its
completion function with `compadd` recording what is offered.
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from cairn.cmd.main import VERBS
from conftest import BIN, git, run_task


@pytest.fixture
def tasks(cairn, repo):
    """Task 1 in review, task 2 queued, and a custom agent profile."""
    (repo / "cairn.toml").write_text('[agents.reviewer-bot]\ncommand = ["true"]\n')
    git(repo, "add", "cairn.toml")
    git(repo, "commit", "-q", "-m", "agent")
    run_task(cairn, "write a.txt: a")
    assert cairn("queue", "-a", "demo", "say later").returncode == 0
    return {"review": "1", "queued": "2"}


def script(cairn, shell: str, tmp_path) -> str:
    printed = cairn("completion", shell)
    assert printed.returncode == 0, printed.stderr
    path = tmp_path / f"cairn.{shell}"
    path.write_text(printed.stdout)
    return str(path)


def bash_offers(loaded: str, *words: str) -> list[str]:
    """What Tab offers after WORDS (the last one is being typed) in bash."""
    program = (
        f"source {shlex.quote(loaded)}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        "_cairn; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_registers_for_cairn_and_every_cairn_verb(cairn, tmp_path):
    loaded = script(cairn, "bash", tmp_path)
    commands = ["cairn", *(f"cairn-{verb}" for verb in VERBS)]
    shown = subprocess.run(["bash", "--norc", "-c", f"source {shlex.quote(loaded)}; complete -p {' '.join(commands)}"],
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [f"complete -F _cairn {command}" for command in commands]
    for command in commands:
        assert shutil.which(command, path=str(BIN)), f"{command} is completed but not installed"


def test_bash_offers_verbs_options_and_fixed_values(cairn, tmp_path):
    loaded = script(cairn, "bash", tmp_path)
    assert bash_offers(loaded, "cairn", "ac") == ["accept"]
    assert set(VERBS) <= set(bash_offers(loaded, "cairn", ""))
    assert bash_offers(loaded, "cairn", "queue", "--priority", "h") == ["high"]
    assert bash_offers(loaded, "cairn", "status", "--state", "r") == ["running", "review", "rejected"]
    assert bash_offers(loaded, "cairn", "queue", "--title", "") == [], "free text: nothing to offer"
    for verb in VERBS:
        declared = {name for option in importlib.import_module(f"cairn.cmd.{verb.replace('-', '_')}").command.options for name in option.opts}
        assert declared <= set(bash_offers(loaded, "cairn", verb, "-")), verb
        assert declared <= set(bash_offers(loaded, f"cairn-{verb}", "-")), verb


def test_bash_offers_task_ids_by_state_and_agent_names_from_the_configuration(cairn, tasks, tmp_path):
    loaded = script(cairn, "bash", tmp_path)
    assert bash_offers(loaded, "cairn", "accept", "") == [tasks["review"]]
    assert bash_offers(loaded, "cairn-accept", "") == [tasks["review"]]
    assert bash_offers(loaded, "cairn", "cancel", "") == [tasks["queued"]]
    assert bash_offers(loaded, "cairn", "logs", "") == ["2", "1"], "any task, newest first"
    assert bash_offers(loaded, "cairn", "queue", "--after", "") == ["2", "1"]
    agents = bash_offers(loaded, "cairn", "queue", "-a", "")
    assert "reviewer-bot" in agents and "claude" in agents and "demo" in agents
    assert bash_offers(loaded, "cairn", "queue", "-a", "rev") == ["reviewer-bot"]


def test_outside_a_repository_a_tab_offers_no_ids_and_says_nothing(cairn, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = cairn("completion", "--list", "tasks", cwd=elsewhere)
    assert listed.returncode == 0 and listed.stdout == "" and listed.stderr == ""


def test_the_tab_time_lookup_imports_nothing_heavy(repo, tasks):
    # What Cairn imported, not what the interpreter had (coverage's subprocess hook loads typing at start).
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from cairn.cmd.main import main\n"
        "try:\n    main(['completion', '--list', 'tasks'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in set(sys.modules) - before} & {'pydantic', 'textual', 'psutil', 'watchdog', 'typing'})\n"
        "print(heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True)
    assert done.stdout.split() == ["2", "1"]
    assert done.stderr.strip() == "[]"


def test_fish_completes_through_complete_c(cairn, tasks, tmp_path):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (.ci/tools.sh installs it)")
    loaded = script(cairn, "fish", tmp_path)

    def offers(line: str) -> list[str]:
        done = subprocess.run(["fish", "--no-config", "-c", f"source {shlex.quote(loaded)}; complete -C {shlex.quote(line)}"],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)})
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return [line.split("\t")[0] for line in done.stdout.splitlines()]

    assert offers("cairn acc") == ["accept"]
    assert offers("cairn accept ") == [tasks["review"]]
    assert offers("cairn-cancel ") == [tasks["queued"]]
    assert "reviewer-bot" in offers("cairn queue --agent ")
    assert offers("cairn status --state rev") == ["review"]
    assert "--squash" in offers("cairn accept --")


def test_zsh_completes_through_its_completion_function(cairn, tasks, tmp_path):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (.ci/tools.sh installs it)")
    loaded = script(cairn, "zsh", tmp_path)
    assert subprocess.run(["zsh", "-n", loaded]).returncode == 0

    def offers(*words: str) -> list[str]:
        # compadd and _describe record what they were given; zsh's own matching is not the point here.
        program = (
            "compdef() { :; }\n"
            f"source {shlex.quote(loaded)}\n"
            "offered=()\n"
            "compadd() { [[ $1 == -- ]] && shift; offered+=(\"$@\") }\n"
            "_describe() { local -a items; items=(${(P)4}); offered+=(${items%%:*}) }\n"
            "_files() { offered+=(FILES) }\n"
            f"words=({' '.join(shlex.quote(w) for w in words)}); CURRENT=$#words\n"
            "_cairn; print -rl -- $offered\n"
        )
        done = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done.stdout.split()

    assert set(VERBS) <= set(offers("cairn", ""))
    assert offers("cairn", "accept", "") == [tasks["review"]]
    assert offers("cairn-cancel", "") == [tasks["queued"]]
    assert "reviewer-bot" in offers("cairn", "queue", "--agent", "")
    assert offers("cairn", "queue", "--file", "") == ["FILES"]
    assert "--squash" in offers("cairn", "accept", "-")


def test_completion_needs_a_shell_it_knows(cairn):
    missing = cairn("completion")
    assert missing.returncode == 2 and "say which shell" in missing.stderr
    unknown = cairn("completion", "tcsh")
    assert unknown.returncode == 2 and "tcsh" in unknown.stderr
