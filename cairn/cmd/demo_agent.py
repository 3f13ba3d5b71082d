"""``cairn-demo-agent [PROMPT_FILE]``: the scripted agent (cairn/agents/demo.py)."""

import sys

from cairn.agents.demo import main as run


def main() -> None:
    sys.exit(run())
