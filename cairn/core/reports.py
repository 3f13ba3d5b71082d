"""What an agent reports about its run, read from its machine-readable output.  Pure.

Each CLI with such a mode prints one JSON object a line; ``render`` turns an
event into the line a person reads in ``cairn logs`` and ``attach``, and
``summarize`` folds all of them into one ``AgentReport``: the agent's session
(``cairn retry --continue`` resumes it), cost, tokens, turns, its final
message, its error, and whether it hit a usage or rate limit.  The field
names each format uses were read from the CLIs' documentation and checked
against their real output where one can be had without a model
(tests/fixtures/agents/); docs/agents.md lists them.

Formats: ``claude`` (Claude Code ``--output-format stream-json --verbose``;
Amp's ``--stream-json`` is the same shape, ``amp``), ``codex`` (``exec
--json``), ``gemini`` (``-o stream-json``), ``opencode`` (``--format json``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cairn.core.records import record

FORMATS = ("claude", "codex", "gemini", "opencode", "amp")

#: Words with which agents say they hit a usage or rate limit.
_LIMITED = re.compile(r"rate[ _-]?limit|usage limit|limit reached|quota|RESOURCE_EXHAUSTED|\b429\b|too many requests", re.IGNORECASE)
#: A final message kept in the report is cut to this many characters.
MAX_MESSAGE = 4000


@record
class AgentReport:
    format: str
    session_id: str | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    turns: int | None = None
    final_message: str | None = None
    #: The agent's own error, when it reported one (even with exit 0).
    error: str | None = None
    #: It reported a usage or rate limit; ``resets_at`` when it said when.
    rate_limited: bool = False
    resets_at: float | None = None


def summarize(fmt: str, events: Iterable[dict[str, Any]]) -> AgentReport:
    fold = _Fold(fmt)
    for event in events:
        if isinstance(event, dict):
            getattr(fold, f"_{'claude' if fmt == 'amp' else fmt}")(event)
    return fold.report()


def render(fmt: str, event: dict[str, Any]) -> str | None:
    """One readable line for an event; None for events a person need not see."""
    kind = str(event.get("type", ""))
    if fmt in ("claude", "amp"):
        return _render_claude(kind, event)
    if fmt == "codex":
        return _render_codex(kind, event)
    if fmt == "gemini":
        return _render_gemini(kind, event)
    if fmt == "opencode":
        return _render_opencode(kind, event)
    return None


def limited(text: str | None) -> bool:
    return bool(text) and bool(_LIMITED.search(text or ""))


class _Fold:
    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.session: str | None = None
        self.cost: float | None = None
        self.inputs: int | None = None
        self.outputs: int | None = None
        self.turns: int | None = None
        self.message: str | None = None
        self.error: str | None = None
        self.rate_limited = False
        self.resets_at: float | None = None
        self.deltas: list[str] = []

    def report(self) -> AgentReport:
        if self.deltas:
            self.message = "".join(self.deltas)
        message = self.message[:MAX_MESSAGE] if self.message else None
        rate_limited = self.rate_limited or limited(self.error)
        return AgentReport(format=self.fmt, session_id=self.session, cost_usd=self.cost, input_tokens=self.inputs,
                           output_tokens=self.outputs, turns=self.turns, final_message=message, error=self.error,
                           rate_limited=rate_limited, resets_at=self.resets_at)

    def _add(self, inputs: Any, outputs: Any) -> None:
        if isinstance(inputs, int):
            self.inputs = (self.inputs or 0) + inputs
        if isinstance(outputs, int):
            self.outputs = (self.outputs or 0) + outputs

    # Claude Code, and Amp's Claude Code-compatible stream.
    def _claude(self, event: dict[str, Any]) -> None:
        self.session = _text(event.get("session_id")) or self.session
        kind = event.get("type")
        if kind == "assistant":
            message = _table(event, "message")
            words = _claude_text(message)
            if words:
                self.message = words
        elif kind == "result":
            self.cost = _number(event.get("total_cost_usd"), self.cost)
            usage = _table(event, "usage")
            inputs = sum(v for k, v in usage.items() if k.endswith("input_tokens") and isinstance(v, int)) if usage else None
            self.inputs, self.outputs = None, None
            self._add(inputs, usage.get("output_tokens"))
            self.turns = event.get("num_turns") if isinstance(event.get("num_turns"), int) else self.turns
            result = _text(event.get("result"))
            if result:
                self.message = result
            # subtype says "success" even when is_error is true (a failed login): is_error decides.
            if event.get("is_error") or str(event.get("subtype", "")).startswith("error"):
                self.error = result or _text(event.get("subtype")) or "the agent reported an error"
        elif kind == "rate_limit_event":
            info = _table(event, "rate_limit_info")
            if info.get("status") == "rejected":
                self.rate_limited = True
                self.resets_at = _epoch(info.get("resetsAt")) or self.resets_at

    def _codex(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            self.session = _text(event.get("thread_id")) or self.session
        elif kind == "turn.completed":
            usage = _table(event, "usage")
            self._add(usage.get("input_tokens"), usage.get("output_tokens"))
            self.turns = (self.turns or 0) + 1
        elif kind == "turn.failed":
            error = _table(event, "error")
            self.error = _text(error.get("message")) or "the turn failed"
        elif kind == "error":
            message = _text(event.get("message"))
            # Reconnects are its retries, not its verdict.
            if message and not message.startswith("Reconnecting"):
                self.error = message
            if limited(message):
                self.rate_limited = True
        elif kind == "item.completed":
            item = _table(event, "item")
            if item.get("type") == "agent_message" and _text(item.get("text")):
                self.message = _text(item.get("text"))

    def _gemini(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        self.session = _text(event.get("session_id")) or _text(event.get("sessionId")) or self.session
        if kind == "message" and event.get("role") == "assistant":
            content = event.get("content")
            if isinstance(content, str):
                if event.get("delta"):
                    self.deltas.append(content)
                else:
                    self.deltas, self.message = [], content
        elif kind == "result":
            stats = _table(event, "stats")
            self._add(stats.get("input_tokens"), stats.get("output_tokens"))
            if isinstance(stats.get("tool_calls"), int):
                self.turns = stats["tool_calls"] + 1
            error = event.get("error") if isinstance(event.get("error"), dict) else None
            if error or event.get("status") == "error":
                self.error = _text((error or {}).get("message")) or "the agent reported an error"
                if (error or {}).get("code") == 429:
                    self.rate_limited = True
        elif kind == "error" and event.get("severity") == "error":
            self.error = _text(event.get("message")) or self.error

    def _opencode(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        self.session = _text(event.get("sessionID")) or self.session
        part = _table(event, "part")
        if kind == "text" and _text(part.get("text")):
            self.message = _text(part.get("text"))
        elif kind == "step_finish":
            tokens = _table(part, "tokens")
            self._add(tokens.get("input"), tokens.get("output"))
            cost = part.get("cost")
            if isinstance(cost, (int, float)):
                self.cost = (self.cost or 0.0) + cost
            self.turns = (self.turns or 0) + 1
        elif kind == "error":
            error = _table(event, "error")
            data = _table(error, "data")
            self.error = _text(data.get("message")) or _text(error.get("name")) or "the agent reported an error"


def _render_claude(kind: str, event: dict[str, Any]) -> str | None:
    if kind == "system" and event.get("subtype") == "init":
        return f"session {event.get('session_id')} (model {event.get('model')})"
    if kind == "assistant":
        message = _table(event, "message")
        parts = []
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
                parts.append(str(block["text"]))
            elif isinstance(block, dict) and block.get("type") == "tool_use":
                parts.append(f"→ {block.get('name')} {_brief(block.get('input'))}")
        return "\n".join(parts) or None
    if kind == "result":
        cost = event.get("total_cost_usd")
        verdict = "error" if event.get("is_error") else str(event.get("subtype", "done"))
        return f"result: {verdict}, {event.get('num_turns')} turns, ${cost if cost is not None else '?'}"
    if kind == "rate_limit_event":
        info = _table(event, "rate_limit_info")
        if info.get("status") == "rejected":
            return f"rate limited ({info.get('rateLimitType', 'limit')}), resets at {info.get('resetsAt')}"
    return None


def _render_codex(kind: str, event: dict[str, Any]) -> str | None:
    if kind == "thread.started":
        return f"session {event.get('thread_id')}"
    if kind == "error":
        return f"error: {event.get('message')}"
    if kind == "turn.failed":
        error = _table(event, "error")
        return f"turn failed: {error.get('message')}"
    if kind == "turn.completed":
        usage = _table(event, "usage")
        return f"turn done: {usage.get('input_tokens')} tokens in, {usage.get('output_tokens')} out"
    if kind == "item.completed":
        item = _table(event, "item")
        kind = str(item.get("type"))
        if kind in ("agent_message", "reasoning"):
            return str(item.get("text") or "") or None
        if kind == "command_execution":
            return f"$ {item.get('command')} (exit {item.get('exit_code')})"
        if kind == "file_change":
            return "edited " + ", ".join(str(c.get("path")) for c in item.get("changes") or [] if isinstance(c, dict))
        if kind == "error":
            return f"error: {item.get('message')}"
    return None


def _render_gemini(kind: str, event: dict[str, Any]) -> str | None:
    if kind == "init":
        return f"session {event.get('session_id')} (model {event.get('model')})"
    if kind == "message" and event.get("role") == "assistant":
        return str(event.get("content") or "") or None
    if kind == "tool_use":
        return f"→ {event.get('tool_name')} {_brief(event.get('parameters'))}"
    if kind == "error":
        return f"{event.get('severity', 'error')}: {event.get('message')}"
    if kind == "result":
        error = _table(event, "error")
        return f"result: {event.get('status')}" + (f": {error.get('message')}" if error else "")
    return None


def _render_opencode(kind: str, event: dict[str, Any]) -> str | None:
    part = _table(event, "part")
    if kind == "text":
        return str(part.get("text") or "") or None
    if kind == "tool_use":
        state = _table(part, "state")
        return f"→ {part.get('tool')} {_brief(state.get('input'))}"
    if kind == "error":
        error = _table(event, "error")
        data = _table(error, "data")
        return f"error: {data.get('message') or error.get('name')}"
    return None


def _claude_text(message: dict[str, Any]) -> str | None:
    texts = [str(b["text"]) for b in message.get("content") or [] if isinstance(b, dict) and b.get("type") == "text" and b.get("text")]
    return "\n".join(texts) or None


def _brief(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("file_path", "path", "command", "pattern", "url"):
            if key in value:
                return str(value[key])[:120]
        return ", ".join(f"{k}={str(v)[:40]}" for k, v in list(value.items())[:3])
    return str(value or "")[:120]


def _table(event: dict[str, Any], key: str) -> dict[str, Any]:
    """``event[key]`` when it is a JSON object, else an empty one: the CLIs'
    events are read defensively, a missing or odd field is never an error."""
    value = event.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _number(value: Any, default: float | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _epoch(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return value / 1000.0 if value > 1e11 else float(value)  # milliseconds or seconds
