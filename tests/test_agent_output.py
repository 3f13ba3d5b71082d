"""Reading what real agents print: stuck states, false successes, their own reasons.

The texts are outputs captured from the real CLIs (tests/fixtures/agents/,
the version in each name); the rules are the built-in profiles' own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cairn.agents.builtin import BUILTIN_AGENTS
from cairn.config.schema import StuckRule
from cairn.core.agent_output import StuckWatch, failure_in, last_words

FIXTURES = Path(__file__).parent / "fixtures" / "agents"

#: Each built-in profile and the --help its flags are checked against.
HELP = {
    "claude": "claude-2.1.197-help.txt",
    "codex": "codex-0.171.0-exec-help.txt",
    "gemini": "gemini-0.61.0-help.txt",
    "opencode": "opencode-1.18.33-run-help.txt",
    "amp": "amp-0.0.1790142911-help.txt",
}
#: Flags a CLI accepts without listing them in its --help, and where that was seen.
UNLISTED = {
    # amp lists the setting amp.dangerouslyAllowAll; the flag itself is accepted
    # (an unknown one fails with "unknown option", tests/test_agent_contract.py).
    ("amp", "--dangerously-allow-all"),
}


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def rules(agent: str) -> list[StuckRule]:
    return [StuckRule(**rule) for rule in BUILTIN_AGENTS[agent].get("stuck", [])]


@pytest.mark.parametrize("agent", sorted(HELP))
def test_every_flag_of_a_built_in_profile_is_one_its_cli_lists(agent: str) -> None:
    listed = set(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", fixture(HELP[agent])))
    profile = BUILTIN_AGENTS[agent]
    for argv in (profile["command"], profile.get("resume", [])):
        for flag in argv:
            if flag.startswith("-") and flag != "-" and (agent, flag) not in UNLISTED:
                assert flag in listed, f"{agent}: {flag} is not in its --help"


def test_no_built_in_profile_passes_the_prompt_as_an_argument() -> None:
    for name, profile in BUILTIN_AGENTS.items():
        assert not any("{prompt}" in part for part in profile["command"]), name
        assert profile.get("stdin") or any("{prompt_file}" in part for part in profile["command"]), name


def test_codex_waiting_for_the_network_is_a_stuck_state() -> None:
    watch = StuckWatch(rules("codex"))
    reasons = [watch.feed(line + "\n") for line in fixture("codex-0.171.0-exec-json-no-network.jsonl").splitlines()]
    found = [r for r in reasons if r]
    assert found and "codex cannot reach its provider" in found[0]
    # Its five ordinary reconnects before that are not.
    first = next(i for i, r in enumerate(reasons) if r)
    assert "waiting for network" in fixture("codex-0.171.0-exec-json-no-network.jsonl").splitlines()[first]


def test_amp_login_prompt_is_a_stuck_state_before_its_line_ends() -> None:
    text = fixture("amp-0.0.1790142911-login-flow.txt")
    prompt_only = text[: text.index("paste your code here") + len("paste your code here: ")]
    assert StuckWatch(rules("amp")).feed(prompt_only) == "amp: not logged in — run `amp login` or set AMP_API_KEY"


def test_aider_waiting_for_a_browser_login_is_a_stuck_state() -> None:
    reason = StuckWatch(rules("aider")).feed(fixture("aider-0.86.2-no-key.txt"))
    assert reason is not None and reason.startswith("aider: no model and no API key")


def _aider_failure(text: str) -> str | None:
    aider = BUILTIN_AGENTS["aider"]
    return failure_in(aider["failure_output"], text, aider["success_output"])


def test_aider_failing_to_reach_its_model_is_a_failure_whatever_it_exits_with() -> None:
    said = _aider_failure(fixture("aider-0.86.2-unreachable-provider.txt"))
    assert said is not None and said.startswith("litellm.InternalServerError")


def test_an_error_aider_recovered_from_is_not_a_failure() -> None:
    recovered = fixture("aider-0.86.2-unreachable-provider.txt") + "Applied edit to src/app.py\nTokens: 2.1k sent, 120 received.\n"
    assert _aider_failure(recovered) is None
    assert _aider_failure("Aider v0.86.2\nApplied edit to src/app.py\n") is None


def test_the_agents_last_words_explain_a_failed_exit() -> None:
    words = last_words(fixture("gemini-0.61.0-no-auth.txt") + "[cairn] the agent exited\n")
    assert words is not None and words.startswith("Please set an Auth method")


def test_a_rule_needs_its_count_and_lines_split_across_reads_still_match() -> None:
    watch = StuckWatch([StuckRule(output=r"retrying forever", reason="stuck", times=2)])
    assert watch.feed("ok\nretrying for") is None
    assert watch.feed("ever\n") is None
    assert watch.feed("retrying forever\n") == "stuck"


def test_long_lines_are_cut_and_colours_dropped() -> None:
    words = last_words("\x1b[31m" + "e" * 1000 + "\x1b[0m\n")
    assert words is not None and len(words) == 300 and "\x1b" not in words
