"""The man pages, rendered from docs/cli.md when the package is built.

docs/cli.md is the command reference, checked against the commands by
tests/test_docs.py; the man pages are that same text in roff, so they can
never say something else.  One page per verb (``cairn-accept.1``, from its
``### `cairn accept …` `` section) and ``cairn.1`` for the whole (the
introduction, every verb, the exit statuses).  setup.py runs this while
building the wheel and puts the pages in the package, ``cairn/man/man1/``;
the Nix package installs them where ``man`` looks.

Only the Markdown docs/cli.md uses is understood: headings, paragraphs,
``-`` lists, four-space code blocks, tables, ``code``, *emphasis*, links.
Standard library only: this runs before any dependency is installed.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

_VERB_HEADING = re.compile(r"^### `cairn ([a-z][a-z0-9-]*)(.*)`\s*$")


@dataclass
class Section:
    verb: str
    synopsis: str
    body: list[str] = field(default_factory=list)


def split(markdown: str) -> tuple[list[str], list[str], list[Section]]:
    """The introduction, the exit-status section and one Section per verb."""
    intro: list[str] = []
    exit_status: list[str] = []
    sections: list[Section] = []
    target = intro
    for line in markdown.splitlines():
        verb = _VERB_HEADING.match(line)
        if verb:
            sections.append(Section(verb.group(1), verb.group(2).strip()))
            target = sections[-1].body
        elif line.startswith("## "):
            target = exit_status if line[3:].strip().lower() == "exit status" else []
        elif line.startswith("# "):
            continue
        else:
            target.append(line)
    return intro, exit_status, sections


def inline(text: str) -> str:
    """Markdown spans to roff fonts; roff's own characters escaped."""
    text = text.replace("\\|", "|").replace("\\", "\\e")
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (\2)", text)
    text = re.sub(r"`([^`]+)`", lambda m: "\\fB" + m.group(1).replace("-", "\\-") + "\\fR", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", text)
    return text


def _line(text: str) -> str:
    """A text line that roff will not read as a request."""
    return "\\&" + text if text.startswith((".", "'")) else text


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def blocks(lines: list[str]) -> list[str]:
    """Markdown block structure to roff requests."""
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(".PP")
            out.extend(_line(inline(" ".join(paragraph))).splitlines())
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("    "):
            flush()
            code = []
            while index < len(lines) and (lines[index].startswith("    ") or (lines[index] == "" and index + 1 < len(lines) and lines[index + 1].startswith("    "))):
                code.append(lines[index][4:])
                index += 1
            out += [".RS 4", ".nf", *(_line(c.replace("\\", "\\e")) for c in code), ".fi", ".RE"]
            continue
        if line.startswith("```"):
            flush()
            index += 1
            code = []
            while index < len(lines) and not lines[index].startswith("```"):
                code.append(lines[index])
                index += 1
            out += [".RS 4", ".nf", *(_line(c.replace("\\", "\\e")) for c in code), ".fi", ".RE"]
            index += 1
            continue
        if line.startswith("|"):
            flush()
            rows = []
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            body = [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
            for row in body:
                out += [".TP", _line(inline(row[0])), _line(inline(" ".join(c for c in row[1:] if c)))]
            continue
        if line.startswith("- "):
            flush()
            item = [line[2:]]
            index += 1
            while index < len(lines) and lines[index].startswith("  ") and not lines[index].startswith("    "):
                item.append(lines[index].strip())
                index += 1
            out += [".IP \\(bu 2", _line(inline(" ".join(item)))]
            continue
        if line.startswith("#### "):
            flush()
            out += [".SS " + inline(line[5:].strip())]
        elif line.strip():
            paragraph.append(line.strip())
        else:
            flush()
        index += 1
    flush()
    return out


def _summary(body: list[str]) -> str:
    """The section's first sentence: the NAME line of a verb the dispatcher does not list."""
    text = " ".join(l.strip() for l in body if l.strip() and not l.startswith(("    ", "|", "- ")))
    first = re.split(r"(?<=[.:])\s", text, maxsplit=1)[0].rstrip(".:")
    return re.sub(r"[`*]", "", first)


def _header(name: str, version: str) -> list[str]:
    return [
        f'.\\" Rendered from docs/cli.md by man/render.py; edit that file, not this one.',
        f'.TH "{name.upper()}" "1" "" "cairn {version}" "Cairn"',
    ]


def _options_first(body: list[str]) -> tuple[list[str], list[str]]:
    """The `| option | |` table apart from the prose around it."""
    for start, line in enumerate(body):
        if line.startswith("|") and _cells(line)[0].lower() == "option":
            end = start
            while end < len(body) and body[end].startswith("|"):
                end += 1
            return body[:start] + body[end:], body[start:end]
    return body, []


def page(section: Section, exit_status: list[str], version: str, summary: str) -> str:
    prose, options = _options_first(section.body)
    synopsis = inline(section.synopsis).replace("-", "\\-")
    lines = _header(f"cairn-{section.verb}", version)
    lines += [".SH NAME", f"cairn-{section.verb} \\- {_line(inline(summary))}"]
    lines += [".SH SYNOPSIS", f"\\fBcairn {section.verb}\\fR {synopsis}".rstrip(), ".br",
              f"\\fBcairn-{section.verb}\\fR {synopsis}".rstrip()]
    lines += [".SH DESCRIPTION", *blocks(prose)]
    if options:
        lines += [".SH OPTIONS", *blocks(options)]
    lines += [".SH EXIT STATUS", *blocks(exit_status)]
    lines += [".SH SEE ALSO", "\\fBcairn\\fR(1), which lists every verb; docs/cli.md in Cairn's source."]
    return "\n".join(lines) + "\n"


def overview(intro: list[str], exit_status: list[str], sections: list[Section], version: str, summaries: dict[str, str]) -> str:
    lines = _header("cairn", version)
    lines += [".SH NAME", "cairn \\- run a crew of AI coding agents in parallel on one repository"]
    lines += [".SH SYNOPSIS", "\\fBcairn\\fR \\fIVERB\\fR [\\fIARGS\\fR]...", ".br", "\\fBcairn-\\fR\\fIVERB\\fR [\\fIARGS\\fR]...",
              ".br", "\\fBcairn \\-\\-version\\fR"]
    lines += [".SH DESCRIPTION", *blocks(intro)]
    lines += [".SH VERBS"]
    for section in sections:
        lines += [".TP", f"\\fBcairn {section.verb}\\fR", _line(inline(summaries[section.verb])) + f"; see \\fBcairn-{section.verb}\\fR(1)."]
    lines += [".SH EXIT STATUS", *blocks(exit_status)]
    lines += [".SH SEE ALSO", "docs/cli.md, docs/state-directory.md and docs/configuration.md in Cairn's source."]
    return "\n".join(lines) + "\n"


def render(markdown: str, version: str, one_liners: dict[str, str]) -> dict[str, str]:
    """File name -> page, for every page docs/cli.md makes.  ``one_liners``:
    the dispatcher's help line of each verb (`cairn --help`), for NAME."""
    intro, exit_status, sections = split(markdown)
    summaries = {s.verb: one_liners.get(s.verb) or _summary(s.body) for s in sections}
    pages = {"cairn.1": overview(intro, exit_status, sections, version, summaries)}
    for section in sections:
        pages[f"cairn-{section.verb}.1"] = page(section, exit_status, version, summaries[section.verb])
    return pages


def write(cli_md: Path, version: str, one_liners: dict[str, str], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(cli_md.read_text(encoding="utf-8"), version, one_liners).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # python man/render.py DIRECTORY, from the source's root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cairn import __version__
    from cairn.cmd.main import VERBS

    for path in write(Path("docs/cli.md"), __version__, VERBS, Path(sys.argv[1])):
        print(path)
