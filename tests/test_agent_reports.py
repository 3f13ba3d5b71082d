"""Reading what agents report: session, cost, tokens, turns, final message, error, limits.

Captured outputs (tests/fixtures/agents/, the version in each name) where a
CLI prints its machine-readable stream without a model; the success shapes
below are written from each CLI's documented fields, since no model is
reachable here to produce them.
"""

from __future__ import annotations

import json
from pathlib import Path

from cairn.core.reports import render, summarize

FIXTURES = Path(__file__).parent / "fixtures" / "agents"


def events(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line.startswith("{")]


def test_claude_not_logged_in_is_an_error_though_its_subtype_says_success() -> None:
    report = summarize("claude", events("claude-2.1.197-stream-json-not-logged-in.jsonl"))
    assert report.session_id == "edd5175e-e9c4-42c5-82bb-daac46d3df55"
    assert report.error == "Not logged in · Please run /login"
    assert report.turns == 1 and report.cost_usd == 0 and report.input_tokens == 0 and report.output_tokens == 0
    assert not report.rate_limited


def test_claude_events_render_as_lines_a_person_reads() -> None:
    lines = [render("claude", e) for e in events("claude-2.1.197-stream-json-not-logged-in.jsonl")]
    assert lines[0].startswith("session edd5175e")
    assert lines[1] == "Not logged in · Please run /login"
    assert lines[2] == "result: error, 1 turns, $0"


def test_codex_keeps_its_thread_and_does_not_take_reconnects_for_its_verdict() -> None:
    report = summarize("codex", events("codex-0.171.0-exec-json-no-network.jsonl"))
    assert report.session_id == "01a233d0-dda8-7a43-b52f-cdf03cd1400d"
    assert report.error is None
    assert render("codex", {"type": "error", "message": "Reconnecting... waiting for network"}) == "error: Reconnecting... waiting for network"


def test_a_successful_claude_run() -> None:
    report = summarize("claude", [
        {"type": "system", "subtype": "init", "session_id": "s1"},
        {"type": "assistant", "message": {"content": [{"type": "text", "text": "Editing."}, {"type": "tool_use", "name": "Edit", "input": {"file_path": "a.py"}}]}},
        {"type": "result", "subtype": "success", "is_error": False, "num_turns": 3, "result": "Done: a.py fixed.", "session_id": "s1",
         "total_cost_usd": 0.0412, "usage": {"input_tokens": 10, "cache_read_input_tokens": 900, "cache_creation_input_tokens": 90, "output_tokens": 250}},
    ])
    assert (report.session_id, report.turns, report.cost_usd, report.final_message, report.error) == ("s1", 3, 0.0412, "Done: a.py fixed.", None)
    assert (report.input_tokens, report.output_tokens) == (1000, 250)


def test_a_claude_rate_limit_says_when_it_resets() -> None:
    report = summarize("claude", [
        {"type": "rate_limit_event", "rate_limit_info": {"status": "rejected", "resetsAt": 1_800_000_000, "rateLimitType": "five_hour"}},
        {"type": "result", "subtype": "success", "is_error": True, "result": "5-hour limit reached ∙ resets 3pm", "num_turns": 1},
    ])
    assert report.rate_limited and report.resets_at == 1_800_000_000
    assert report.error == "5-hour limit reached ∙ resets 3pm"


def test_a_codex_run_with_turns_and_a_failure() -> None:
    report = summarize("codex", [
        {"type": "thread.started", "thread_id": "t1"},
        {"type": "turn.completed", "usage": {"input_tokens": 100, "cached_input_tokens": 50, "output_tokens": 20}},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "All done."}},
        {"type": "turn.completed", "usage": {"input_tokens": 30, "output_tokens": 5}},
        {"type": "turn.failed", "error": {"message": "You've hit your usage limit. Try again later."}},
    ])
    assert (report.session_id, report.turns, report.input_tokens, report.output_tokens) == ("t1", 2, 130, 25)
    assert report.final_message == "All done." and report.error.startswith("You've hit your usage limit")
    assert report.rate_limited and report.cost_usd is None


def test_a_gemini_stream() -> None:
    report = summarize("gemini", [
        {"type": "init", "session_id": "g1", "model": "gemini-2.5-pro"},
        {"type": "message", "role": "assistant", "content": "Hel", "delta": True},
        {"type": "message", "role": "assistant", "content": "lo.", "delta": True},
        {"type": "result", "status": "error", "error": {"type": "ApiError", "message": "Quota exceeded", "code": 429},
         "stats": {"input_tokens": 7, "output_tokens": 2, "tool_calls": 0}},
    ])
    assert (report.session_id, report.final_message, report.input_tokens, report.output_tokens) == ("g1", "Hello.", 7, 2)
    assert report.error == "Quota exceeded" and report.rate_limited


def test_an_opencode_stream() -> None:
    report = summarize("opencode", [
        {"type": "step_start", "sessionID": "ses_1", "part": {}},
        {"type": "text", "sessionID": "ses_1", "part": {"text": "Fixed it."}},
        {"type": "step_finish", "sessionID": "ses_1", "part": {"cost": 0.01, "tokens": {"input": 40, "output": 9}}},
        {"type": "step_finish", "sessionID": "ses_1", "part": {"cost": 0.02, "tokens": {"input": 60, "output": 1}}},
    ])
    assert (report.session_id, report.turns, report.input_tokens, report.output_tokens) == ("ses_1", 2, 100, 10)
    assert abs(report.cost_usd - 0.03) < 1e-9 and report.final_message == "Fixed it." and report.error is None


def test_amp_speaks_claudes_stream() -> None:
    report = summarize("amp", [{"type": "result", "subtype": "error_during_execution", "is_error": True, "result": "Out of credits", "session_id": "T-1"}])
    assert report.format == "amp" and report.session_id == "T-1" and report.error == "Out of credits"


def test_unknown_and_malformed_events_are_ignored() -> None:
    report = summarize("claude", [{"type": "mystery"}, {"type": "result", "usage": "not a dict", "num_turns": "x"}])
    assert report.error is None and report.turns is None


def test_the_dashboard_heading_sums_up_a_report_in_a_line() -> None:
    from cairn.cmd.views import report_brief

    report = {"cost_usd": 0.25, "input_tokens": 1200, "output_tokens": 300, "turns": 4, "session_id": "s-42"}
    assert report_brief(report) == "$0.25, 1200+300 tokens, 4 turns, session s-42"
    assert report_brief({"session_id": "t1", "cost_usd": None}) == "session t1"
    assert report_brief(None) == ""
