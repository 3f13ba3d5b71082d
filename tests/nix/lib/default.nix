# A stand-in for the part of nixpkgs `lib` that Cairn's Nix files use, so the
# tests can evaluate them with nothing but nix-instantiate: no nixpkgs, no
# store, no network.
#
# Names and behaviour follow nixpkgs wherever Cairn relies on them.  Only what
# is used is here, on purpose: a Nix file that reaches for something else fails
# with "attribute missing" and the function gets added (and checked against
# nixpkgs, see test_stand_in_agrees_with_nixpkgs_lib).
let
  inherit (builtins)
    all any attrNames concatMap concatStringsSep elem filter foldl' head
    isAttrs isBool isFloat isFunction isInt isList isPath isString
    length listToAttrs map mapAttrs match replaceStrings;

  helpers = rec {
    inherit
      all any attrNames concatMap concatStringsSep elem filter foldl' head
      isAttrs isBool isFunction isInt isList isString length mapAttrs;

    id = x: x;
    last = list: builtins.elemAt list (length list - 1);
    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalAttrs = cond: attrs: if cond then attrs else { };
    optionalString = cond: s: if cond then s else "";
    concatMapStringsSep = sep: f: xs: concatStringsSep sep (map f xs);
    hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
    hasSuffix = suffix: s:
      let n = builtins.stringLength s; k = builtins.stringLength suffix;
      in n >= k && builtins.substring (n - k) k s == suffix;

    genAttrs = names: f: listToAttrs (map (name: { inherit name; value = f name; }) names);
    filterAttrs = pred: attrs:
      listToAttrs (concatMap (name: optional (pred name attrs.${name}) { inherit name; value = attrs.${name}; }) (attrNames attrs));
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);
    recursiveUpdate = lhs: rhs:
      lhs // mapAttrs
        (name: r: if isAttrs r && isAttrs (lhs.${name} or null) then recursiveUpdate lhs.${name} r else r)
        rhs;

    isDerivation = x: isAttrs x && (x.type or null) == "derivation";
    importTOML = file: builtins.fromTOML (builtins.readFile file);

    # Quoted only when it has to be, like nixpkgs: store paths stay readable.
    escapeShellArg = arg:
      let s = toString arg;
      in if match "[[:alnum:],._+:@%/-]+" s != null then s
         else "'${replaceStrings [ "'" ] [ "'\\''" ] s}'";
    escapeShellArgs = args: concatStringsSep " " (map escapeShellArg args);

    literalExpression = text: { _type = "literalExpression"; inherit text; };
    literalMD = text: { _type = "literalMD"; inherit text; };

    licenses.mit = { shortName = "mit"; spdxId = "MIT"; fullName = "MIT License"; };

    # `services.cairn.maxAgents`, `tasks."cairn:init"`: a path as messages show it.
    showOption = loc: concatStringsSep "." (map
      (part: if match "[a-zA-Z_][a-zA-Z0-9_'-]*" part != null || match "<.*>|\\[.*]" part != null
             then part else "\"${part}\"")
      loc);

    # A value as error messages show it.
    showValue = v:
      if v == null then "null"
      else if isString v then builtins.toJSON v
      else if isBool v then (if v then "true" else "false")
      else if isInt v || isFloat v then toString v
      else if isPath v then toString v
      else if isList v then "[ ${concatStringsSep " " (map showValue v)} ]"
      else if isDerivation v then "<derivation ${v.name or "?"}>"
      else if isAttrs v then "{ ${concatStringsSep " " (mapAttrsToList (n: x: "${n} = ${showValue x};") v)} }"
      else if isFunction v then "<function>"
      else "<value>";
  };

  lib = helpers // import ./modules.nix lib // { types = import ./types.nix lib; };
in
lib
