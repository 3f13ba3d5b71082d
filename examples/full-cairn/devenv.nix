# Cairn with most of what it can do: several agents, a checks gate, jj
# workspaces, periodic gc, files copied into each new workspace, and a tmux
# layout (.tmuxp.yaml) to watch the crew.
{ pkgs, ... }:

{
  imports = [ ../../modules/cairn.nix ];

  # claude-code is unfree: devenv.yaml allows it.
  packages = [ pkgs.claude-code pkgs.codex pkgs.aider-chat pkgs.tmuxp ];

  services.cairn = {
    enable = true;
    maxAgents = 6;
    defaultAgent = "claude";

    # Profiles of our own beside the built-in claude, codex and aider.
    agents = {
      claude-opus = {
        command = [ "claude" "-p" "{prompt}" "--permission-mode" "acceptEdits" "--model" "opus" ];
        description = "Claude Code on its largest model, for the hard tasks";
      };
      # Any command is an agent: this one's diff is the formatter's.
      formatter = {
        command = [ "make" "fmt" ];
        description = "Runs the formatter; review and land its diff like any task";
      };
      aider-tests = {
        command = [ "aider" "--message-file" "{prompt_file}" "--yes-always" "--no-auto-commits" "--no-check-update" ];
        env.AIDER_ANALYTICS = "false";
        description = "Aider, prompt from a file, for test-writing tasks";
      };
    };

    # Nothing lands unless these pass in the task's workspace.
    check = {
      commands = [ [ "make" "lint" ] [ "make" "test" ] ];
      timeout = "15m";
    };

    # jj workspaces instead of git worktrees (a colocated jj repository).
    vcs = "jj";
    jj.enable = true;

    gc = {
      interval = "1h";
      keep = 5;
      maxSize = "20G";
      maxAge.rejected = "3d";
    };

    # Keys the module has no option for go through as they are.
    settings.bootstrap.copy = [ ".env" ];
  };
}
