"""Review and landing: checks, accept, reject and restore, retry, the reviewer agent."""
