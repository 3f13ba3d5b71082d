#!/bin/sh
# The tools the test suite drives for real, installed when missing:
#   tmux, git          Debian packages
#   bwrap              Debian's bubblewrap (the agent sandbox, tests/test_sandbox.py)
#   nix-instantiate    Debian's nix-bin (evaluates Cairn's Nix modules offline)
#   jj                 upstream Jujutsu binary from the npm package @smthrs/jj-linux-x64
#   hyperfine, tsp     Debian packages, for `make bench` only
#   slurm-wlm, munge   Debian packages: a one-node Slurm cluster for tests/test_executors.py
#   ray[default]       from PyPI into its own venv, .tools/ray (never Cairn's): a Ray head for the same
#                      tests; about 2 minutes and 400 MB once, then cached
# `sh .ci/tools.sh` installs everything; `sh .ci/tools.sh bench` adds the bench's tools.
# Idempotent; a tool that cannot be installed here makes its tests skip, saying why.
set -eu
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools/bin"
mkdir -p "$TOOLS"

apt_install() {
    missing=""
    for pair in "$@"; do
        command=${pair%%:*}; package=${pair#*:}
        command -v "$command" >/dev/null 2>&1 || missing="$missing $package"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "tools: installing$missing" >&2
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1 \
            || echo "tools: could not install$missing; their tests will skip" >&2
    else
        echo "tools: missing$missing (not root or no apt-get); their tests will skip" >&2
    fi
}

apt_install tmux:tmux git:git nix-instantiate:nix-bin bwrap:bubblewrap slurmctld:slurm-wlm munged:munge zsh:zsh fish:fish
if [ "${1:-}" = bench ]; then
    apt_install hyperfine:hyperfine tsp:task-spooler
fi

JJ_PACKAGE="@smthrs/jj-linux-x64@0.35.0"
if ! command -v jj >/dev/null 2>&1 && [ ! -x "$TOOLS/jj" ]; then
    if command -v npm >/dev/null 2>&1; then
        work=$(mktemp -d)
        if (cd "$work" && npm pack --silent "$JJ_PACKAGE" >/dev/null 2>&1 && tar xzf ./*.tgz); then
            cp "$work/package/bin/jj" "$TOOLS/jj" && chmod +x "$TOOLS/jj"
            echo "tools: jj $("$TOOLS/jj" --version 2>/dev/null | cut -d' ' -f2) from $JJ_PACKAGE" >&2
        else
            echo "tools: could not fetch $JJ_PACKAGE; the jj tests will skip" >&2
        fi
        rm -rf "$work"
    else
        echo "tools: npm is missing; the jj tests will skip" >&2
    fi
fi

# The coding agents behind Cairn's built-in profiles, for the contract tests
# (tests/test_agent_contract.py).  Pinned; each is installed once into a
# folder of its own under .tools/agents/ (CAIRN_TOOLS_CACHE=DIR: under DIR/agents
# instead, to share one install between checkouts) and linked into
# .tools/agents/bin, which only those tests put on PATH.  To bump
# one: change its pin here, run `sh .ci/tools.sh`, run `pytest -m contract`,
# then refresh its fixtures (tests/fixtures/agents/).  Amp: the newest
# @sourcegraph/amp releases ship no linux-x64 binary, so the pin is the newest
# that does.
AGENTS="${CAIRN_TOOLS_CACHE:-$PWD/.tools}/agents"
mkdir -p "$AGENTS" "$PWD/.tools/agents/bin"
npm_agent() {  # npm_agent COMMAND PACKAGE@VERSION
    command=$1; spec=$2; dir="$AGENTS/$(echo "$spec" | tr '/@' '__')"
    if [ ! -x "$dir/node_modules/.bin/$command" ]; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "tools: npm is missing; the $command contract tests will skip" >&2; return 0
        fi
        rm -rf "$dir"; mkdir -p "$dir"
        if (cd "$dir" && npm install --silent --no-audit --no-fund --prefix "$dir" "$spec" >/dev/null 2>&1) \
            && [ -x "$dir/node_modules/.bin/$command" ]; then
            echo "tools: $command from $spec" >&2
        else
            echo "tools: could not install $spec (registry unreachable?); the $command contract tests will skip" >&2
            rm -rf "$dir"; rm -f "$PWD/.tools/agents/bin/$command"; return 0
        fi
    fi
    ln -sfn "$dir/node_modules/.bin/$command" "$PWD/.tools/agents/bin/$command"
}
CLAUDE_PACKAGE="@anthropic-ai/claude-code@2.1.197"
CODEX_PACKAGE="@openai/codex@0.171.0"
GEMINI_PACKAGE="@google/gemini-cli@0.61.0"
OPENCODE_PACKAGE="opencode-ai@1.18.33"
AMP_PACKAGE="@sourcegraph/amp@0.0.1790142911-g7618fb"
AIDER_PACKAGE="aider-chat==0.86.2"
aider_agent() {  # Aider in a virtualenv of its own: its many pinned dependencies must not meet Cairn's.
    aider_dir="$AGENTS/$(echo "$AIDER_PACKAGE" | tr '=' '_')"
    if [ ! -x "$aider_dir/bin/aider" ]; then
        rm -rf "$aider_dir"
        if python3 -m venv "$aider_dir" >/dev/null 2>&1 \
            && "$aider_dir/bin/pip" install --quiet --disable-pip-version-check "$AIDER_PACKAGE" >/dev/null 2>&1; then
            echo "tools: aider from $AIDER_PACKAGE" >&2
        else
            echo "tools: could not install $AIDER_PACKAGE (registry unreachable?); the aider contract tests will skip" >&2
            rm -rf "$aider_dir"; rm -f "$PWD/.tools/agents/bin/aider"
        fi
    fi
    if [ -x "$aider_dir/bin/aider" ]; then ln -sfn "$aider_dir/bin/aider" "$PWD/.tools/agents/bin/aider"; fi
}

# Ray only for its head in the executor tests: a venv of its own, so nothing of
# Ray's reaches Cairn's dependencies.  Cached: a venv whose `ray` runs is kept.
RAY_VENV="$PWD/.tools/ray"
ray_head() {
    if [ ! -x "$RAY_VENV/bin/ray" ] || ! "$RAY_VENV/bin/python" -c "import ray.dashboard" >/dev/null 2>&1; then
        echo "tools: installing ray[default] into .tools/ray (about 2 minutes, once)" >&2
        rm -rf "$RAY_VENV"
        if python3 -m venv "$RAY_VENV" && "$RAY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'ray[default]' >/dev/null 2>&1; then
            echo "tools: $("$RAY_VENV/bin/ray" --version 2>/dev/null)" >&2
        else
            rm -rf "$RAY_VENV"
            echo "tools: could not install ray[default]; the Ray tests will skip" >&2
        fi
    fi
}

# The downloads are independent and mostly waiting on the registries: all at
# once (a fresh machine's set-up is several minutes shorter), each in its own
# folder, then wait for all of them.
if [ "${1:-}" != bench ]; then
    npm_agent claude "$CLAUDE_PACKAGE" &
    npm_agent codex "$CODEX_PACKAGE" &
    npm_agent gemini "$GEMINI_PACKAGE" &
    npm_agent opencode "$OPENCODE_PACKAGE" &
    npm_agent amp "$AMP_PACKAGE" &
    aider_agent &
fi
ray_head &
wait
