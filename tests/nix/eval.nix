# Evaluates devenv modules as devenv would (against the option stub in
# devenv.nix) and returns what the tests look at, as plain data for --json.
#
# Called by tests/test_nix_*.py with the stand-in lib and fake packages here,
# and by the flake's checks.module (nix/checks.nix) with nixpkgs' own.
{ modules
, lib ? import ./lib
, system ? "x86_64-linux"
, pkgs ? import ./pkgs.nix { inherit lib system; }
, root ? "/project"
, inputs ? { }
}:

let
  evaluated = lib.evalModules {
    modules = [ ./devenv.nix { devenv.root = root; } ] ++ modules;
    specialArgs = { inherit pkgs inputs; };
  };
  inherit (evaluated) config options;
  cairn = config.services.cairn or { enable = false; };
  text = cairn.configFile.text or null;

  # Derivations become their store paths; nixpkgs' bookkeeping (_module) goes.
  plain = v:
    if lib.isDerivation v then "${v}"
    else if builtins.isAttrs v then builtins.mapAttrs (_: plain) (builtins.removeAttrs v [ "_module" ])
    else if builtins.isList v then map plain v
    else if builtins.isFunction v then "<function>"
    else v;

  # Every option in a tree, into submodules (agents.<name>.command).
  declared = tree: builtins.concatMap (name:
    let o = tree.${name}; in
    if lib.hasPrefix "_" name then [ ]
    else if lib.isOption o then
      [{
        name = lib.showOption o.loc;
        type = o.type.description;
        description = o.description or null;
        default =
          if o ? defaultText then {
            text = o.defaultText.text or o.defaultText;
            markdown = (o.defaultText._type or null) == "literalMD";
          }
          else if o ? default then { json = plain o.default; }
          else null;
      }] ++ declared (o.type.getSubOptions o.loc)
    else declared o) (builtins.attrNames tree);
in
plain {
  inherit (config) env processes tasks scripts enterShell enterTest;
  packages = map (p: p.name) config.packages;
  cairn =
    if !cairn.enable then null
    else {
      package = { inherit (cairn.package) name; path = "${cairn.package}"; };
      configFile = "${cairn.configFile}";
      settings = if text == null then null else builtins.fromJSON text;
    };
  options = if options ? services.cairn then declared options.services.cairn else [ ];
}
