#!/bin/sh
# The tools the test suite drives for real, installed when missing:
#   tmux, git          Debian packages
#   nix-instantiate    Debian's nix-bin (evaluates Cairn's Nix modules offline)
#   jj                 upstream Jujutsu binary from the npm package @smthrs/jj-linux-x64
#   hyperfine, tsp     Debian packages, for `make bench` only
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

apt_install tmux:tmux git:git nix-instantiate:nix-bin zsh:zsh fish:fish
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
