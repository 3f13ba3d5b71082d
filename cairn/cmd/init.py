"""``cairn init``: create the state directory.  Idempotent; other commands do it on first use."""

from __future__ import annotations

from cairn.cmd._cli import echo, entrypoint, json_option, print_json, settings, store_for, verb


@verb("Create the state directory (idempotent). Other commands create it on first use too.")
@json_option
def command(as_json: bool) -> None:
    current = settings()
    store = store_for(current)
    created = store.init(current.root)
    if as_json:
        print_json({"home": str(current.home), "created": created, "repo": str(current.root) if current.root else None})
    else:
        echo(f"{'created' if created else 'already initialised:'} {current.home}")


main = entrypoint(command, "init")
