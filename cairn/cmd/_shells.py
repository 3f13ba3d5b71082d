"""The completion scripts of `cairn completion`, rendered from the commands'
own declarations (``Verb.params``), so a new option completes the day it is
added.

Each parameter is sorted into what a Tab should offer after it: nothing (a
flag), a fixed list (a ``Choice``: priorities, states, strategies), task ids,
agent names, file names, or nothing useful (free text: a title, a duration).
The dynamic lists are asked of ``cairn completion --list`` at Tab time; task
ids are narrowed to the states the verb accepts (only review tasks for
``accept``), everything else is decided here, once.

One script serves ``cairn VERB`` and every ``cairn-VERB``.
"""

from __future__ import annotations

import importlib
from typing import Any

from cairn.cmd._args import Choice, Option
from cairn.cmd.main import VERBS

#: The states whose task ids a verb's ID argument offers; a verb not listed offers every task.
TASK_STATES: dict[str, tuple[str, ...]] = {
    "accept": ("review",),
    "reject": ("review",),
    "open": ("review", "running"),
    "cancel": ("queued", "running"),
    "spawn": ("queued",),
    "wait": ("queued", "running"),
    "attach": ("running",),
    "restore": ("rejected",),
    "retry": ("review", "failed", "rejected", "cancelled"),
}

_FILE_METAVARS = {"PATH", "FILE", "DIR", "DIRECTORY"}


def kind_of(param: Any, verb: str) -> str:
    """What completes after this parameter: ``flag``, ``words:A B``, ``tasks[:STATES]``, ``agents``, ``files``, ``text``."""
    convert = getattr(param, "convert", None)
    if isinstance(param, Option) and param.is_flag:
        return "flag"
    if getattr(convert, "completes", None) == "task":
        states = TASK_STATES.get(verb, ()) if not isinstance(param, Option) else ()
        return "tasks" + (":" + " ".join(states) if states else "")
    if isinstance(convert, Choice):
        return "words:" + " ".join(convert.choices)
    if param.dest == "agent" if isinstance(param, Option) else False:
        return "agents"
    if getattr(param, "metavar", "").upper() in _FILE_METAVARS or (isinstance(param, Option) and "--file" in param.opts):
        return "files"
    return "text"


def table() -> dict[str, tuple[list[tuple[tuple[str, ...], str, str]], str]]:
    """verb -> ([(option names, kind, help)], what its positional arguments complete)."""
    verbs = {}
    for verb in VERBS:
        command = importlib.import_module(f"cairn.cmd.{verb.replace('-', '_')}").command
        options = [(o.opts, kind_of(o, verb), o.help) for o in command.options]
        options.append((("--help",), "flag", "Show the help and exit."))
        arguments = [kind_of(a, verb) for a in command.arguments]
        verbs[verb] = (options, next((k for k in arguments if k != "text"), "text"))
    return verbs


def script(shell: str) -> str:
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](table())


def _quote(text: str) -> str:
    """Single-quoted for sh-like shells (bash, zsh, fish share this form)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "'\\''") + "'" if text else "''"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _commands() -> str:
    return " ".join(["cairn", *(f"cairn-{verb}" for verb in VERBS)])


# -- bash ----------------------------------------------------------------------------


#: The statement that offers one kind of value, in bash and in zsh.
_OFFERS = {
    "bash": {"words": "_cairn_words {quoted}", "files": "_cairn_files"},
    "zsh": {"words": "compadd -- {words}", "files": "_files"},
}


def _offer(kind: str, shell: str) -> str:
    """The statement that fills the shell's candidates for one kind (kind_of)."""
    if kind.startswith("words:"):
        return _OFFERS[shell]["words"].format(quoted=_quote(kind[6:]), words=kind[6:])
    if kind.startswith("tasks"):
        return "_cairn_list tasks" + "".join(f" --state {s}" for s in kind[6:].split())
    if kind == "agents":
        return "_cairn_list agents"
    if kind == "files":
        return _OFFERS[shell]["files"]
    return ":"


def _bash(verbs: dict[str, Any]) -> str:
    cases = []
    for verb, (options, arguments) in verbs.items():
        names = " ".join(n for opts, _, _ in options for n in opts)
        values = []
        for opts, kind, _ in options:
            if kind != "flag":
                values.append(f"                {'|'.join(opts)}) {_offer(kind, 'bash')}; return ;;")
        cases.append(
            f"        {verb})\n"
            f"            opts={_quote(names)}\n"
            + (f"            case $prev in\n" + "\n".join(values) + "\n            esac\n" if values else "")
            + f"            [[ $cur == -* ]] && {{ _cairn_words \"$opts\"; return; }}\n"
            f"            {_offer(arguments, 'bash')} ;;"
        )
    return f"""# bash completion for cairn and every cairn-VERB: `cairn completion bash`.
# Load it with `source <(cairn completion bash)` in ~/.bashrc, or put it in
# ~/.local/share/bash-completion/completions/cairn (the Nix package installs it).

_cairn_words() {{ COMPREPLY=($(compgen -W "$1" -- "$cur")); }}
_cairn_files() {{ compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); }}
_cairn_list() {{ _cairn_words "$(command cairn completion --list "$@" 2>/dev/null)"; }}

_cairn() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} verb opts
    local command=${{COMP_WORDS[0]##*/}}
    COMPREPLY=()
    if [[ $command == cairn-* ]]; then
        verb=${{command#cairn-}}
    elif (( COMP_CWORD == 1 )); then
        _cairn_words {_quote(" ".join([*VERBS, "--help", "--version"]))}
        return
    else
        verb=${{COMP_WORDS[1]}}
    fi
    case $verb in
{chr(10).join(cases)}
    esac
}}

complete -F _cairn {_commands()}
"""


# -- zsh -----------------------------------------------------------------------------


def _zsh(verbs: dict[str, Any]) -> str:
    cases = []
    for verb, (options, arguments) in verbs.items():
        described = " ".join(_quote(f"{n}:{text}".replace("\n", " ")) for opts, _, text in options for n in opts)
        values = [f"                ({'|'.join(opts)}) {_offer(kind, 'zsh')}; return ;;" for opts, kind, _ in options if kind != "flag"]
        cases.append(
            f"        ({verb})\n"
            + (f"            case $prev in\n" + "\n".join(values) + "\n            esac\n" if values else "")
            + f"            if [[ $cur == -* ]]; then _cairn_options {described}; return; fi\n"
            f"            {_offer(arguments, 'zsh')} ;;"
        )
    described_verbs = " ".join(_quote(f"{verb}:{text}") for verb, text in VERBS.items())
    return f"""#compdef {_commands()}
# zsh completion for cairn and every cairn-VERB: `cairn completion zsh`.
# Put it in a directory on $fpath as _cairn (the Nix package installs it in
# share/zsh/site-functions), or `source <(cairn completion zsh)` after compinit.

_cairn_list() {{ local -a found; found=(${{(f)"$(command cairn completion --list "$@" 2>/dev/null)"}}); compadd -- $found; }}
_cairn_options() {{ local -a described; described=("$@"); _describe -t options option described; }}

_cairn() {{
    local cur=${{words[CURRENT]}} prev=${{words[CURRENT-1]}} verb
    local command=${{words[1]:t}}
    if [[ $command == cairn-* ]]; then
        verb=${{command#cairn-}}
    elif (( CURRENT == 2 )); then
        local -a verbs; verbs=({described_verbs})
        _describe -t verbs verb verbs
        return
    else
        verb=${{words[2]}}
    fi
    case $verb in
{chr(10).join(cases)}
    esac
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _cairn "$@"
else
    compdef _cairn {_commands()}
fi
"""


# -- fish ----------------------------------------------------------------------------


def _fish_offer(kind: str) -> str:
    """fish's -a argument (or -F for files) for one kind."""
    if kind.startswith("words:"):
        return f"-a {_fish_quote(kind[6:])}"
    if kind.startswith("tasks"):
        states = kind[6:].split()
        return "-a " + _fish_quote("(command cairn completion --list tasks" + "".join(f" --state {s}" for s in states) + " 2>/dev/null)")
    if kind == "agents":
        return "-a '(command cairn completion --list agents 2>/dev/null)'"
    if kind == "files":
        return "-F"
    return ""


def _fish(verbs: dict[str, Any]) -> str:
    lines = [
        "# fish completion for cairn and every cairn-VERB: `cairn completion fish`.",
        "# Put it in ~/.config/fish/completions/cairn.fish (the Nix package installs it",
        "# in share/fish/vendor_completions.d), or `cairn completion fish | source`.",
        "",
        "function __cairn_verb --description 'the verb being completed: cairn VERB, or cairn-VERB'",
        "    set -l words (commandline -opc)",
        "    set -l command (basename -- $words[1])",
        "    if string match -q 'cairn-*' -- $command",
        "        string replace 'cairn-' '' -- $command",
        "    else if set -q words[2]",
        "        echo $words[2]",
        "    end",
        "end",
        "",
        "function __cairn_verb_is --description 'is the verb being completed the one given?'",
        "    set -l verb (__cairn_verb)",
        "    test \"$verb\" = \"$argv[1]\"",
        "end",
        "",
        "function __cairn_needs_verb",
        "    set -l words (commandline -opc)",
        "    test (basename -- $words[1]) = cairn; and test (count $words) -eq 1",
        "end",
        "",
        "complete -c cairn -f",
        "complete -c cairn -n __cairn_needs_verb -l version -d 'Print the version'",
    ]
    for verb, text in VERBS.items():
        lines.append(f"complete -c cairn -n __cairn_needs_verb -a {verb} -d {_fish_quote(text)}")
    for verb, (options, arguments) in verbs.items():
        condition = f"-n '__cairn_verb_is {verb}'"
        for command in ("cairn", f"cairn-{verb}"):
            if command != "cairn":
                lines.append(f"complete -c {command} -f")
            for opts, kind, text in options:
                names = " ".join(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}" for n in opts)
                value = "" if kind == "flag" else (" -r " + _fish_offer(kind) if _fish_offer(kind) else " -r")
                lines.append(f"complete -c {command} {condition} {names}{value} -d {_fish_quote(text.splitlines()[0] if text else '')}".rstrip())
            offer = _fish_offer(arguments)
            if offer:
                lines.append(f"complete -c {command} {condition} {offer}")
    return "\n".join(lines) + "\n"
