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

This module (the file: its declarations, exports and config function) and jseval (its
expressions) are the tree-sitter edge; the values they read into are cometwatch.sites.jsvalues.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from cometwatch.sites.jseval import (
    TRANSPARENT,
    WRAPPERS,
    Budget,
    Evaluator,
    dotted,
    named,
    node_line,
    node_text,
)
from cometwatch.sites.jsvalues import Call, JSObject, Key, Module, Unknown, Value, key_path

MAX_CONFIG = 1024 * 1024  # bytes; a bigger "config" is not a config

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


class _Reader(Evaluator):
    """The module: its declarations, its exports, a config function's body."""

    # -- the module ---------------------------------------------------------------------------

    def module(self, root: tree_sitter.Node) -> Module:
        top: dict[str, tree_sitter.Node | str] = {}
        exported: dict[str, tree_sitter.Node] = {}
        self.scopes = [top]
        self._declare(root, top)
        for stmt in named(root):
            self._exports_of(stmt, exported)
        values: dict[str, Value] = {}
        setup: tuple[Call, ...] = ()
        try:
            for name, node in exported.items():
                function = self._function(node)
                if function is not None:
                    values[name], calls = self._returned(function, (), node_line(node))
                    setup = setup or calls
                else:
                    values[name] = self.value(node, () if name == "default" else (name,))
        except Budget:
            return Module(self.file, {}, error=f"{self.file}: too large to read statically")
        return Module(self.file, values, setup)

    def _declare(self, block: tree_sitter.Node, scope: dict[str, tree_sitter.Node | str]) -> None:
        reassigned = _reassigned(block)
        for stmt in named(block):
            if stmt.type == "export_statement":
                inner = stmt.child_by_field_name("declaration")
                if inner is None:
                    continue
                stmt = inner
            if stmt.type in ("lexical_declaration", "variable_declaration"):
                for decl in named(stmt):
                    if decl.type != "variable_declarator":
                        continue
                    name = decl.child_by_field_name("name")
                    init = decl.child_by_field_name("value")
                    if name is None:
                        continue
                    if name.type != "identifier":
                        for ident in _identifiers(name):
                            scope[ident] = f"destructured at line {node_line(name)}"
                    elif node_text(name) in reassigned:
                        scope[node_text(name)] = f"{node_text(name)}, assigned again"
                    else:
                        scope[node_text(name)] = init if init is not None else "undefined"
            elif stmt.type == "function_declaration":
                name = stmt.child_by_field_name("name")
                if name is not None:
                    scope[node_text(name)] = stmt
            elif stmt.type == "import_statement":
                source = stmt.child_by_field_name("source")
                origin = node_text(source) if source is not None else "a module"
                for ident in _identifiers(stmt, skip={"source"}):
                    scope[ident] = f"imported from {origin}"

    def _exports_of(self, stmt: tree_sitter.Node, exported: dict[str, tree_sitter.Node]) -> None:
        if stmt.type == "export_statement":
            value = stmt.child_by_field_name("value")
            declaration = stmt.child_by_field_name("declaration")
            if value is not None:
                exported["default"] = value
            elif declaration is not None and node_text(stmt).startswith("export default"):
                exported["default"] = declaration
            elif declaration is not None and declaration.type in ("lexical_declaration",
                                                                   "variable_declaration"):
                for decl in named(declaration):
                    name, init = (decl.child_by_field_name("name"),
                                  decl.child_by_field_name("value"))
                    if name is not None and init is not None and name.type == "identifier":
                        exported[node_text(name)] = init
            elif declaration is not None and declaration.type == "function_declaration":
                name = declaration.child_by_field_name("name")
                if name is not None:
                    exported[node_text(name)] = declaration
            else:
                for clause in named(stmt):
                    if clause.type != "export_clause":
                        continue
                    for spec in named(clause):
                        local = spec.child_by_field_name("name")
                        alias = spec.child_by_field_name("alias") or local
                        if local is not None and alias is not None:
                            exported[node_text(alias)] = local
        elif stmt.type == "expression_statement":
            expr = named(stmt)[0] if named(stmt) else None
            if expr is None or expr.type != "assignment_expression":
                return
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            if left is None or right is None:
                return
            target = node_text(left).replace(" ", "")
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
                bound = self._lookup(node_text(node))
                if not isinstance(bound, tree_sitter.Node):
                    return None
                node = bound
            elif node.type == "call_expression":
                callee, args = (node.child_by_field_name("function"),
                                node.child_by_field_name("arguments"))
                if callee is None or args is None or node_text(callee) not in WRAPPERS:
                    return None
                inner = named(args)
                if len(inner) != 1:
                    return None
                node = inner[0]
            elif node.type in TRANSPARENT:
                inner = named(node)
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
        if params is not None and named(params):
            first = named(params)[0]
            pattern = first.child_by_field_name("pattern") if first.type != "identifier" else first
            if pattern is not None and pattern.type == "identifier":
                param = node_text(pattern)
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
            for stmt in named(body):
                if stmt.type == "return_statement":
                    inner = named(stmt)
                    returned = self.value(inner[0], path) if inner else None
                    break
                if stmt.type == "expression_statement" and param is not None:
                    call = self._setup_call(stmt, param)
                    if call is not None:
                        calls.append(call)
                elif param is not None:  # `if (process.env.X) { eleventyConfig.ignores.add… }`
                    calls.extend(self._guarded_calls(stmt, param))
            return returned, tuple(calls)
        finally:
            self.scopes.pop()

    def _guarded_calls(self, stmt: tree_sitter.Node, param: str) -> Iterator[Call]:
        """The setup calls inside a condition, a loop or a `try`: whether they run cannot be
        read, so each is kept with an Unknown argument (the site model warns on the ones it
        would have used, naming the line, rather than applying none in silence)."""
        head = node_text(stmt).partition("{")[0].strip() or stmt.type
        stack = list(reversed(named(stmt)))
        while stack:
            node = stack.pop()
            if node.type == "expression_statement":
                call = self._setup_call(node, param)
                if call is not None:
                    yield Call(call.callee, (Unknown(
                        self.file, call.line, (param, *call.callee.split(".")),
                        f"run only under `{head}`"),), call.file, call.line, call.path)
                    continue
            if node.type not in ("function_declaration", "arrow_function", "function",
                                 "function_expression", "class_declaration"):
                stack.extend(reversed(named(node)))

    def _setup_call(self, stmt: tree_sitter.Node, param: str) -> Call | None:
        inner = named(stmt)
        expr = inner[0] if inner else None
        if expr is not None and expr.type == "await_expression" and named(expr):
            expr = named(expr)[0]
        if expr is None or expr.type != "call_expression":
            return None
        callee = expr.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return None
        name = dotted(callee)
        if name is None or not name.startswith(param + "."):
            return None
        return self._call(expr, name[len(param) + 1:], ())

def _identifiers(node: tree_sitter.Node, skip: frozenset[str] | set[str] = frozenset()
                 ) -> Iterator[str]:
    """The names a pattern or an import binds."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "shorthand_property_identifier_pattern"):
            yield node_text(current)
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
                names.add(node_text(left))
        elif node.type == "update_expression":
            arg = node.child_by_field_name("argument")
            if arg is not None and arg.type == "identifier":
                names.add(node_text(arg))
        stack.extend(node.named_children)
    return names



__all__ = ["MAX_CONFIG", "Call", "JSObject", "Key", "Module", "Unknown", "Value", "key_path",
           "read_module"]

