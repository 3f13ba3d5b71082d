"""Which of Cairn's own environment variables reach an agent.  Pure.

The rule, in one line: a variable is passed unless a ``drop`` pattern matches
it, and a ``pass`` pattern (the configuration's, or one its profile declares
for what its agent needs) makes an exception to ``drop``.  Then ``set`` (the
configuration's, then the profile's ``env``) and Cairn's own ``CAIRN_*``
variables are laid on top.

The default ``drop`` keeps every provider's credentials, cloud accounts and
anything named like a secret away from agents; each built-in profile passes
back only its own provider's variables, so a Claude agent never sees
``OPENAI_API_KEY`` or ``AWS_*``.  Allow-list mode is ``drop = ["*"]`` with the
names to keep in ``pass``.  Patterns are shell globs (``fnmatch``), matched
case-sensitively.  Only names are ever recorded, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from cairn.core.records import record

#: What no agent gets unless a pass pattern names it.
DEFAULT_DROP: tuple[str, ...] = (
    # model providers
    "ANTHROPIC_*", "CLAUDE_*", "OPENAI_*", "CODEX_*", "AZURE_*", "GEMINI_*", "GOOGLE_*", "VERTEX*",
    "MISTRAL_*", "GROQ_*", "DEEPSEEK_*", "OPENROUTER_*", "XAI_*", "COHERE_*", "TOGETHER_*",
    "FIREWORKS_*", "PERPLEXITY*", "REPLICATE_*", "HF_*", "HUGGING*", "AMP_*", "AIDER_*", "OPENCODE_*",
    # cloud accounts and registries
    "AWS_*", "GCP_*", "GCLOUD_*", "CLOUDSDK_*", "DIGITALOCEAN_*", "HCLOUD_*", "LINODE_*", "CLOUDFLARE_*",
    "DOCKER_*", "NPM_TOKEN", "TWINE_*", "PYPI_*", "CARGO_REGISTRY_TOKEN", "VAULT_*", "KUBECONFIG",
    # anything named like a secret
    "*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*API_KEY*", "*APIKEY*", "*_KEY", "*CREDENTIAL*",
    "*PRIVATE*", "*_AUTH",
    # doors to programs outside any sandbox: the user's key agents (an agent
    # pushes nothing, Cairn lands), the session bus (`systemd-run --user`), tmux
    "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS", "TMUX", "TMUX_PANE",
)


@record
class EnvPolicy:
    passed: tuple[str, ...] = ()
    drop: tuple[str, ...] = DEFAULT_DROP
    set: tuple[tuple[str, str], ...] = ()


def matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def filtered(base: Mapping[str, str], policy: EnvPolicy, needs: Iterable[str] = ()) -> dict[str, str]:
    """``base`` with the policy applied, before anything is set on top."""
    exceptions = (*policy.passed, *needs)
    return {
        name: value
        for name, value in base.items()
        if not matches(name, policy.drop) or matches(name, exceptions)
    }


def compose(base: Mapping[str, str], policy: EnvPolicy, *, needs: Iterable[str] = (),
            profile_set: Mapping[str, str] | None = None, cairn: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of one program Cairn starts in a workspace."""
    env = filtered(base, policy, needs)
    env.update(policy.set)
    env.update(profile_set or {})
    env.update(cairn or {})
    return env


def withheld(base: Mapping[str, str], given: Mapping[str, str]) -> list[str]:
    """Names of Cairn's environment an agent did not get (for the record, and ``cairn status``)."""
    return sorted(name for name in base if name not in given)
