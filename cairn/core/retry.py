"""The prompt of a retry: the original request, the feedback, what the last attempt did."""

from __future__ import annotations

#: A diff longer than this is cut: the agent can read the branch itself.
DIFF_LIMIT = 20_000


def retry_prompt(original: str, attempt: int, feedback: str | None, stat: str, diff: str, continuing: bool) -> str:
    parts = [original.rstrip(), "", f"## Feedback on the previous attempt (Cairn task {attempt})", ""]
    parts.append(feedback.strip() if feedback and feedback.strip() else "The previous attempt was not accepted; try again.")
    if stat.strip() or diff.strip():
        parts += ["", "## What the previous attempt changed", ""]
        if continuing:
            parts.append("Your workspace starts from that attempt's work: build on it.")
        else:
            parts.append("Your workspace starts from the current target, without that work.")
        if stat.strip():
            parts += ["", "```", stat.rstrip(), "```"]
        if diff.strip():
            shown = diff if len(diff) <= DIFF_LIMIT else diff[:DIFF_LIMIT] + "\n… (diff cut here)\n"
            parts += ["", "```diff", shown.rstrip(), "```"]
    return "\n".join(parts) + "\n"
