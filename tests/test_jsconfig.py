"""cometwatch.sites.jsconfig: JavaScript and TypeScript configs read without running them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.sites.jsconfig import (
    Call,
    JSObject,
    Module,
    Unknown,
    Value,
    key_path,
    read_module,
)


def plain(value: Value) -> Any:
    """A value as plain Python, Unknowns as ('?', reason), Calls as ('call', name, args)."""
    if isinstance(value, JSObject):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if isinstance(value, Call):
        return ("call", value.callee, [plain(arg) for arg in value.args])
    if isinstance(value, Unknown):
        return ("?", value.reason)
    return value


def default(source: str, file: str = "site.config.js") -> Any:
    module = read_module(file, source.encode())
    assert module.error is None, module.error
    return plain(module.default)


LITERALS = [
    # (source of the exported value, what it reads as)
    ("'a'", "a"),
    ('"double \\"quoted\\""', 'double "quoted"'),
    (r"'tab\tnew\nline\\ \x41 \u00e9 \u{1F600}'", "tab\tnew\nline\\ A é 😀"),
    (r"'\uD83D\uDE00'", "😀"),  # a surrogate pair is one character
    (r"'\uD800'", "\ufffd"),  # a lone surrogate is no text
    ("`template`", "template"),
    ("`two\nlines`", "two\nlines"),
    ("42", 42),
    ("-2.5", -2.5),
    ("1_000", 1000),
    ("0x10", 16),
    ("1e3", 1000),
    ("10n", 10),
    ("true", True),
    ("false", False),
    ("null", None),
    ("undefined", None),
    ("[1, 'two', [3]]", [1, "two", [3]]),
    ("[]", []),
    ("{}", {}),
    ("{a: 1, 'b-c': 2, \"d\": 3, 4: 'four', ['e']: 5}", {"a": 1, "b-c": 2, "d": 3, "4": "four",
                                                          "e": 5}),
    ("{a: 1, a: 2}", {"a": 2}),
    ("{a: 1, b: 2, a: 3}", {"b": 2, "a": 3}),  # a key set again moves last, as in JavaScript
    ("('paren')", "paren"),
    ("'a' + 'b' + 1", "ab1"),
    ("1 + 2", 3),
    ("!true", False),
    ("!0", True),
    ("'x' === 'x'", True),
    ("1 === true", False),
    ("null ?? 'fallback'", "fallback"),
    ("'' || 'or'", "or"),
    ("0 && 'and'", 0),
    ("true ? 'yes' : 'no'", "yes"),
    ("[1, 0, null, 'a', false].filter(Boolean)", [1, "a"]),
    ("[1, 2].length", 2),
    ("{a: {b: 'deep'}}.a.b", "deep"),
    ("['x', 'y'][1]", "y"),
    ("/re/", ("?", "/re/")),
    ("new Date()", ("?", "new Date()")),
    ("{f: () => 1}", {"f": ("?", "a function")}),
    ("{ m() { return 1 } }", {"m": ("?", "a function")}),
]


@pytest.mark.parametrize(("source", "expected"), LITERALS)
def test_literal_values_read_as_javascript_evaluates_them(source: str, expected: Any) -> None:
    assert default(f"export default {source};") == expected


CONSTANTS = [
    ("const A = 'docs'; export default {path: A};", {"path": "docs"}),
    ("let A = 'docs'; var B = [A]; export default {B};", {"B": ["docs"]}),
    ("const A = 'docs'; export default {path: `../${A}/x`};", {"path": "../docs/x"}),
    ("const A = 1; export default {path: `${A}${true}${null}`};", {"path": "1truenull"}),
    ("const O = {a: 1, b: 2}; export default {...O, b: 3};", {"a": 1, "b": 3}),
    ("const O = {a: 1}; export default {b: 0, ...O, c: O.a};", {"b": 0, "a": 1, "c": 1}),
    ("const L = ['a']; export default [...L, 'b'];", ["a", "b"]),
    ("const K = 'key'; export default {[K]: 1};", {"key": 1}),
    ("const base = {dir: 'x'}; export default base['dir'];", "x"),
    ("export default X; const X = 'declared after use';", "declared after use"),
    ("let A = 'one'; A = 'two'; export default A;", ("?", "A, assigned again")),
    ("const A = B; const B = A; export default A;",
     ("?", "A, defined by itself")),
    ("import {x} from './consts'; export default {path: x};",
     {"path": ("?", "imported from './consts'")}),
    ("import x from 'y'; export default x.deep;", ("?", "x.deep")),
    ("const {a} = obj; export default a;", ("?", "destructured at line 1")),
    ("export default process.env.DOCS_DIR;", ("?", "process.env.DOCS_DIR")),
    ("export default {p: nowhere};", {"p": ("?", "nowhere, not defined in this file")}),
]


@pytest.mark.parametrize(("source", "expected"), CONSTANTS)
def test_constants_of_the_same_file_are_read_and_the_rest_is_unknown(source: str,
                                                                       expected: Any) -> None:
    assert default(source) == expected


EXPORTS = [
    ("module.exports = {a: 1};", "site.config.js", {"a": 1}),
    ("const c = {a: 1}; module.exports = c;", "site.config.cjs", {"a": 1}),
    ("export default defineConfig({a: 1});", "astro.config.mjs", {"a": 1}),
    ("export default {a: 1} satisfies Config;", "docusaurus.config.ts", {"a": 1}),
    ("const config: Config = {a: 1}; export default config;", "docusaurus.config.ts",
     {"a": 1}),
    ("export default <Config>{a: 1};", "x.ts", {"a": 1}),
    ("export default ({a: 1} as const);", "x.mts", {"a": 1}),
    ("const c = {a: x!}; export default c;", "x.cts", {"a": ("?", "x, not defined in this file")}),
    ("export default /** @type {import('x').Config} */ ({a: 1});", "x.js", {"a": 1}),
    ("module.exports = function (eleventyConfig) { const d = 'src'; "
     "return {dir: {input: d}}; };", ".eleventy.js", {"dir": {"input": "src"}}),
    ("module.exports = (c) => ({dir: {input: 'src'}});", "eleventy.config.js",
     {"dir": {"input": "src"}}),
    ("export default async function createConfig() { return {a: 1}; }", "x.ts", {"a": 1}),
    ("export default async function (c) { await c.addPlugin(p); return {a: 1}; }", "x.mjs",
     {"a": 1}),
    ("async function createConfig() { return {a: 1}; } module.exports = createConfig;", "x.js",
     {"a": 1}),
    ("export default defineConfig(() => ({a: 1}));", "x.ts", {"a": 1}),
    ("module.exports = function (c) { if (x) { return {a: 1}; } };", "x.js",
     ("?", "a function that returns nothing at its top level")),
    ("export default function (c) {}", "x.js",
     ("?", "a function that returns nothing at its top level")),
]


@pytest.mark.parametrize(("source", "file", "expected"), EXPORTS)
def test_the_exported_config_is_read_in_each_way_configs_export_it(source: str, file: str,
                                                                   expected: Any) -> None:
    assert default(source, file) == expected


def test_named_exports_are_read_for_content_collections() -> None:
    module = read_module("src/content.config.ts", b"""
import { defineCollection, z } from 'astro:content';
import { glob, file } from 'astro/loaders';
const blog = defineCollection({
  loader: glob({ pattern: '**/[^_]*.{md,mdx}', base: "./src/data/blog" }),
  schema: z.object({ title: z.string() }),
});
const dogs = defineCollection({ loader: file("src/data/dogs.json") });
export const collections = { blog, dogs };
""")
    assert module.error is None
    collections = plain(module.exports["collections"])
    assert collections["blog"]["loader"] == (
        "call", "glob", [{"pattern": "**/[^_]*.{md,mdx}", "base": "./src/data/blog"}])
    assert collections["dogs"]["loader"] == ("call", "file", ["src/data/dogs.json"])
    assert collections["blog"]["schema"][0] == "call"


def test_commonjs_named_exports_are_read() -> None:
    module = read_module("eleventy.config.cjs",
                         b"module.exports = function () {};\n"
                         b"module.exports.config = { dir: { input: 'src' } };\n"
                         b"exports.other = 1;\nconst x = 2; export { x as renamed };")
    assert plain(module.exports["config"]) == {"dir": {"input": "src"}}
    assert module.exports["other"] == 1
    assert module.exports["renamed"] == 2


def test_a_config_function_reports_the_calls_it_makes_on_its_parameter() -> None:
    module = read_module("eleventy.config.js", b"""
const INPUT = "src";
export default async function (eleventyConfig) {
  eleventyConfig.setInputDirectory(INPUT);
  eleventyConfig.ignores.add("src/drafts/**");
  await eleventyConfig.addPlugin(somePlugin, { opt: 1 });
  other.call("not ours");
  if (process.env.X) { eleventyConfig.setIncludesDirectory("never"); }
}
export const config = { dir: { includes: "_partials" } };
""")
    assert [(call.callee, plain(call.args)) for call in module.setup] == [
        ("setInputDirectory", ["src"]),
        ("ignores.add", ["src/drafts/**"]),
        ("addPlugin", [("?", "somePlugin, not defined in this file"), {"opt": 1}]),
        # whether a call under a condition runs cannot be read: kept, its argument unknown,
        # so the site model warns of it (by line) instead of dropping it in silence
        ("setIncludesDirectory", [("?", "run only under `if (process.env.X)`")]),
    ]
    assert module.setup[0].line == 4 and module.setup[-1].line == 8
    assert plain(module.exports["config"]) == {"dir": {"includes": "_partials"}}


def test_preset_and_plugin_tuples_keep_their_module_names() -> None:
    value = default("""
module.exports = {
  presets: [['@docusaurus/preset-classic', ({docs: {path: 'docs'}})]],
  plugins: [
    [require.resolve('@docusaurus/plugin-content-docs'), {id: 'community'}],
    '@docusaurus/plugin-ideal-image',
  ],
};""")
    assert value["presets"] == [["@docusaurus/preset-classic", {"docs": {"path": "docs"}}]]
    assert value["plugins"][0] == [("call", "require.resolve",
                                    ["@docusaurus/plugin-content-docs"]), {"id": "community"}]
    assert value["plugins"][1] == "@docusaurus/plugin-ideal-image"


CONDITIONS = [
    # a condition that cannot be read: the keys its branches agree on are still known
    ("export default {...(isDev ? {a: 1, b: 2} : {a: 1, b: 3})};",
     {"a": 1, "b": ("?", "depends on isDev")}),
    ("export default {a: 0, ...(isDev && {b: 1})};",
     {"a": 0, "b": ("?", "depends on isDev")}),
    ("export default {a: isDev ? 'same' : 'same'};", {"a": "same"}),
    ("export default {a: isDev ? 'x' : 'y'};", {"a": ("?", "isDev")}),
    ("export default [a, isDev && 'b'].filter(Boolean);",
     [("?", "a, not defined in this file"), ("?", "isDev")]),
    ("export default {...unknownThing, a: 1};", {"a": 1}),
]


@pytest.mark.parametrize(("source", "expected"), CONDITIONS)
def test_conditions_that_cannot_be_read_are_unknown_only_where_branches_differ(
        source: str, expected: Any) -> None:
    assert default(source) == expected


def test_a_key_an_unread_spread_may_set_is_unknown_not_absent() -> None:
    module = read_module("x.js", b"export default {\n  ...shared,\n  a: 1,\n};")
    config = module.default
    assert isinstance(config, JSObject)
    assert config.read("a") == 1
    missing = config.read("path")
    assert isinstance(missing, Unknown)
    assert (missing.line, missing.path) == (2, ("path",))
    assert "shared" in missing.reason
    assert JSObject({}, {}, "x.js", 1, ()).read("path") is None


def test_an_unknown_names_file_line_key_the_default_and_the_override() -> None:
    module = read_module("docusaurus.config.ts", b"""const config = {
  presets: [
    ['classic', {
      docs: {
        path: process.env.DOCS_DIR,
      },
    }],
  ],
};
export default config;
""")
    config = module.default
    assert isinstance(config, JSObject)
    presets = config.read("presets")
    assert isinstance(presets, tuple) and isinstance(presets[0], tuple)
    options = presets[0][1]
    assert isinstance(options, JSObject)
    docs = options.read("docs")
    assert isinstance(docs, JSObject)
    unknown = docs.read("path")
    assert isinstance(unknown, Unknown)
    assert unknown.message("'docs'", "[repository] content_dir") == (
        "docusaurus.config.ts:5: presets[0][1].docs.path is not a literal "
        "(process.env.DOCS_DIR); using 'docs'; set [repository] content_dir in webhooks.toml "
        "to choose")


def test_an_unknown_through_a_constant_is_placed_at_the_key_and_names_the_constant() -> None:
    module = read_module("x.js", b"const DIR = process.env.X;\n\nexport default {\n  p: DIR };")
    assert isinstance(module.default, JSObject)
    unknown = module.default.read("p")
    assert isinstance(unknown, Unknown)
    assert unknown.line == 4
    assert unknown.reason == "DIR = process.env.X at line 1"


def test_unreadable_says_what_a_key_holds_when_it_is_the_wrong_kind() -> None:
    module = read_module("x.js", b"export default {\n a: 1,\n b: glob({}),\n};")
    assert isinstance(module.default, JSObject)
    assert module.default.unreadable("a", "a string").reason == "not a string"
    assert module.default.unreadable("b", "a string").reason == "the result of glob()"
    assert module.default.unreadable("b", "a string").line == 3


@pytest.mark.parametrize(("path", "text"), [
    ((), "(the exported value)"),
    (("presets", 0, 1, "docs", "path"), "presets[0][1].docs.path"),
    (("collections", "my-blog", "loader"), "collections['my-blog'].loader"),
])
def test_key_paths_read_as_javascript(path: tuple[str | int, ...], text: str) -> None:
    assert key_path(path) == text


@pytest.mark.parametrize("source", [
    b"export default {a: ",
    b"module.exports = {a: 1 b: 2};",
    b"const = 3;",
])
def test_a_syntax_error_is_an_error_with_its_line_and_nothing_read(source: bytes) -> None:
    module = read_module("bad.config.js", b"// comment\n" + source)
    assert module.error == "bad.config.js:2: syntax error"
    assert module.exports == {}


def test_typescript_syntax_uses_the_typescript_grammar() -> None:
    source = b"const c: Config = {a: 1} satisfies Config; export default c;"
    assert read_module("x.ts", source).error is None
    assert read_module("x.js", source).error is not None


def test_a_blob_is_parsed_once_per_sha() -> None:
    first = read_module("x.js", b"export default 1;", sha="a" * 40)
    again = read_module("x.js", b"export default 2;", sha="a" * 40)  # same sha: same blob
    assert again is first
    assert read_module("x.js", b"export default 2;", sha="b" * 40).default == 2


def test_hostile_inputs_are_read_within_bounds() -> None:
    deep = b"export default " + b"[" * 5000 + b"]" * 5000 + b";"
    assert read_module("deep.js", deep).error is None
    chain = b"export default a" + b".b" * 20000 + b";"
    assert isinstance(read_module("chain.js", chain).default, Unknown)
    sums = b"export default 'a'" + b" + 'a'" * 5000 + b";"
    assert read_module("sums.js", sums).error is None
    blowup = b"const a0 = 1;\n" + b"".join(
        f"const a{i} = [a{i - 1}, a{i - 1}, a{i - 1}];\n".encode() for i in range(1, 40)
    ) + b"export default a39;"
    assert read_module("blowup.js", blowup).error == "blowup.js: too large to read statically"
    assert read_module("big.js", b" " * (2 * 1024 * 1024)).error is not None


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["x.js", "x.ts", "x.mjs", "x.cts"]))
def test_arbitrary_bytes_never_raise(data: bytes, file: str) -> None:
    module = read_module(file, data)
    assert isinstance(module, Module)


_JS_ATOMS = ["1", "'s'", "`t${1}`", "x", "null", "{a: 1}", "[1]", "...y", "a.b", "f()",
             "c ? 1 : 2", "!x", "() => 1", "(", ")", "{", "}", "[", "]", ",", ":", "=",
             "export default ", "module.exports = ", "const x = ", "function f(c) { return ",
             ";", "\n", "as T", "satisfies T", "`${", "import x from 'y';"]


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.sampled_from(_JS_ATOMS), max_size=40),
       st.sampled_from(["x.js", "x.ts"]))
def test_near_javascript_never_raises(atoms: list[str], file: str) -> None:
    module = read_module(file, " ".join(atoms).encode())
    assert isinstance(module, Module)


@pytest.mark.parametrize(("source", "expected"), [
    ("import path from 'path'; export default path.join(__dirname, '../docs');", "../docs"),
    ("import path from 'node:path'; export default path.resolve(__dirname, 'docs', 'a');",
     "docs/a"),
    ("const path = require('path'); module.exports = {p: path.join(__dirname, 'blog')};",
     {"p": "blog"}),
    ("import path from 'path'; export default path.resolve('docs');",
     ("?", "path.resolve('docs')")),  # against the working directory
    ("import path from 'path'; export default path.join('/abs', 'x');",
     ("?", "path.join('/abs', 'x')")),
    ("import path from 'mylib'; export default path.join(__dirname, 'x');",
     ("call", "path.join", [("?", "__dirname, not defined in this file"), "x"])),
])
def test_node_path_joins_from_the_config_folder_are_read(source: str, expected: Any) -> None:
    assert default(source, "site.config.mjs") == expected
