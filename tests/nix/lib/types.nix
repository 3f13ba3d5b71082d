# Option types, as in nixpkgs: the names and descriptions Cairn's module and the
# devenv stub use.  A type is { name, description, check, merge, getSubOptions }.
#
# `check` looks at one definition, shallowly; `merge loc defs` combines the
# definitions ({ file, value }) of one option, and composite types check their
# elements through `lib.standIn.checkAndMerge`, the one place a type error is
# raised: it names the option, the expected type, the value and its file.
lib:
let
  inherit (builtins) all concatLists filter genList head isAttrs isBool isFunction
    isInt isList isPath isString length map mapAttrs match tail zipAttrsWith;
  inherit (lib) showOption showValue isDerivation hasPrefix;
  inherit (lib.standIn) checkAndMerge effective files;

  mkType = { name, description, check, merge, getSubOptions ? (_: { }) }:
    { _type = "option-type"; inherit name description check merge getSubOptions; };

  mergeEqual = loc: defs:
    let first = head defs;
    in if length defs == 1 || all (d: d.value == first.value) defs then first.value
       else throw "The option `${showOption loc}' has conflicting definition values:${
         lib.concatMapStringsSep "" (d: "\n- In `${d.file}': ${showValue d.value}") defs}";

  mergeOne = loc: defs:
    if length defs == 1 then (head defs).value
    else throw "The unique option `${showOption loc}' is defined multiple times, in:${files defs}.";

  leaf = name: description: check: mkType { inherit name description check; merge = mergeEqual; };

  # Elements of definitions, indexed the way nixpkgs shows them in messages.
  entries = loc: defs: concatLists (genList
    (i: let d = builtins.elemAt defs i; in genList
      (j: {
        loc = loc ++ [ "[definition ${toString (i + 1)}-entry ${toString (j + 1)}]" ];
        def = { inherit (d) file; value = builtins.elemAt d.value j; };
      })
      (length d.value))
    (length defs));

  # name -> the definitions of that attribute, properties (mkIf …) still on them.
  byName = defs: zipAttrsWith (_: vs: vs)
    (map (d: mapAttrs (_: value: { inherit (d) file; inherit value; }) d.value) defs);

  listOf = elem: mkType {
    name = "listOf";
    description = "list of ${elem.description}";
    check = isList;
    merge = loc: defs: map (e: checkAndMerge elem e.loc [ e.def ]) (entries loc defs);
    getSubOptions = prefix: elem.getSubOptions (prefix ++ [ "*" ]);
  };

  # attrsOf decides which names exist, so it evaluates each element's mkIf;
  # lazyAttrsOf does not (devenv's `env` is lazy: a value may read config.env).
  attrsOfWith = { lazy }: elem: mkType {
    name = if lazy then "lazyAttrsOf" else "attrsOf";
    description = "${if lazy then "lazy " else ""}attribute set of ${elem.description}";
    check = isAttrs;
    merge = loc: defs:
      let
        merged = mapAttrs (name: ds: let kept = effective ds; in {
          present = kept != [ ];
          value = if kept == [ ]
            then throw "The option `${showOption (loc ++ [ name ])}' was accessed but has no value defined. Try setting the option."
            else checkAndMerge elem (loc ++ [ name ]) kept;
        }) (byName defs);
      in mapAttrs (_: m: m.value) (if lazy then merged else lib.filterAttrs (_: m: m.present) merged);
    getSubOptions = prefix: elem.getSubOptions (prefix ++ [ "<name>" ]);
  };

  ints = {
    positive = leaf "positiveInt" "positive integer, meaning >0" (x: isInt x && x > 0);
    unsigned = leaf "unsignedInt" "unsigned integer, meaning >=0" (x: isInt x && x >= 0);
  };

  types = rec {
    inherit ints listOf;
    attrsOf = attrsOfWith { lazy = false; };
    lazyAttrsOf = attrsOfWith { lazy = true; };

    bool = leaf "bool" "boolean" isBool;
    int = leaf "int" "signed integer" isInt;
    str = leaf "str" "string" isString;
    nonEmptyStr = leaf "nonEmptyStr" "non-empty string"
      (x: isString x && match "[[:space:]]*" x == null);
    strMatching = pattern: leaf "strMatching ${builtins.toJSON pattern}"
      "string matching the pattern ${pattern}"
      (x: isString x && match pattern x != null);
    enum = values: leaf "enum"
      "one of ${lib.concatMapStringsSep ", " showValue values}"
      (x: builtins.elem x values);
    path = leaf "path" "path"
      (x: isPath x || (isString x && hasPrefix "/" x) || (isAttrs x && x ? outPath));

    lines = mkType {
      name = "lines";
      description = "strings concatenated with \"\\n\"";
      check = isString;
      merge = loc: defs: builtins.concatStringsSep "\n" (map (d: d.value) defs);
    };

    package = mkType {
      name = "package";
      description = "package";
      check = x: isDerivation x || (isString x && hasPrefix builtins.storeDir x);
      merge = mergeOne;
    };

    # JSON-like data: attribute sets merge by name, anything else must agree.
    anything = mkType {
      name = "anything";
      description = "anything";
      check = _: true;
      merge = loc: defs:
        if all (d: isAttrs d.value && !isDerivation d.value) defs
        then (attrsOf anything).merge loc defs
        else mergeEqual loc defs;
    };

    unspecified = mkType {
      name = "unspecified";
      description = "unspecified value";
      check = _: true;
      merge = mergeEqual;
    };

    nonEmptyListOf = elem: let list = listOf elem; in list // {
      name = "nonEmptyListOf";
      description = "non-empty ${list.description}";
      check = x: isList x && x != [ ];
    };

    nullOr = elem: mkType {
      name = "nullOr";
      description = "null or ${elem.description}";
      check = x: x == null || elem.check x;
      merge = loc: defs:
        let nulls = filter (d: d.value == null) defs;
        in if nulls == [ ] then elem.merge loc defs
           else if length nulls == length defs then null
           else throw "The option `${showOption loc}' is defined both null and not null, in:${files defs}.";
      getSubOptions = elem.getSubOptions;
    };

    either = a: b: mkType {
      name = "either";
      description = "${a.description} or ${b.description}";
      check = x: a.check x || b.check x;
      merge = loc: defs:
        if all (d: a.check d.value) defs then a.merge loc defs
        else if all (d: b.check d.value) defs then b.merge loc defs
        else throw "The option `${showOption loc}' has definitions of different types, in:${files defs}.";
    };

    # A definition is a module of its own: an attribute set is its config
    # (never read as { options, config }), a function or path a full module.
    submodule = module: mkType {
      name = "submodule";
      description = "submodule";
      check = x: isAttrs x || isFunction x || isPath x;
      merge = loc: defs: (lib.evalModules {
        prefix = loc;
        specialArgs.name = lib.last loc;
        modules = [ module ] ++ map
          (d: if isAttrs d.value then { _file = d.file; config = d.value; } else d.value)
          defs;
      }).config;
      getSubOptions = prefix: (lib.evalModules {
        inherit prefix;
        specialArgs.name = "<name>";
        modules = [ module ];
      }).options;
    };
  };
in
types
