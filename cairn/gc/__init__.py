"""``cairn gc``, the imperative shell around the pure plan in cairn/core/gc.py.

    collect.py   facts: the state directory, git's worktrees and refs, the disk
    jj.py        jj workspaces: their facts, and removing one once its work is kept
    perform.py   carry out a plan, each step re-checked under the task's lock
    run.py       one gc run: lock, collect, plan (re-checking what would go), perform
    periodic.py  gc on a timer, for ``cairn up`` (gc.interval)
    disk.py      measuring and removing directory trees, processes working inside them
"""
