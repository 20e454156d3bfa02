"""The expressions of a JavaScript config, evaluated where they are literal (see jsconfig):
`Evaluator` turns a tree-sitter node into a `jsvalues.Value`, looking names up in the scopes the
module reader declares. Bounded: nesting past a depth is unknown, and a file asking for more
steps than any config needs stops (`Budget`).
"""

from __future__ import annotations

from collections.abc import Callable

import tree_sitter

from cometwatch.sites.jsvalues import (
    ABSENT,
    Absent,
    Call,
    JSObject,
    Key,
    Unknown,
    Value,
    fix_surrogates,
    normal,
    parse_number,
    same,
    to_string,
    truthy,
    unescape,
)

MAX_DEPTH = 120  # nesting of expressions evaluated (recursion stays far from Python's limit)
MAX_STEPS = 200_000  # expressions evaluated per file: constants referring to constants stay cheap

WRAPPERS = frozenset({"defineConfig", "defineCollection"})  # return their argument unchanged

def node_text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def named(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.named_children if c.type != "comment"]


def node_line(node: tree_sitter.Node) -> int:
    return node.start_point[0] + 1


class Budget(Exception):
    """Raised inside evaluation when a file asks for more work than any config needs."""


class Evaluator:
    """Evaluates expressions in `scopes` (innermost last: name → its initialiser node, or why
    it has no value)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.scopes: list[dict[str, tree_sitter.Node | str]] = []  # name → init node | why not
        self.steps = 0
        self.depth = 0
        self.active: set[int] = set()  # declarations being evaluated (a cycle is unknown)

    # -- expressions --------------------------------------------------------------------------

    def value(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Budget
        if self.depth >= MAX_DEPTH:
            return self._unknown(node, path, "nested too deeply")
        self.depth += 1
        try:
            return self._value(node, path)
        finally:
            self.depth -= 1

    def _unknown(self, node: tree_sitter.Node, path: tuple[Key, ...], reason: str = "",
                 alternatives: tuple[Value, ...] = ()) -> Unknown:
        if not reason:
            reason = " ".join(node_text(node).split())
            reason = reason if len(reason) <= 60 else reason[:57] + "..."
        return Unknown(self.file, node_line(node), path, reason, alternatives)

    def _value(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        kind = node.type
        if kind == "string":
            return string(node)
        if kind == "number":
            number = parse_number(node_text(node))
            return number if number is not None else self._unknown(node, path)
        if kind in ("true", "false"):
            return kind == "true"
        if kind in ("null", "undefined"):
            return None
        build = _BUILDERS.get(kind)
        if build is not None:
            return build(self, node, path)
        if kind in TRANSPARENT:
            inner = named(node)
            return self.value(inner[-1] if kind == "type_assertion" else inner[0], path) \
                if inner else None
        if kind in ("arrow_function", "function_expression", "function", "class"):
            return self._unknown(node, path, "a function")
        return self._unknown(node, path)

    def _template(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        parts = []
        for child in node.named_children:
            text = _literal(child)
            if text is not None:
                parts.append(text)
            elif child.type == "template_substitution":
                inner = named(child)
                value = self.value(inner[0], path) if inner else None
                text = to_string(value)
                if text is None:
                    return self._unknown(node, path)
                parts.append(text)
        return fix_surrogates("".join(parts))

    def _array(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        items: list[Value] = []
        for child in named(node):
            if child.type == "spread_element":
                inner = named(child)
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
        for child in named(node):
            line = node_line(child)
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
                key = node_text(child)
                items.pop(key, None)
                items[key] = self._identifier(child, (*path, key))
                lines[key] = line
            elif child.type == "method_definition":
                name = child.child_by_field_name("name")
                if name is not None:
                    key = node_text(name).strip("'\"")
                    items[key] = self._unknown(child, (*path, key), "a function")
                    lines[key] = line
            elif child.type == "spread_element" and named(child):
                spread = self.value(named(child)[0], path)
                self._spread(spread, items, lines, line, spreads, child, path)
        return JSObject(items, lines, self.file, node_line(node), path, tuple(spreads))

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
            return node_text(node)
        if node.type == "string":
            return string(node)
        if node.type == "number":
            number = parse_number(node_text(node))
            return to_string(number) or node_text(node)
        inner = named(node)
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
        name = node_text(node)
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
        if isinstance(value, Unknown) and value.line != node_line(node):
            # said where the key is, with where the value comes from
            return Unknown(self.file, node_line(node), path,
                           f"{name} = {value.reason} at line {value.line}", value.alternatives)
        return value

    def _member(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        obj_node, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj_node is None or prop is None:
            return self._unknown(node, path)
        if obj_node.type == "identifier" and self._lookup(node_text(obj_node)) is None:
            return self._unknown(node, path)  # process.env.X, __dirname, globals
        obj = self.value(obj_node, path)
        return self._index(obj, node_text(prop), node, path)

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
        name = dotted(callee)
        if name in WRAPPERS:
            inner = named(args)
            return self.value(inner[0], path) if len(inner) == 1 else self._unknown(node, path)
        if callee.type == "member_expression":
            prop = callee.child_by_field_name("property")
            target = callee.child_by_field_name("object")
            if prop is not None and target is not None and node_text(prop) == "filter" \
                    and node_text(args).replace(" ", "") == "(Boolean)":
                items = self.value(target, path)
                if isinstance(items, tuple):  # [a, isProd && b].filter(Boolean)
                    return tuple(v for v in items if isinstance(v, Unknown) or truthy(v))
                return self._unknown(node, path)
        if name is None:
            return self._unknown(node, path)
        if name.rpartition(".")[2] in ("join", "resolve") and self._is_path_module(name):
            return self._path_join(node, named(args), name.endswith("resolve"), path)
        return self._call(node, name, path)

    def _is_path_module(self, name: str) -> bool:
        """`path.join` where `path` is Node's own module (`import path from 'node:path'`,
        `const path = require('path')`)."""
        head = name.split(".")[0]
        bound = self._lookup(head)
        if isinstance(bound, str):
            return bound in ("imported from 'path'", "imported from 'node:path'",
                             'imported from "path"', 'imported from "node:path"')
        if bound is not None and bound.type == "call_expression":
            return node_text(bound).replace('"', "'").replace(" ", "") in (
                "require('path')", "require('node:path')")
        return False

    def _path_join(self, node: tree_sitter.Node, args: list[tree_sitter.Node], resolve: bool,
                   path: tuple[Key, ...]) -> Value:
        """`path.join(__dirname, '../docs')`: a path from the config's folder (the site's),
        as the site-relative text `../docs`; anything absolute or computed is unknown."""
        parts: list[str] = []
        for index, arg in enumerate(args):
            if arg.type == "identifier" and node_text(arg) == "__dirname" and index == 0:
                continue
            value = self.value(arg, path)
            if not isinstance(value, str) or value.startswith("/") or \
                    (index == 0 and resolve and not parts and arg.type != "string"):
                return self._unknown(node, path)
            parts.append(value)
        if resolve and (not args or node_text(args[0]) != "__dirname"):
            return self._unknown(node, path)  # resolved against the working directory
        return "/".join(part.strip("/") for part in parts if part.strip("/")) or "."

    def _call(self, node: tree_sitter.Node, name: str, path: tuple[Key, ...]) -> Call:
        args = node.child_by_field_name("arguments")
        values = tuple(self.value(arg, path) for arg in (named(args) if args else ()))
        return Call(name, values, self.file, node_line(node), path)

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
        return self._unknown(node, path, " ".join(node_text(cond).split())[:60], (a, b))

    def _binary(self, node: tree_sitter.Node, path: tuple[Key, ...]) -> Value:
        left_node, right_node = node.child_by_field_name("left"), node.child_by_field_name("right")
        op_node = node.child_by_field_name("operator")
        if left_node is None or right_node is None or op_node is None:
            return self._unknown(node, path)
        op = node_text(op_node)
        left = self.value(left_node, path)
        if op in ("&&", "||", "??"):
            if isinstance(left, (Unknown, Call)):
                right = self.value(right_node, path)
                alternatives = (False, right) if op == "&&" else ()
                return self._unknown(node, path, " ".join(node_text(left_node).split())[:60],
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
        op = node_text(op_node)
        if isinstance(value, (Unknown, Call)):
            return self._unknown(node, path)
        if op == "!":
            return not truthy(value)
        if op in ("-", "+") and isinstance(value, (int, float)) and not isinstance(value, bool):
            return normal(-value if op == "-" else value)
        return self._unknown(node, path)


# Nodes whose value is their (first) inner expression: TypeScript's `x as T`, `x satisfies T`,
# `<T>x` (the last child), `x!`, and parentheses (`/** @type {Config} */ ({...})`).
# the node kinds whose value a method of its own builds
_BUILDERS: dict[str, Callable[[Evaluator, tree_sitter.Node, tuple[Key, ...]], Value]] = {
    "template_string": Evaluator._template, "array": Evaluator._array,
    "object": Evaluator._object, "identifier": Evaluator._identifier,
    "member_expression": Evaluator._member, "subscript_expression": Evaluator._subscript,
    "call_expression": Evaluator._call_value, "ternary_expression": Evaluator._ternary,
    "binary_expression": Evaluator._binary, "unary_expression": Evaluator._unary,
}
TRANSPARENT = frozenset({"parenthesized_expression", "as_expression", "satisfies_expression",
                          "type_assertion", "non_null_expression", "await_expression"})


def dotted(node: tree_sitter.Node) -> str | None:
    """`require.resolve` for a callee made of names only; None for anything else."""
    parts = []
    while node.type == "member_expression":
        obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj is None or prop is None:
            return None
        parts.append(node_text(prop))
        node = obj
    if node.type != "identifier":
        return None
    parts.append(node_text(node))
    return ".".join(reversed(parts))


def string(node: tree_sitter.Node) -> str:
    parts = (_literal(child) for child in node.named_children)
    return fix_surrogates("".join(part for part in parts if part is not None))


def _literal(child: tree_sitter.Node) -> str | None:
    """The text a string's or template's literal piece stands for; None for anything else."""
    if child.type == "string_fragment":
        return node_text(child)
    if child.type == "escape_sequence":
        return unescape(node_text(child))
    return None

