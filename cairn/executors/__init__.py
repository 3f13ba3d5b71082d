"""Executors: where a task's agent runs (docs/executors.md).

``local`` is today's runner: a process on this machine that starts and
supervises the agent, alive exactly as long as it holds ``runner.lock``.
``ray`` and ``slurm`` hand the agent to a cluster engine as a job: the node
clones at the task's base, runs the agent under the same supervision and
sends ``cairn/<id>`` back.  The local runner then only watches the job; the
workspace, proposal, checks, reviewer and accept stay here.  A new engine
(a Kubernetes Job) is one more module implementing ``Executor`` (base.py).
"""
