"""Profiles Cairn ships, for the agents people run today.

Each invokes its agent non-interactively with file edits allowed, since no one
is there to answer a prompt.  The prompt never travels as an argument where
the agent can read it elsewhere: on standard input (claude, codex, gemini,
opencode, amp) or from a file (aider).  An argument is capped at 128 KiB by
the kernel, and one that begins with ``-`` is read as an option (``claude -p
"-v please"`` prints a version and exits 0).

Every flag below was checked against the ``--help`` of the version pinned in
``.ci/tools.sh``, and tests/test_agent_contract.py runs each profile against
that real binary; docs/agents.md is written from what those tests show.  A
user profile of the same name replaces one of these whole.

``env_pass`` names the variables its agent needs (its provider's key; every
other provider's is withheld, cairn/core/environment.py), ``writable`` what it
writes outside its workspace: its configuration, sessions and caches under
``$HOME``, writable inside the sandbox (docs/security.md).
"""

from __future__ import annotations

from typing import Any

# Each prints its machine-readable stream (the profile's ``report``): Cairn
# keeps it in agent.jsonl and renders it readable in agent.log.
_CLAUDE_FLAGS = ["--permission-mode", "acceptEdits", "--output-format", "stream-json", "--verbose"]
_CODEX_FLAGS = ["--sandbox", "workspace-write", "--color", "never", "--skip-git-repo-check", "--json"]
_GEMINI_FLAGS = ["--approval-mode", "yolo", "--skip-trust", "--output-format", "stream-json"]
#: OpenCode prints nothing while it retries an unreachable provider unless its
#: error log is on; the stuck rule below reads it.
_OPENCODE_FLAGS = ["--auto", "--format", "json", "--print-logs", "--log-level", "ERROR"]

BUILTIN_AGENTS: dict[str, dict[str, Any]] = {
    "claude": {
        "command": ["claude", "-p", *_CLAUDE_FLAGS],
        "stdin": True,
        "description": "Claude Code in print mode, prompt on standard input; file edits accepted without asking",
        "report": "claude",
        "env_pass": ["ANTHROPIC_*", "CLAUDE_*"],
        "writable": ["~/.claude/", "~/.claude.json", "~/.cache/claude-cli-nodejs/", "~/.local/state/claude/"],
        "version": ["claude", "--version"],
        "credentials": {
            "env": ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN",
                    "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"],
            "files": ["~/.claude/.credentials.json"],
            "hint": "run `claude /login` or set ANTHROPIC_API_KEY",
        },
        "resume": ["claude", "-p", "--resume", "{session}", *_CLAUDE_FLAGS],
    },
    "codex": {
        "command": ["codex", "exec", *_CODEX_FLAGS, "-"],
        "stdin": True,
        "description": "OpenAI Codex CLI, exec mode, prompt on standard input; may write inside its workspace",
        "report": "codex",
        "env_pass": ["OPENAI_*", "CODEX_*"],
        "writable": ["~/.codex/"],
        "version": ["codex", "--version"],
        "credentials": {
            "env": ["CODEX_API_KEY", "OPENAI_API_KEY"],
            "files": ["~/.codex/auth.json"],
            "hint": "run `codex login` or set CODEX_API_KEY",
        },
        "stuck": [
            {
                # After its retries it waits for the network forever, one line a few seconds.
                "output": r"Reconnecting\.\.\. waiting for network",
                "reason": "codex cannot reach its provider (no network, or no valid credentials) and would retry forever",
                "times": 2,
            },
        ],
        # `exec resume` takes --skip-git-repo-check and --json itself; the sandbox and colour stay exec's.
        "resume": ["codex", "exec", *_CODEX_FLAGS[:4], "resume", *_CODEX_FLAGS[4:], "{session}", "-"],
    },
    "aider": {
        "command": [
            "aider", "--message-file", "{prompt_file}", "--yes-always", "--no-auto-commits",
            "--no-dirty-commits", "--no-gitignore", "--no-pretty", "--no-stream",
            "--no-check-update", "--no-show-release-notes", "--no-analytics",
            "--no-suggest-shell-commands", "--no-show-model-warnings",
            "--input-history-file", "/dev/null", "--chat-history-file", "/dev/null",
        ],
        "description": "Aider, one message read from a file; Cairn commits instead of Aider",
        "env_pass": ["AIDER_*", "OPENAI_*", "ANTHROPIC_*", "GEMINI_*", "DEEPSEEK_*", "OPENROUTER_*", "GROQ_*", "MISTRAL_*", "XAI_*"],
        "writable": ["~/.aider/"],
        "version": ["aider", "--version"],
        "credentials": {
            "env": ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY",
                    "OPENROUTER_API_KEY", "AIDER_API_KEY", "AIDER_OPENAI_API_KEY", "AIDER_ANTHROPIC_API_KEY"],
            "files": ["~/.aider.conf.yml", ".aider.conf.yml", ".env"],
            "hint": "set a provider key (ANTHROPIC_API_KEY, OPENAI_API_KEY, …) or put one in ~/.aider.conf.yml",
        },
        # Aider exits 0 when every try at the model failed; an error it
        # recovered from is followed by its usage report.
        "failure_output": [r"^litellm\.\w+Error"],
        "success_output": [r"^Tokens: .* sent", r"^Applied edit to "],
        "stuck": [
            {
                # With no key it offers an OpenRouter login in a browser and waits five minutes.
                "output": r"No LLM model was specified and no API keys were provided|connect Aider with OpenRouter",
                "reason": "aider: no model and no API key — set one (ANTHROPIC_API_KEY, OPENAI_API_KEY, …), or --model with its key",
            },
        ],
        "scratch": [".aider*", ".aider*/**"],
    },
    "gemini": {
        "command": ["gemini", *_GEMINI_FLAGS, "-p", ""],
        "stdin": True,
        "description": "Gemini CLI, headless, prompt on standard input; every tool call approved",
        "report": "gemini",
        "env_pass": ["GEMINI_*", "GOOGLE_*"],
        "writable": ["~/.gemini/"],
        "version": ["gemini", "--version"],
        "credentials": {
            "env": ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA"],
            "files": ["~/.gemini/oauth_creds.json"],
            "hint": "set GEMINI_API_KEY, or sign in once with an interactive `gemini`",
        },
        "resume": ["gemini", *_GEMINI_FLAGS, "--resume", "{session}", "-p", ""],
    },
    "opencode": {
        "command": ["opencode", "run", *_OPENCODE_FLAGS],
        "stdin": True,
        "env": {"OPENCODE_DISABLE_AUTOUPDATE": "1"},
        "description": "OpenCode, one run, prompt on standard input",
        "report": "opencode",
        "env_pass": ["OPENCODE_*", "ANTHROPIC_*", "OPENAI_*", "GEMINI_*", "OPENROUTER_*"],
        "writable": ["~/.local/share/opencode/", "~/.config/opencode/", "~/.cache/opencode/", "~/.local/state/opencode/"],
        "version": ["opencode", "--version"],
        "stuck": [
            {
                "output": r"stream error.*Cannot connect to API",
                "reason": "opencode cannot reach its model provider and would retry forever",
                "times": 2,
            },
        ],
        "resume": ["opencode", "run", *_OPENCODE_FLAGS, "--session", "{session}"],
    },
    "amp": {
        "command": ["amp", "--dangerously-allow-all", "-x", "--stream-json"],
        "stdin": True,
        "description": "Amp, execute mode, prompt on standard input; tool calls allowed",
        "report": "amp",
        "env_pass": ["AMP_*"],
        "writable": ["~/.config/amp/", "~/.local/share/amp/", "~/.cache/amp/"],
        "version": ["amp", "--version"],
        "credentials": {
            "env": ["AMP_API_KEY"],
            "files": ["~/.local/share/amp/secrets.json"],
            "hint": "run `amp login` or set AMP_API_KEY",
        },
        "stuck": [
            {
                "output": r"No API key found\. Starting login flow|paste your code here",
                "reason": "amp: not logged in — run `amp login` or set AMP_API_KEY",
            },
        ],
        "resume": ["amp", "threads", "continue", "{session}", "--dangerously-allow-all", "-x", "--stream-json"],
    },
    "demo": {
        "command": ["cairn-demo-agent", "{prompt_file}"],
        "description": "Cairn's scripted agent: edits files from instructions in the prompt, offline",
    },
}
