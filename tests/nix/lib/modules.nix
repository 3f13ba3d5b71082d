# A small module system with the interface of nixpkgs' lib.evalModules: modules
# (attribute sets, functions or files) with `imports`, `options` and `config`;
# mkIf, mkMerge and priorities (mkDefault, mkForce, option defaults); type
# checks; "option does not exist" for a misspelt definition.
#
# Laziness is what makes `config = mkIf cfg.enable { … }` work while `cfg` is
# read from the very config being built: a definition of a group of options is
# split into its attributes *before* any mkIf condition is evaluated
# (pushDown), and conditions are decided per option (discharge).  So an
# option's value depends only on the definitions of that option.
#
# Left out because nothing here needs them: freeform modules, apply,
# readOnly, mkBefore/mkAfter ordering, disabledModules, _module.args.
lib:
let
  inherit (builtins) attrNames concatMap filter foldl' functionArgs head
    intersectAttrs isAttrs isBool isFunction isPath isString length map mapAttrs
    removeAttrs zipAttrsWith;
  inherit (lib) showOption showValue;

  isOption = x: isAttrs x && (x._type or null) == "option";

  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkIf = condition: content: { _type = "if"; inherit condition content; };

  # A definition with its properties resolved: [ { priority, value } ].
  discharge = priority: v:
    let kind = if isAttrs v then v._type or null else null; in
    if kind == "merge" then concatMap (discharge priority) v.contents
    else if kind == "if" then
      if !isBool v.condition then throw "mkIf called with a non-Boolean condition: ${showValue v.condition}"
      else if v.condition then discharge priority v.content
      else [ ]
    else if kind == "override" then discharge v.priority v.content
    else [ { inherit priority; value = v; } ];

  # The definitions that count: those of the highest priority (lowest number).
  effective = defs:
    let
      all = concatMap (d: map (p: p // { inherit (d) file; }) (discharge 100 d.value)) defs;
      best = foldl' (m: d: if d.priority < m then d.priority else m) 10000 all;
    in map (d: { inherit (d) file value; }) (filter (d: d.priority == best) all);

  # A definition of a group of options as plain attribute sets, each attribute
  # carrying the mkIf/mkOverride around it; no condition is evaluated here.
  pushDown = v:
    let kind = v._type or null; in
    if kind == "merge" then concatMap pushDown v.contents
    else if kind == "if" then map (mapAttrs (_: mkIf v.condition)) (pushDown v.content)
    else if kind == "override" then map (mapAttrs (_: mkOverride v.priority)) (pushDown v.content)
    else [ v ];

  files = defs: lib.concatMapStringsSep "" (d: "\n- `${d.file}'") defs;

  checkAndMerge = type: loc: defs:
    let bad = filter (d: !type.check d.value) defs; in
    if bad == [ ] then type.merge loc defs
    else throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:${
      lib.concatMapStringsSep "" (d: "\n- In `${d.file}': ${showValue d.value}") bad}";

  evalOption = loc: decl: defs:
    let
      default = lib.optional (decl ? default)
        { file = "the default of ${showOption loc}"; value = mkOverride 1500 decl.default; };
      kept = effective (defs ++ default);
    in
    if kept == [ ] then throw "The option `${showOption loc}' was accessed but has no value defined. Try setting the option."
    else checkAndMerge (decl.type or lib.types.unspecified) loc kept;

  evalGroup = loc: decls: defs:
    let
      groups = concatMap (d:
        if isAttrs d.value then map (value: { inherit (d) file; inherit value; }) (pushDown d.value)
        else throw "The option `${showOption loc}' in `${d.file}' is ${showValue d.value}, but it is a group of options: expected an attribute set.")
        defs;
      unknown = concatMap (g: map (name: { inherit (g) file; inherit name; })
        (filter (name: !(decls ? ${name})) (attrNames g.value))) groups;
      at = name: concatMap
        (g: lib.optional (g.value ? ${name}) { inherit (g) file; value = g.value.${name}; }) groups;
      values = mapAttrs (name: decl:
        if isOption decl then evalOption (loc ++ [ name ]) decl (at name)
        else evalGroup (loc ++ [ name ]) decl (at name)) decls;
    in
    if unknown == [ ] then values
    else let u = head unknown; in
      throw "The option `${showOption (loc ++ [ u.name ])}' does not exist. Definition in `${u.file}'.";

  mergeDeclarations = loc: trees: zipAttrsWith (name: subtrees:
    let here = loc ++ [ name ]; in
    if !(lib.any isOption subtrees) then mergeDeclarations here subtrees
    else if length subtrees == 1 then head subtrees // { loc = here; }
    else throw "The option `${showOption here}' is declared more than once.") trees;

  # A module as { file, imports, options, config }; functions get the arguments they name.
  shape = args: file: m:
    let
      value = if isFunction m then m (if functionArgs m == { } then args else intersectAttrs (functionArgs m) args) else m;
      full = value ? options || value ? config;
      extra = removeAttrs value [ "_file" "key" "imports" "options" "config" "meta" ];
    in
    if !isAttrs value then throw "The module in `${file}' is not an attribute set or a function returning one."
    else if full && extra != { } then throw "The module in `${file}' has an unsupported attribute `${head (attrNames extra)}': put definitions under `config'."
    else {
      file = value._file or file;
      imports = value.imports or [ ];
      options = if full then value.options or { } else { };
      config = if full then value.config or { } else removeAttrs value [ "_file" "key" "imports" "meta" ];
    };

  # Each file once (a module imported twice would declare its options twice);
  # a module's imports before the module, as nixpkgs orders list definitions.
  collect = args: state: file: m:
    let key = if isPath m || isString m then toString m else null; in
    if key != null && state.seen ? ${key} then state
    else
      let
        module = shape args (if key != null then key else file) (if key != null then import m else m);
        marked = state // { seen = state.seen // lib.optionalAttrs (key != null) { ${key} = true; }; };
        imported = foldl' (s: collect args s module.file) marked module.imports;
      in imported // { modules = imported.modules ++ [ module ]; };

  evalModules = { modules, specialArgs ? { }, prefix ? [ ] }:
    let
      args = specialArgs // { inherit lib config options; };
      collected = (foldl' (s: collect args s "<inline module>") { seen = { }; modules = [ ]; } modules).modules;
      options = mergeDeclarations prefix (map (m: m.options) collected);
      config = evalGroup prefix options (map (m: { inherit (m) file; value = m.config; }) collected);
    in { inherit options config; };
in
{
  inherit evalModules isOption mkIf mkOverride;
  mkOption = attrs: attrs // { _type = "option"; };
  mkEnableOption = what: {
    _type = "option";
    type = lib.types.bool;
    default = false;
    example = true;
    description = "Whether to enable ${what}.";
  };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkOptionDefault = mkOverride 1500;

  # Not in nixpkgs: the stand-in's own plumbing, shared with types.nix.
  standIn = { inherit checkAndMerge effective files; };
}
