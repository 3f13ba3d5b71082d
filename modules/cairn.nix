# devenv module `services.cairn`: Cairn's scheduler as a devenv process, the
# cairn commands on PATH, the state directory under $DEVENV_STATE.
#
# When enabled it sets:
#   env        CAIRN_HOME and CAIRN_CONFIG always; CAIRN_MAX_AGENTS,
#              CAIRN_DEFAULT_AGENT, CAIRN_WORKSPACE_DIR, CAIRN_VCS, CAIRN_EXECUTOR when set
#   packages   cairn, git; tmux, jj and Slurm's clients as chosen
#   tasks      cairn:init (`cairn init`) before the processes
#   processes  cairn (`cairn up`; ready when `cairn status --scheduler` exits 0;
#              restarted on failure) and, when gc.interval is set, cairn-gc
#   scripts    cairn-review, cairn-settings
#
# What must hold:
#  - Cairn owns its defaults.  An option left at null renders nothing, so the
#    team's cairn.toml or Cairn's own default stays in force (precedence in
#    docs/configuration.md); only what is set here reaches Cairn.
#  - One place runs gc: the cairn-gc process.  gc.interval is therefore not
#    written to the config file, where `cairn up` would act on it too.
#  - Commands call ${cfg.package}/bin/cairn and nothing else from the package,
#    so a package that is only a wrapper around a checkout works (devenv.nix).
#  - Optional settings are added with group-level mkIf inside mkMerge, never
#    per variable: devenv's env is a lazy attribute set, where a per-attribute
#    mkIf that is false leaves a name that fails when read.
#
# Every option with its default: docs/devenv.md (tests/test_nix_module.py
# checks that the two agree).
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkIf mkMerge mkOption types;
  cfg = config.services.cairn;
  cairn = "${cfg.package}/bin/cairn";

  # Cairn's own syntax (cairn/core/durations.py), or a number of seconds / bytes.
  duration = types.either types.ints.unsigned (types.strMatching "([0-9]+(\\.[0-9]+)?[smhdw])+");
  # A duration that is not zero: `cairn gc --every` refuses 0, and a process
  # started with it would fail and restart for ever.
  durationPart = "[0-9]+(\\.[0-9]+)?[smhdw]";
  nonZeroPart = "(0*[1-9][0-9]*(\\.[0-9]+)?|[0-9]+\\.[0-9]*[1-9][0-9]*)[smhdw]";
  positiveDuration = types.either types.ints.positive
    (types.strMatching "(${durationPart})*${nonZeroPart}(${durationPart})*");
  size = types.either types.ints.unsigned (types.strMatching "[0-9]+(\\.[0-9]+)?[KMGTkmgt]?[iI]?[bB]?");
  argv = types.nonEmptyListOf types.str;
  asDuration = value: if builtins.isInt value then "${toString value}s" else value;

  unset = type: description: mkOption {
    type = types.nullOr type;
    default = null;
    inherit description;
  };

  agent = types.submodule {
    options = {
      command = mkOption {
        type = argv;
        example = [ "claude" "-p" "{prompt}" "--permission-mode" "acceptEdits" ];
        description = ''
          The agent's command line as a list: no shell ever sees the prompt.
          `{prompt}`, `{prompt_file}`, `{workspace}` and `{task_id}` are filled in.
        '';
      };
      stdin = mkOption {
        type = types.bool;
        default = false;
        description = "Also give the prompt to the agent on its standard input.";
      };
      env = mkOption {
        type = types.attrsOf types.str;
        default = { };
        description = "Environment variables for the agent.";
      };
      description = mkOption {
        type = types.str;
        default = "";
        description = "One line about the profile, shown in listings.";
      };
    };
  };

  # Null values and the groups they leave empty are dropped: unset stays unset.
  compact = value:
    if builtins.isAttrs value
    then lib.filterAttrs (_: v: v != null && v != { }) (builtins.mapAttrs (_: compact) value)
    else value;

  settings = lib.recursiveUpdate
    (compact {
      agents = builtins.mapAttrs (_: a: { inherit (a) command stdin env description; }) cfg.agents;
      checks = { inherit (cfg.check) commands timeout; };
      gc = {
        inherit (cfg.gc) keep;
        max_size = cfg.gc.maxSize;
        max_age = { inherit (cfg.gc.maxAge) accepted rejected failed cancelled; };
      };
      executors = {
        ray = with cfg.executors.ray; {
          inherit address remote command env;
          max_agents = maxAgents;
          shared_dir = sharedDir;
        };
        slurm = with cfg.executors.slurm; {
          inherit remote command partition cpus memory env;
          max_agents = maxAgents;
          shared_dir = sharedDir;
          time_limit = timeLimit;
          sbatch_args = sbatchArgs;
        };
      };
    })
    cfg.settings;
in
{
  options.services.cairn = {
    enable = lib.mkEnableOption "Cairn, a scheduler for parallel coding agents";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../nix/package.nix { };
      defaultText = lib.literalMD "built by `nix/package.nix` beside this module; through the flake's `devenvModules.default`, the flake's `packages.default`";
      description = "The Cairn package. Only its `bin/cairn` is called.";
    };

    stateDir = mkOption {
      type = types.str;
      default = "${config.env.DEVENV_STATE}/cairn";
      defaultText = lib.literalExpression ''"''${config.env.DEVENV_STATE}/cairn"'';
      description = "The state directory, exported as `CAIRN_HOME`.";
    };

    maxAgents = unset types.ints.positive
      "How many agents may run at once (`CAIRN_MAX_AGENTS`). null: cairn.toml or Cairn's default, 4.";

    defaultAgent = unset types.nonEmptyStr
      "The agent profile `cairn queue` uses without `--agent` (`CAIRN_DEFAULT_AGENT`). null: cairn.toml or Cairn's default, `claude`.";

    workspaceDir = unset types.str
      "Where task workspaces are created (`CAIRN_WORKSPACE_DIR`). null: `$CAIRN_HOME/workspaces`.";

    vcs = unset (types.enum [ "auto" "git" "jj" "copy" ])
      "How workspaces are made (`CAIRN_VCS`): git worktrees, jj workspaces or plain copies. null: cairn.toml or `auto`.";

    executor = unset (types.enum [ "local" "ray" "slurm" ])
      "Where a task's agent runs unless `cairn queue --executor` says otherwise (`CAIRN_EXECUTOR`; docs/executors.md). null: cairn.toml or `local`.";

    executors = {
      ray = {
        address = unset types.str "The Ray dashboard's URL (`http://head:8265`). null: `$RAY_ADDRESS`.";
        maxAgents = unset types.ints.positive "How many tasks may run on Ray at once. null: Cairn's default, 4.";
        remote = unset types.str "A git URL the nodes fetch the base from and push `cairn/<id>` to. null: bundles (needs `sharedDir`).";
        sharedDir = unset types.str "A directory this machine and the nodes both see, for work sent back as bundles. null: none.";
        command = unset argv "How a node starts Cairn's remote runner (`[ \"cairn-remote-run\" ]`, or a `nix run` line). null: `cairn-remote-run`.";
        env = unset (types.listOf types.str) "Names of variables sent with each job; Ray shows them to anyone who can read its API: never secrets. null: none.";
      };
      slurm = {
        package = unset types.package "A Slurm package whose client commands (`sbatch`, `squeue`, `scancel`) go on PATH. null: the system's.";
        maxAgents = unset types.ints.positive "How many tasks may run on Slurm at once. null: Cairn's default, 4.";
        remote = unset types.str "A git URL the nodes fetch the base from and push `cairn/<id>` to. null: bundles in `sharedDir`.";
        sharedDir = unset types.str "A directory this machine and the nodes both see: job scripts, output, bundles. Required for Slurm.";
        command = unset argv "How a node starts Cairn's remote runner. null: `cairn-remote-run`.";
        partition = unset types.str "`sbatch --partition`. null: the cluster's default.";
        timeLimit = unset duration "`sbatch --time`, as `2h` or seconds. null: the task's timeout plus ten minutes.";
        cpus = unset types.ints.positive "`sbatch --cpus-per-task`. null: Cairn's default, 1.";
        memory = unset types.str "`sbatch --mem` (`4G`). null: the partition's default.";
        sbatchArgs = unset (types.listOf types.str) "More `sbatch` options, verbatim. null: none.";
        env = unset (types.listOf types.str) "Names of variables exported to the job (`--export`). null: Cairn's default, PATH and HOME.";
      };
    };

    agents = mkOption {
      type = types.attrsOf agent;
      default = { };
      example = lib.literalExpression ''
        {
          claude-review.command = [ "claude" "-p" "{prompt}" "--permission-mode" "plan" ];
          local.command = [ "./scripts/agent.sh" "{prompt_file}" ];
        }
      '';
      description = "Agent profiles, by name. A profile with the name of a built-in one (docs/agents.md) replaces it whole.";
    };

    check = {
      commands = unset (types.listOf argv)
        "The checks gate: commands, each a list, that must pass before `cairn accept` lands a task. null: cairn.toml's, or none.";
      timeout = unset duration
        "How long the checks may take, as `10m` or seconds. null: Cairn's default, 10m.";
    };

    jj = {
      enable = lib.mkEnableOption "jj (Jujutsu) in the environment, for `vcs = \"jj\"` or a colocated repository";
      package = mkOption {
        type = types.package;
        default = pkgs.jujutsu;
        defaultText = lib.literalExpression "pkgs.jujutsu";
        description = "The jj package.";
      };
    };

    tmux = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Put tmux in the environment: agents then run in tmux sessions you can attach to.";
      };
      package = mkOption {
        type = types.package;
        default = pkgs.tmux;
        defaultText = lib.literalExpression "pkgs.tmux";
        description = "The tmux package.";
      };
    };

    gc = {
      interval = unset positiveDuration
        "Run `cairn gc` this often, as its own process `cairn-gc` (`1h`, or seconds). null: no gc process; run `cairn gc` yourself.";
      keep = unset types.ints.unsigned
        "Keep the newest N finished workspaces whatever their age. null: Cairn's default, 0.";
      maxSize = unset size
        "Remove the oldest finished workspaces while all together exceed this (`20G`, or bytes). null: no limit.";
      maxAge = {
        accepted = unset duration "Age after which an accepted task's workspace is collected. null: Cairn's default, 7d.";
        rejected = unset duration "Age after which a rejected task's workspace is collected. null: Cairn's default, 14d.";
        failed = unset duration "Age after which a failed task's workspace is collected. null: Cairn's default, 14d.";
        cancelled = unset duration "Age after which a cancelled task's workspace is collected. null: Cairn's default, 7d.";
      };
    };

    settings = mkOption {
      type = types.attrsOf types.anything;
      default = { };
      example = lib.literalExpression ''{ tmux = "never"; bootstrap.copy = [ ".env" ]; }'';
      description = "Any other keys of Cairn's configuration (docs/configuration.md), merged over what the options above render.";
    };

    configFile = mkOption {
      type = types.path;
      default = pkgs.writeText "cairn.json" (builtins.toJSON settings);
      defaultText = lib.literalMD "a JSON file rendered from `agents`, `check`, `gc` and `settings`";
      description = "The file `CAIRN_CONFIG` names. Set it to use a file of your own instead; the options it replaces are then ignored.";
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      env = mkMerge [
        {
          CAIRN_HOME = cfg.stateDir;
          CAIRN_CONFIG = "${cfg.configFile}";
        }
        (mkIf (cfg.maxAgents != null) { CAIRN_MAX_AGENTS = toString cfg.maxAgents; })
        (mkIf (cfg.defaultAgent != null) { CAIRN_DEFAULT_AGENT = cfg.defaultAgent; })
        (mkIf (cfg.workspaceDir != null) { CAIRN_WORKSPACE_DIR = cfg.workspaceDir; })
        (mkIf (cfg.vcs != null) { CAIRN_VCS = cfg.vcs; })
        (mkIf (cfg.executor != null) { CAIRN_EXECUTOR = cfg.executor; })
      ];

      packages = [ cfg.package pkgs.git ]
        ++ lib.optional (cfg.executors.slurm.package != null) cfg.executors.slurm.package
        ++ lib.optional cfg.tmux.enable cfg.tmux.package
        ++ lib.optional cfg.jj.enable cfg.jj.package;

      # Idempotent, so it may run on every `devenv up`.
      tasks."cairn:init" = {
        description = "Create Cairn's state directory";
        exec = "${cairn} init";
        cwd = config.env.DEVENV_ROOT;
        before = [ "devenv:processes:cairn" ];
      };

      processes.cairn = {
        # exec: SIGTERM from devenv reaches the scheduler itself, not a shell.
        exec = "exec ${cairn} up";
        cwd = config.env.DEVENV_ROOT;
        ready = {
          exec = "${cairn} status --scheduler";
          period = 2;
          probe_timeout = 5;
        };
        # A crash loop stops; a crash now and then over a long day does not.
        restart = {
          on = "on_failure";
          max = 5;
          window = 300;
        };
      };

      scripts.cairn-review = {
        description = "Tasks waiting for your review";
        exec = ''exec ${cairn} status --state review "$@"'';
      };
      scripts.cairn-settings = {
        description = "The configuration devenv renders for Cairn (CAIRN_CONFIG)";
        exec = ''cat "$CAIRN_CONFIG"'';
      };
    }

    (mkIf (cfg.gc.interval != null) {
      tasks."cairn:init".before = [ "devenv:processes:cairn-gc" ];
      processes.cairn-gc = {
        exec = "exec ${cairn} gc --every ${lib.escapeShellArg (asDuration cfg.gc.interval)}";
        cwd = config.env.DEVENV_ROOT;
        restart.on = "on_failure";
      };
    })
  ]);
}
