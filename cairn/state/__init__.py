"""The state directory: the file format every Cairn command shares."""
