"""``cairn tui``: the full-screen dashboard (Textual).  Only ``cairn tui`` imports this package."""
