"""Profiles Cairn ships, for the agents people run today.

Each invokes its agent non-interactively with file edits allowed, since no one
is there to answer a prompt; docs/agents.md says what every flag does and where
it was checked.  A user profile of the same name replaces one of these whole.

``env_pass`` names the variables its agent needs (its provider's key; every
other provider's is withheld, cairn/core/environment.py), ``writable`` what it
writes outside its workspace: its configuration, sessions and caches under
``$HOME``, writable inside the sandbox (docs/security.md).
"""

from __future__ import annotations

from typing import Any

BUILTIN_AGENTS: dict[str, dict[str, Any]] = {
    "claude": {
        "command": ["claude", "-p", "{prompt}", "--permission-mode", "acceptEdits"],
        "description": "Claude Code in print mode; file edits accepted without asking",
        "env_pass": ["ANTHROPIC_*", "CLAUDE_*"],
        "writable": ["~/.claude/", "~/.claude.json", "~/.cache/claude-cli-nodejs/", "~/.local/state/claude/"],
    },
    "codex": {
        "command": ["codex", "exec", "--sandbox", "workspace-write", "--color", "never", "--ephemeral", "{prompt}"],
        "description": "OpenAI Codex CLI, exec mode; may write inside its workspace",
        "env_pass": ["OPENAI_*", "CODEX_*"],
        "writable": ["~/.codex/"],
    },
    "aider": {
        "command": [
            "aider", "--message", "{prompt}", "--yes-always", "--no-auto-commits",
            "--no-dirty-commits", "--no-gitignore", "--no-pretty", "--no-stream",
            "--no-check-update", "--no-show-release-notes", "--no-analytics",
            "--no-suggest-shell-commands",
        ],
        "description": "Aider, one message; Cairn commits instead of Aider",
        "env_pass": ["AIDER_*", "OPENAI_*", "ANTHROPIC_*", "GEMINI_*", "DEEPSEEK_*", "OPENROUTER_*", "GROQ_*", "MISTRAL_*", "XAI_*"],
        "writable": ["~/.aider/"],
    },
    "gemini": {
        "command": ["gemini", "--approval-mode", "yolo", "--skip-trust", "-p", "{prompt}"],
        "description": "Gemini CLI, headless; every tool call approved",
        "env_pass": ["GEMINI_*", "GOOGLE_*"],
        "writable": ["~/.gemini/"],
    },
    "opencode": {
        "command": ["opencode", "run", "--auto"],
        "stdin": True,
        "description": "OpenCode, one run; the prompt arrives on standard input",
        "env_pass": ["OPENCODE_*", "ANTHROPIC_*", "OPENAI_*", "GEMINI_*", "OPENROUTER_*"],
        "writable": ["~/.local/share/opencode/", "~/.config/opencode/", "~/.cache/opencode/", "~/.local/state/opencode/"],
    },
    "amp": {
        "command": ["amp", "--dangerously-allow-all", "-x", "{prompt}"],
        "description": "Amp, execute mode; tool calls allowed",
        "env_pass": ["AMP_*"],
        "writable": ["~/.config/amp/", "~/.local/share/amp/", "~/.cache/amp/"],
    },
    "demo": {
        "command": ["cairn-demo-agent", "{prompt_file}"],
        "description": "Cairn's scripted agent: edits files from instructions in the prompt, offline",
    },
}
