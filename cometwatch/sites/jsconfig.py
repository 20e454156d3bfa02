"""Pure: a JavaScript or TypeScript config file read without running it.

A content clone has none of the site's npm packages, and running site code is not ours to do,
so configs (`docusaurus.config.ts`, `astro.config.mjs`, `src/content.config.ts`,
`eleventy.config.js`) are parsed with tree-sitter and only their literal parts evaluated:
strings, numbers, booleans, null, arrays, objects, template strings, constants of the same file,
`export default` / `module.exports`, a config function's returned object and the calls it makes
on its parameter (`eleventyConfig.setInputDirectory("src")`). Identity wrappers
(`defineConfig`, `defineCollection`) are seen through; other calls (`glob({...})`,
`require.resolve('x')`, `starlight({...})`) are `Call` values with their arguments read.
Anything else is an `Unknown` that says where it is, so the site model can warn once per key and
use the tool's default.

This module owns tree-sitter; the values it reads into are cometwatch.sites.jsvalues.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from cometwatch.sites.jsvalues import (
    ABSENT,
    Absent,
    Call,
    JSObject,
    Key,
    Module,
    Unknown,
    Value,
    fix_surrogates,
    key_path,
    normal,
    parse_number,
    same,
    to_string,
    truthy,
    unescape,
)

MAX_CONFIG = 1024 * 1024  # bytes; a bigger "config" is not a config
_MAX_DEPTH = 120  # nesting of expressions evaluated (recursion stays far from Python's limit)
_MAX_STEPS = 200_000  # expressions evaluated per file: constants referring to constants stay cheap

_WRAPPERS = frozenset({"defineConfig", "defineCollection"})  # return their argument unchanged


_JS = tree_sitter.Language(tree_sitter_javascript.language())
_TS = tree_sitter.Language(tree_sitter_typescript.language_typescript())
_CACHE: OrderedDict[tuple[str, str | bytes], Module] = OrderedDict()
_CACHE_SIZE = 256


def read_module(file: str, data: bytes, sha: str = "") -> Module:
    """The config `file` (a repository path, used in messages and to pick the grammar) holding
    `data`. Never raises. With `sha` (the blob's id) a blob is parsed once: blobs never change."""
    cache_key: tuple[str, str | bytes] = (file, sha or data)
    cached = _CACHE.get(cache_key)
    if cached is not None:
        _CACHE.move_to_end(cache_key)
        return cached
    module = _read(file, data)
    _CACHE[cache_key] = module
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return module


def _read(file: str, data: bytes) -> Module:
    if len(data) > MAX_CONFIG:
        return Module(file, {}, error=f"{file}: larger than {MAX_CONFIG // 1024} KiB, not read")
    typescript = file.rsplit(".", 1)[-1].lower() in ("ts", "mts", "cts")
    tree = tree_sitter.Parser(_TS if typescript else _JS).parse(data)
    broken = _first_error(tree.root_node)
    if broken is not None:
        return Module(file, {}, error=f"{file}:{broken.start_point[0] + 1}: syntax error")
    return _Reader(file).module(tree.root_node)


def _first_error(root: tree_sitter.Node) -> tree_sitter.Node | None:
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return node
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return root


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _named(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _line(node: tree_sitter.Node) -> int:
    return node.start_point[0] + 1


class _Budget(Exception):
    """Raised inside evaluation when a file asks for more work than any config needs."""


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.scopes: list[dict[str, tree_sitter.Node | str]] = []  # name → init node | why not
        self.steps = 0
        self.depth = 0
        self.active: set[int] = set()  # declarations being evaluated (a cycle is unknown)

    # -- the module ---------------------------------------------------------------------------

    def module(self, root: tree_sitter.Node) -> Module:
        top: dict[str, tree_sitter.Node | str] = {}
        exported: dict[str, tree_sitter.Node] = {}
        self.scopes = [top]
        self._declare(root, top)
        for stmt in _named(root):
            self._exports_of(stmt, exported)
        values: dict[str, Value] = {}
        setup: tuple[Call, ...] = ()
        try:
            for name, node in exported.items():
                function = self._function(node)
                if function is not None:
                    values[name], calls = self._returned(function, (), _line(node))
                    setup = setup or calls
                else:
                    values[name] = self.value(node, () if name == "default" else (name,))
        except _Budget:
            return Module(self.file, {}, error=f"{self.file}: too large to read statically")
        return Module(self.file, values, setup)

    def _declare(self, block: tree_sitter.Node, scope: dict[str, tree_sitter.Node | str]) -> None:
        reassigned = _reassigned(block)
        for stmt in _named(block):
            if stmt.type == "export_statement":
                inner = stmt.child_by_field_name("declaration")
                if inner is None:
                    continue
                stmt = inner
            if stmt.type in ("lexical_declaration", "variable_declaration"):
                for decl in _named(stmt):
                    if decl.type != "variable_declarator":
                        continue
                    name = decl.child_by_field_name("name")
                    init = decl.child_by_field_name("value")
                    if name is None:
                        continue
                    if name.type != "identifier":
                        for ident in _identifiers(name):
                            scope[ident] = f"destructured at line {_line(name)}"
                    elif _text(name) in reassigned:
                        scope[_text(name)] = f"{_text(name)}, assigned again"
                    else:
                        scope[_text(name)] = init if init is not None else "undefined"
            elif stmt.type == "function_declaration":
                name = stmt.child_by_field_name("name")
                if name is not None:
                    scope[_text(name)] = stmt
            elif stmt.type == "import_statement":
                source = stmt.child_by_field_name("source")
                origin = _text(source) if source is not None else "a module"
                for ident in _identifiers(stmt, skip={"source"}):
                    scope[ident] = f"imported from {origin}"

    def _exports_of(self, stmt: tree_sitter.Node, exported: dict[str, tree_sitter.Node]) -> None:
        if stmt.type == "export_statement":
            value = stmt.child_by_field_name("value")
            declaration = stmt.child_by_field_name("declaration")
            if value is not None:
                exported["default"] = value
            elif declaration is not None and _text(stmt).startswith("export default"):
                exported["default"] = declaration
            elif declaration is not None and declaration.type in ("lexical_declaration",
                                                                   "variable_declaration"):
                for decl in _named(declaration):
                    name, init = (decl.child_by_field_name("name"),
                                  decl.child_by_field_name("value"))
                    if name is not None and init is not None and name.type == "identifier":
                        exported[_text(name)] = init
            elif declaration is not None and declaration.type == "function_declaration":
                name = declaration.child_by_field_name("name")
                if name is not None:
                    exported[_text(name)] = declaration
            else:
                for clause in _named(stmt):
                    if clause.type != "export_clause":
                        continue
                    for spec in _named(clause):
                        local = spec.child_by_field_name("name")
                        alias = spec.child_by_field_name("alias") or local
                        if local is not None and alias is not None:
                            exported[_text(alias)] = local
        elif stmt.type == "expression_statement":
            expr = _named(stmt)[0] if _named(stmt) else None
            if expr is None or expr.type != "assignment_expression":
                return
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            if left is None or right is None:
                return
            target = _text(left).replace(" ", "")
            if target == "module.exports":
                exported["default"] = right
            elif target.startswith(("module.exports.", "exports.")):
                exported[target.rsplit(".", 1)[1]] = right

    # -- functions ----------------------------------------------------------------------------

    def _function(self, node: tree_sitter.Node) -> tree_sitter.Node | None:
        """The function a node is, through names and wrappers: a config function."""
        for _ in range(8):
            if node.type in ("function_expression", "function_declaration", "arrow_function",
                             "function"):
                return node
            if node.type == "identifier":
                bound = self._lookup(_text(node))
                if not isinstance(bound, tree_sitter.Node):
                    return None
                node = bound
            elif node.type == "call_expression":
                callee, args = (node.child_by_field_name("function"),
                                node.child_by_field_name("arguments"))
                if callee is None or args is None or _text(callee) not in _WRAPPERS:
                    return None
                inner = _named(args)
                if len(inner) != 1:
                    return None
                node = inner[0]
            elif node.type in _TRANSPARENT:
                inner = _named(node)
                if not inner:
                    return None
                node = inner[0]
            else:
                return None
        return None

    def _returned(self, function: tree_sitter.Node, path: tuple[Key, ...],
                  line: int) -> tuple[Value, tuple[Call, ...]]:
        body = function.child_by_field_name("body")
        params = function.child_by_field_name("parameters")
        param = None
        if params is not None and _named(params):
            first = _named(params)[0]
            pattern = first.child_by_field_name("pattern") if first.type != "identifier" else first
            if pattern is not None and pattern.type == "identifier":
                param = _text(pattern)
        if body is None:
            return Unknown(self.file, line, path, "a function without a body"), ()
        if body.type != "statement_block":  # an arrow function returning an expression
            return self.value(body, path), ()
        scope: dict[str, tree_sitter.Node | str] = {}
        if param is not None:
            scope[param] = "the config function's parameter"
        self._declare(body, scope)
        self.scopes.append(scope)
        try:
            calls: list[Call] = []
            returned: Value = Unknown(self.file, line, path, "a function that returns nothing "
                                      "at its top level")
            for stmt in _named(body):
                if stmt.type == "return_statement":
                    inner = _named(stmt)
                    returned = self.value(inner[0], path) if inner else None
                    break
                if stmt.type == "expression_statement" and param is not None:
                    call = self._setup_call(stmt, param)
                    if call is not None:
                        calls.append(call)
            return returned, tuple(calls)
        finally:
            self.scopes.pop()

    def _setup_call(self, stmt: tree_sitter.Node, param: str) -> Call | None:
        inner = _named(stmt)
        expr = inner[0] if inner else None
        if expr is not None and expr.type == "await_expression" and _named(expr):
            expr = _named(expr)[0]
        if expr is None or expr.type != "call_expression":
            return None
        callee = expr.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return None
        name = _dotted(callee)
        if name is None or not name.startswith(param + "."):
            return None
        return self._call(expr, name[len(param) + 1:], ())

    # -- expressions --------------------------------------------------------------------------

    def value(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise _Budget
        if self.depth >= _MAX_DEPTH:
            return self._unknown(node, path, "nested too deeply")
        self.depth += 1
        try:
            return self._value(node, path)
        finally:
            self.depth -= 1

    def _unknown(self, node: tree_sitter.Node, path: tuple[Key, ...], reason: str = "",
                 alternatives: tuple[Value, ...] = ()) -> Unknown:
        if not reason:
            reason = " ".join(_text(node).split())
            reason = reason if len(reason) <= 60 else reason[:57] + "..."
        return Unknown(self.file, _line(node), path, reason, alternatives)

    def _value(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        kind = node.type
        if kind == "string":
            return _string(node)
        if kind == "number":
            number = parse_number(_text(node))
            return number if number is not None else self._unknown(node, path)
        if kind in ("true", "false"):
            return kind == "true"
        if kind in ("null", "undefined"):
            return None
        if kind == "template_string":
            return self._template(node, path)
        if kind == "array":
            return self._array(node, path)
        if kind == "object":
            return self._object(node, path)
        if kind in _TRANSPARENT:
            inner = _named(node)
            return self.value(inner[-1] if kind == "type_assertion" else inner[0], path) \
                if inner else None
        if kind == "identifier":
            return self._identifier(node, path)
        if kind == "member_expression":
            return self._member(node, path)
        if kind == "subscript_expression":
            return self._subscript(node, path)
        if kind == "call_expression":
            return self._call_value(node, path)
        if kind == "ternary_expression":
            return self._ternary(node, path)
        if kind == "binary_expression":
            return self._binary(node, path)
        if kind == "unary_expression":
            return self._unary(node, path)
        if kind in ("arrow_function", "function_expression", "function", "class"):
            return self._unknown(node, path, "a function")
        return self._unknown(node, path)

    def _template(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        parts = []
        for child in node.named_children:
            if child.type == "string_fragment":
                parts.append(_text(child))
            elif child.type == "escape_sequence":
                parts.append(unescape(_text(child)))
            elif child.type == "template_substitution":
                inner = _named(child)
                value = self.value(inner[0], path) if inner else None
                text = to_string(value)
                if text is None:
                    return self._unknown(node, path)
                parts.append(text)
        return fix_surrogates("".join(parts))

    def _array(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        items: list[Value] = []
        for child in _named(node):
            if child.type == "spread_element":
                inner = _named(child)
                spread = self.value(inner[0], (*path, len(items))) if inner else None
                if isinstance(spread, tuple):
                    items.extend(spread)
                elif isinstance(spread, Unknown):
                    items.append(spread)
                else:
                    items.append(self._unknown(child, (*path, len(items))))
            else:
                items.append(self.value(child, (*path, len(items))))
        return tuple(items)

    def _object(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> JSObject:
        items: dict[str, Value] = {}
        lines: dict[str, int] = {}
        spreads: list[Unknown] = []
        for child in _named(node):
            line = _line(child)
            if child.type == "pair":
                key_node, value_node = (child.child_by_field_name("key"),
                                        child.child_by_field_name("value"))
                if key_node is None or value_node is None:
                    continue
                key = self._key(key_node, path)
                if isinstance(key, Unknown):
                    spreads.append(key)
                    continue
                items.pop(key, None)  # a key set again moves to the end, as in JavaScript
                items[key] = self.value(value_node, (*path, key))
                lines[key] = line
            elif child.type == "shorthand_property_identifier":
                key = _text(child)
                items.pop(key, None)
                items[key] = self._identifier(child, (*path, key))
                lines[key] = line
            elif child.type == "method_definition":
                name = child.child_by_field_name("name")
                if name is not None:
                    key = _text(name).strip("'\"")
                    items[key] = self._unknown(child, (*path, key), "a function")
                    lines[key] = line
            elif child.type == "spread_element" and _named(child):
                spread = self.value(_named(child)[0], path)
                self._spread(spread, items, lines, line, spreads, child, path)
        return JSObject(items, lines, self.file, _line(node), path, tuple(spreads))

    def _spread(self, spread: Value, items: dict[str, Value], lines: dict[str, int], line: int,
                spreads: list[Unknown], node: tree_sitter.Node, path: tuple[Key, ...]) -> None:
        if isinstance(spread, JSObject):
            for key, value in spread.items():
                items.pop(key, None)
                items[key] = value
                lines[key] = line
            spreads.extend(spread.spreads)
        elif spread is None or spread is False or spread == "":
            return  # `...(cond && {...})` when the condition is known false
        elif isinstance(spread, Unknown) and spread.alternatives:
            # `...(cond ? {a: 1} : {})`: each key the branches agree on is known, the rest not
            merged = []
            for alternative in spread.alternatives:
                branch = dict(items)
                if isinstance(alternative, JSObject):
                    branch.update(alternative)
                elif alternative not in (None, False, ""):
                    spreads.append(spread)
                    return
                merged.append(branch)
            for key in dict.fromkeys(k for branch in merged for k in branch):
                values = [branch.get(key, ABSENT) for branch in merged]
                agreed = all(same(v, values[0]) for v in values)
                items.pop(key, None)
                items[key] = values[0] if agreed and not isinstance(values[0], Absent) else \
                    Unknown(self.file, line, (*path, key), f"depends on {spread.reason}")
                lines[key] = line
        else:
            spreads.append(spread if isinstance(spread, Unknown)
                           else self._unknown(node, path))

    def _key(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> str | Unknown:
        if node.type in ("property_identifier", "private_property_identifier"):
            return _text(node)
        if node.type == "string":
            return _string(node)
        if node.type == "number":
            number = parse_number(_text(node))
            return to_string(number) or _text(node)
        inner = _named(node)
        if node.type == "computed_property_name" and inner:
            value = self.value(inner[0], path)
            text = to_string(value)
            if text is not None:
                return text
        return self._unknown(node, path)

    def _lookup(self, name: str) -> tree_sitter.Node | str | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def _identifier(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        name = _text(node)
        if name == "undefined":
            return None
        bound = self._lookup(name)
        if bound is None:
            return self._unknown(node, path, f"{name}, not defined in this file")
        if isinstance(bound, str):
            return None if bound == "undefined" else self._unknown(node, path, bound)
        if bound.type == "function_declaration" or id(bound) in self.active:
            return self._unknown(node, path, "a function" if id(bound) not in self.active
                                 else f"{name}, defined by itself")
        self.active.add(id(bound))
        try:
            value = self.value(bound, path)
        finally:
            self.active.discard(id(bound))
        if isinstance(value, Unknown) and value.line != _line(node):
            # said where the key is, with where the value comes from
            return Unknown(self.file, _line(node), path,
                           f"{name} = {value.reason} at line {value.line}", value.alternatives)
        return value

    def _member(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        obj_node, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj_node is None or prop is None:
            return self._unknown(node, path)
        if obj_node.type == "identifier" and self._lookup(_text(obj_node)) is None:
            return self._unknown(node, path)  # process.env.X, __dirname, globals
        obj = self.value(obj_node, path)
        return self._index(obj, _text(prop), node, path)

    def _subscript(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        obj_node, index = node.child_by_field_name("object"), node.child_by_field_name("index")
        if obj_node is None or index is None:
            return self._unknown(node, path)
        key = self.value(index, path)
        if not isinstance(key, (str, int, float)) or isinstance(key, bool):
            return self._unknown(node, path)
        return self._index(self.value(obj_node, path), key, node, path)

    def _index(self, obj: Value, key: str | int | float, node: tree_sitter.Node,
               path: tuple[Key, ...]) -> Value:
        if isinstance(obj, JSObject):
            value = obj.read(to_string(key) or "")
            return value if not isinstance(value, Unknown) else self._unknown(node, path)
        if isinstance(obj, tuple):
            if key == "length":
                return len(obj)
            if isinstance(key, int) and 0 <= key < len(obj):
                return obj[key]
            if isinstance(key, (int, float)):
                return None
        return self._unknown(node, path)

    def _call_value(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        callee = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if callee is None or args is None or args.type != "arguments":
            return self._unknown(node, path)  # a tagged template: sql`...`
        name = _dotted(callee)
        if name in _WRAPPERS:
            inner = _named(args)
            return self.value(inner[0], path) if len(inner) == 1 else self._unknown(node, path)
        if callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            target = callee.child_by_field_name("object")
            if prop is not None and target is not None and _text(prop) == "filter" \
                    and _text(args).replace(" ", "") == "(Boolean)":
                items = self.value(target, path)
                if isinstance(items, tuple):  # [a, isProd && b].filter(Boolean)
                    return tuple(v for v in items if isinstance(v, Unknown) or truthy(v))
                return self._unknown(node, path)
        if name is None:
            return self._unknown(node, path)
        return self._call(node, name, path)

    def _call(self, node: tree_sitter.Node, name: str, path: tuple[Key, ...]) -> Call:
        args = node.child_by_field_name("arguments")
        values = tuple(self.value(arg, path) for arg in (_named(args) if args else ()))
        return Call(name, values, self.file, _line(node), path)

    def _ternary(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        cond, yes, no = (node.child_by_field_name("condition"),
                         node.child_by_field_name("consequence"),
                         node.child_by_field_name("alternative"))
        if cond is None or yes is None or no is None:
            return self._unknown(node, path)
        test = self.value(cond, path)
        if not isinstance(test, (Unknown, Call)):
            return self.value(yes if truthy(test) else no, path)
        a, b = self.value(yes, path), self.value(no, path)
        if same(a, b) and not isinstance(a, Unknown):
            return a
        return self._unknown(node, path, " ".join(_text(cond).split())[:60], (a, b))

    def _binary(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        left_node, right_node = node.child_by_field_name("left"), node.child_by_field_name("right")
        op_node = node.child_by_field_name("operator")
        if left_node is None or right_node is None or op_node is None:
            return self._unknown(node, path)
        op = _text(op_node)
        left = self.value(left_node, path)
        if op in ("&&", "||", "??"):
            if isinstance(left, (Unknown, Call)):
                right = self.value(right_node, path)
                alternatives = (False, right) if op == "&&" else ()
                return self._unknown(node, path, " ".join(_text(left_node).split())[:60],
                                     alternatives)
            if op == "&&":
                return self.value(right_node, path) if truthy(left) else left
            if op == "||":
                return left if truthy(left) else self.value(right_node, path)
            return self.value(right_node, path) if left is None else left
        right = self.value(right_node, path)
        if isinstance(left, (Unknown, Call, JSObject, tuple)) or \
                isinstance(right, (Unknown, Call, JSObject, tuple)):
            return self._unknown(node, path)
        if op == "+":
            if isinstance(left, str) or isinstance(right, str):
                lt, rt = to_string(left), to_string(right)
                return lt + rt if lt is not None and rt is not None else self._unknown(node, path)
            if isinstance(left, (int, float)) and isinstance(right, (int, float)):
                return normal(left + right)
        if op in ("===", "!=="):
            return same(left, right) if op == "===" else not same(left, right)
        return self._unknown(node, path)

    def _unary(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        op_node, arg = node.child_by_field_name("operator"), node.child_by_field_name("argument")
        if op_node is None or arg is None:
            return self._unknown(node, path)
        value = self.value(arg, path)
        op = _text(op_node)
        if isinstance(value, (Unknown, Call)):
            return self._unknown(node, path)
        if op == "!":
            return not truthy(value)
        if op in ("-", "+") and isinstance(value, (int, float)) and not isinstance(value, bool):
            return normal(-value if op == "-" else value)
        return self._unknown(node, path)


# Nodes whose value is their (first) inner expression: TypeScript's `x as T`, `x satisfies T`,
# `<T>x` (the last child), `x!`, and parentheses (`/** @type {Config} */ ({...})`).
_TRANSPARENT = frozenset({"parenthesized_expression", "as_expression", "satisfies_expression",
                          "type_assertion", "non_null_expression", "await_expression"})


def _dotted(node: tree_sitter.Node) -> str | None:
    """`require.resolve` for a callee made of names only; None for anything else."""
    parts = []
    while node.type == "member_expression":
        obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj is None or prop is None:
            return None
        parts.append(_text(prop))
        node = obj
    if node.type != "identifier":
        return None
    parts.append(_text(node))
    return ".".join(reversed(parts))


def _identifiers(node: tree_sitter.Node, skip: frozenset[str] | set[str] = frozenset()
                 ) -> Iterator[str]:
    """The names a pattern or an import binds."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "shorthand_property_identifier_pattern"):
            yield _text(current)
            continue
        for index, child in enumerate(current.children):
            if current.field_name_for_child(index) in skip:
                continue
            if current.type == "pair_pattern" and current.field_name_for_child(index) == "key":
                continue
            if current.type == "import_specifier" and child.type == "identifier" and \
                    current.child_by_field_name("alias") is not None and \
                    current.field_name_for_child(index) == "name":
                continue
            stack.append(child)


def _reassigned(block: tree_sitter.Node) -> set[str]:
    """Names assigned anywhere in a block (`x = 2`, `x += 1`, `x++`): not constants."""
    names: set[str] = set()
    stack = [block]
    while stack:
        node = stack.pop()
        if node.type in ("assignment_expression", "augmented_assignment_expression"):
            left = node.child_by_field_name("left")
            if left is not None and left.type == "identifier":
                names.add(_text(left))
        elif node.type == "update_expression":
            arg = node.child_by_field_name("argument")
            if arg is not None and arg.type == "identifier":
                names.add(_text(arg))
        stack.extend(node.named_children)
    return names


def _string(node: tree_sitter.Node) -> str:
    parts = []
    for child in node.named_children:
        if child.type == "string_fragment":
            parts.append(_text(child))
        elif child.type == "escape_sequence":
            parts.append(unescape(_text(child)))
    return fix_surrogates("".join(parts))


__all__ = ["MAX_CONFIG", "Call", "JSObject", "Key", "Module", "Unknown", "Value", "key_path",
           "read_module"]
