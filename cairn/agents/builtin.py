"""Profiles Cairn ships, for the agents people run today.

Each invokes its agent non-interactively with file edits allowed, since no one
is there to answer a prompt; docs/agents.md says what every flag does and where
it was checked.  A user profile of the same name replaces one of these whole.
"""

from __future__ import annotations

from typing import Any

BUILTIN_AGENTS: dict[str, dict[str, Any]] = {
    "claude": {
        "command": ["claude", "-p", "{prompt}", "--permission-mode", "acceptEdits"],
        "description": "Claude Code in print mode; file edits accepted without asking",
    },
    "codex": {
        "command": ["codex", "exec", "--sandbox", "workspace-write", "--color", "never", "--ephemeral", "{prompt}"],
        "description": "OpenAI Codex CLI, exec mode; may write inside its workspace",
    },
    "aider": {
        "command": [
            "aider", "--message", "{prompt}", "--yes-always", "--no-auto-commits",
            "--no-dirty-commits", "--no-gitignore", "--no-pretty", "--no-stream",
            "--no-check-update", "--no-show-release-notes", "--no-analytics",
            "--no-suggest-shell-commands",
        ],
        "description": "Aider, one message; Cairn commits instead of Aider",
    },
    "gemini": {
        "command": ["gemini", "--approval-mode", "yolo", "--skip-trust", "-p", "{prompt}"],
        "description": "Gemini CLI, headless; every tool call approved",
    },
    "opencode": {
        "command": ["opencode", "run", "--auto"],
        "stdin": True,
        "description": "OpenCode, one run; the prompt arrives on standard input",
    },
    "amp": {
        "command": ["amp", "--dangerously-allow-all", "-x", "{prompt}"],
        "description": "Amp, execute mode; tool calls allowed",
    },
    "demo": {
        "command": ["cairn-demo-agent", "{prompt_file}"],
        "description": "Cairn's scripted agent: edits files from instructions in the prompt, offline",
    },
}
