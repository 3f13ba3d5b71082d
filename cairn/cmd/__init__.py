"""One module per entrypoint: parse, call the core and the store, show the result."""
