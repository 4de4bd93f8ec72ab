"""Second backend of the expression compiler: one generated Python function per boolean expression.

The closure backend in :mod:`.xpath` composes a closure per AST node; evaluating ``normalize-space(
text()) = $UNCL1001`` calls six of them. This backend translates the same AST into the source of a
single function (``return _ns(_txt(c)) in _k0``) with the semantics of the closure backend, helper by
helper. Any construct it does not specialise is delegated to the closure backend for that subtree
(``_k3(c)``), so it accepts everything the closure backend accepts and can never change a result;
``tests/validation/test_pycompile.py`` checks both backends against each other on every expression of
the shipped rule files over the test corpus.

Only boolean uses (assert tests and rule-context predicates) are generated; the context ``c`` is
always an element there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from lxml import etree

from .functions import STRING_FUNCTIONS
from .xpath import (
    BOOLEAN,
    NODES,
    NUMBER,
    SET,
    STRING,
    Compiled,
    DynamicError,
    Text,
    _text_nodes,
    is_date,
    is_time,
    normalize_space,
    string_value,
    to_double,
)

__all__ = ["RuleCheck", "compile_boolean", "compile_rule_check"]

_XML_WS: Final = " \t\n\r"


# -- run-time helpers (the context c is an lxml element) --------------------------------------------


def _sv(c: etree._Element) -> str:
    if not len(c):
        return c.text or ""
    return string_value(c)


def _txt(c: etree._Element) -> str:
    """``xs:string?`` of ``text()``."""
    if not len(c):
        return c.text or ""
    nodes = _text_nodes(c)
    if len(nodes) > 1:
        raise DynamicError(f"XPTY0004: a sequence of {len(nodes)} items is not allowed as the argument")
    return nodes[0].value if nodes else ""


def _str1(c: etree._Element, tag: str) -> str:
    """``xs:string?`` of the children called ``tag``."""
    found = None
    count = 0
    for k in c:
        if k.tag == tag:
            found = k
            count += 1
    if count > 1:
        raise DynamicError(f"XPTY0004: a sequence of {count} items is not allowed as the argument")
    return _sv(found) if found is not None else ""


def _has(c: etree._Element, tag: str) -> bool:
    for k in c:  # noqa: SIM110 - faster than any()
        if k.tag == tag:
            return True
    return False


def _has_el(c: etree._Element) -> bool:
    for k in c:  # noqa: SIM110 - faster than any()
        if isinstance(k.tag, str):
            return True
    return False


def _has_path(c: etree._Element, tags: tuple[str, ...]) -> bool:
    level = [c]
    for tag in tags:
        level = [k for node in level for k in node if k.tag == tag]
        if not level:
            return False
    return True


def _has_attr_local(c: etree._Element, local: str) -> bool:
    for k in c.keys():  # noqa: SIM110, SIM118 - a loop over lxml's attribute names is fastest
        if str(k).rpartition("}")[2] == local:
            return True
    return False


def _kids(c: etree._Element, tag: str) -> list[etree._Element]:
    return [k for k in c if k.tag == tag]


def _nonblank(s: str) -> bool:
    return s.strip(_XML_WS) != ""


def _any_eq(c: etree._Element, tag: str, value: str) -> bool:
    for k in c:  # noqa: SIM110 - faster than any()
        if k.tag == tag and _sv(k) == value:
            return True
    return False


def _attr_of_kids_eq(c: etree._Element, tag: str, attr: str, value: str) -> bool:
    for k in c:  # noqa: SIM110 - faster than any()
        if k.tag == tag and k.get(attr) == value:
            return True
    return False


def _num_ebv(n: float | int) -> bool:
    return not (n == 0 or (isinstance(n, float) and math.isnan(n)))


_HELPERS: Final[dict[str, Any]] = {
    "_sv": _sv, "_txt": _txt, "_str1": _str1, "_has": _has, "_has_el": _has_el, "_has_path": _has_path,
    "_has_attr_local": _has_attr_local, "_kids": _kids, "_nonblank": _nonblank, "_ns": normalize_space,
    "_any_eq": _any_eq, "_attr_of_kids_eq": _attr_of_kids_eq, "_num_ebv": _num_ebv, "_num": to_double,
    "_is_time": is_time, "_Text": Text,
}


class _Gen:
    """Translates an AST into Python source; unknown shapes become calls of closure-backend code."""

    def __init__(self, compiler: Any, names: str | None = None) -> None:
        self.compiler = compiler  # xpath._Compiler
        self.ns: dict[str, Any] = dict(_HELPERS)
        self.n = 0
        # the variable holding the set of the context's child names (``.tag`` values), when there is one:
        # a test for a named child is then a set lookup instead of a loop reading every child's name
        self.names = names

    def const(self, value: object) -> str:
        name = f"_k{self.n}"
        self.n += 1
        self.ns[name] = value
        return name

    def clark(self, name: str) -> str:
        tag: str = self.compiler.env.clark(name)
        return tag

    # -- shapes --------------------------------------------------------------------------------------

    @staticmethod
    def _single_step(ast: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if ast[0] == "path" and ast[1] == "" and len(ast[2]) == 1:
            step: tuple[Any, ...] = ast[2][0]
            return step
        return None

    def _child_tags(self, ast: tuple[Any, ...]) -> tuple[str, ...] | None:
        """Clark names of a relative path of named child steps without predicates."""
        if ast[0] != "path" or ast[1] != "":
            return None
        tags = []
        for step in ast[2]:
            if step[0] != "child" or step[-1] or step[1] == "*" or step[1].startswith("*:") or step[1].endswith(":*"):
                return None
            tags.append(self.clark(step[1]))
        return tuple(tags)

    # -- conversions ---------------------------------------------------------------------------------

    def closure(self, ast: tuple[Any, ...]) -> tuple[str, str]:
        c: Compiled = self.compiler.compile(ast)
        return f"{self.const(c.fn)}(c)", c.kind

    def b(self, ast: tuple[Any, ...]) -> str:
        """Source of the effective boolean value."""
        step = self._single_step(ast)
        if step is not None and not step[-1]:
            if step[0] == "child" and step[1] == "*":
                return "_has_el(c)"
            if step[0] == "attr" and ":" not in step[1] and step[1] != "*":
                return f"(c.get({step[1]!r}) is not None)"
            if step[0] == "attr" and step[1].startswith("*:"):
                return f"_has_attr_local(c, {step[1][2:]!r})"
        tags = self._child_tags(ast)
        if tags is not None:
            if self.names is not None:
                first = f"({tags[0]!r} in {self.names})"
                return first if len(tags) == 1 else f"({first} and _has_path(c, {tags!r}))"
            return f"_has(c, {tags[0]!r})" if len(tags) == 1 else f"_has_path(c, {tags!r})"
        if ast[0] == "call" and ast[1] == "normalize-space":
            return f"_nonblank({self.s(ast[2][0]) if ast[2] else '_sv(c)'})"
        src, kind = self.gen(ast)
        if kind == BOOLEAN:
            return src
        if kind == NODES:
            return f"bool({src})"
        if kind == STRING:
            return f"({src} != '')"
        if kind == NUMBER:
            return f"_num_ebv({src})"
        return self.closure_bool(ast)

    def closure_bool(self, ast: tuple[Any, ...]) -> str:
        from .xpath import as_bool

        return f"{self.const(as_bool(self.compiler.compile(ast)))}(c)"

    def s(self, ast: tuple[Any, ...]) -> str:
        """Source of the ``xs:string?`` value."""
        step = self._single_step(ast)
        if step is not None and not step[-1]:
            if step[0] == "self":
                return "_sv(c)"
            if step[0] == "text()":
                return "_txt(c)"
            if step[0] == "child" and step[1] != "*" and not step[1].startswith("*:") and not step[1].endswith(":*"):
                tag = self.clark(step[1])
                if self.names is not None:
                    return f"(_str1(c, {tag!r}) if {tag!r} in {self.names} else '')"
                return f"_str1(c, {tag!r})"
        src, kind = self.gen(ast)
        if kind == STRING:
            return src
        from .xpath import as_string

        return f"{self.const(as_string(self.compiler.compile(ast)))}(c)"

    def num(self, ast: tuple[Any, ...]) -> str:
        src, kind = self.gen(ast)
        if kind == NUMBER:
            return src
        from .xpath import as_number

        return f"{self.const(as_number(self.compiler.compile(ast)))}(c)"

    # -- the translation -----------------------------------------------------------------------------

    def gen(self, ast: tuple[Any, ...]) -> tuple[str, str]:
        kind = ast[0]
        if kind == "str":
            return repr(ast[1]), STRING
        if kind == "num":
            return repr(ast[1]), NUMBER
        if kind == "var":
            return self.const(self.compiler.env.variables[ast[1]]), SET
        if kind in ("and", "or"):
            return f"({self.b(ast[1])} {kind} {self.b(ast[2])})", BOOLEAN
        if kind == "cmp":
            return self.cmp(ast[1], ast[2], ast[3])
        if kind == "castable" and ast[2] in ("xs:date", "xs:time"):
            operand = self.compiler.compile(ast[1])
            if operand.kind == STRING:
                check = "_is_time" if ast[2] == "xs:time" else self.const(
                    lambda text: is_date(text, allow_year_zero=True))
                return f"{check}({self.s(ast[1])})", BOOLEAN
        if kind == "call":
            out = self.call(ast[1], ast[2])
            if out is not None:
                return out
        if kind == "path":
            tags = self._child_tags(ast)
            if tags is not None and len(tags) == 1:
                return f"_kids(c, {tags[0]!r})", NODES
        return self.closure(ast)

    def call(self, name: str, args: list[tuple[Any, ...]]) -> tuple[str, str] | None:
        if name == "not":
            return f"(not {self.b(args[0])})", BOOLEAN
        if name in ("true", "false"):
            return ("True" if name == "true" else "False"), BOOLEAN
        if name == "exists":
            if self.compiler.compile(args[0]).kind == NODES:
                return self.b(args[0]), BOOLEAN
            return None
        if name == "count" and self.compiler.compile(args[0]).kind == NODES:
            return f"len({self.gen(args[0])[0]})", NUMBER
        if name == "normalize-space":
            return f"_ns({self.s(args[0]) if args else '_sv(c)'})", STRING
        if name == "string":
            return (self.s(args[0]) if args else "_sv(c)"), STRING
        if name == "string-length":
            return f"len({self.s(args[0]) if args else '_sv(c)'})", NUMBER
        if name == "starts-with":
            return f"{self.s(args[0])}.startswith({self.s(args[1])})", BOOLEAN
        if name == "ends-with":
            return f"{self.s(args[0])}.endswith({self.s(args[1])})", BOOLEAN
        if name == "contains":
            haystack, needle = self.s(args[0]), self.s(args[1])
            return f"({needle} in {haystack})", BOOLEAN
        if name == "concat":
            return "(" + " + ".join(self.s(a) for a in args) + ")", STRING
        if name == "matches" and len(args) == 2 and args[1][0] == "str":
            from .functions import xpath_regex

            regex = self.const(xpath_regex(args[1][1], ""))
            return f"({regex}.search({self.s(args[0])}) is not None)", BOOLEAN
        if name == "substring":
            from .functions import xp_substring

            fn = self.const(xp_substring)
            return f"{fn}({', '.join([self.s(args[0]), *(self.num(a) for a in args[1:])])})", STRING
        if name == "translate":
            if args[1][0] == "str" and args[2][0] == "str":
                table: dict[int, int | None] = {}
                for i, ch in enumerate(args[1][1]):
                    table.setdefault(ord(ch), ord(args[2][1][i]) if i < len(args[2][1]) else None)
                return f"{self.s(args[0])}.translate({self.const(table)})", STRING
            from .functions import xp_translate

            return f"{self.const(xp_translate)}({self.s(args[0])}, {self.s(args[1])}, {self.s(args[2])})", STRING
        if name == "number":
            return f"_num({self.s(args[0]) if args else '_sv(c)'})", NUMBER
        if name in STRING_FUNCTIONS and len(args) == 1:
            function, result_kind = STRING_FUNCTIONS[name]
            return f"{self.const(function)}({self.s(args[0])})", result_kind
        return None

    def cmp(self, op: str, a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[str, str]:
        py_op = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[op]
        ca, cb = self.compiler.compile(a), self.compiler.compile(b)
        step = self._single_step(a)
        if op == "=" and step is not None and step[0] == "attr" and not step[-1] and ":" not in step[1] \
                and step[1] != "*":
            if b[0] == "str":
                return f"(c.get({step[1]!r}) == {b[1]!r})", BOOLEAN
            if cb.kind == SET:
                return f"(c.get({step[1]!r}) in {self.gen(b)[0]})", BOOLEAN
        if op == "=" and b[0] == "str" and a[0] == "path" and a[1] == "" and len(a[2]) == 2:
            first, second = a[2]
            if (first[0] == "child" and not first[-1] and ":" in first[1] and "*" not in first[1]
                    and second[0] == "attr" and not second[-1] and ":" not in second[1] and second[1] != "*"):
                return (f"_attr_of_kids_eq(c, {self.clark(first[1])!r}, {second[1]!r}, {b[1]!r})", BOOLEAN)
        if op == "=" and b[0] == "str":
            tags = self._child_tags(a)
            if tags is not None and len(tags) == 1:
                return f"_any_eq(c, {tags[0]!r}, {b[1]!r})", BOOLEAN
        if ca.kind == STRING and cb.kind == SET and op == "=":
            return f"({self.s(a)} in {self.gen(b)[0]})", BOOLEAN
        if ca.kind == STRING and cb.kind == STRING and op in ("=", "!="):
            return f"({self.s(a)} {py_op} {self.s(b)})", BOOLEAN
        if ca.kind == NUMBER and cb.kind == NUMBER:
            return f"({self.num(a)} {py_op} {self.num(b)})", BOOLEAN
        return self.closure(("cmp", op, a, b))


RuleCheck = Callable[..., list[tuple[int, str | None]]]
"""A rule's asserts in one function: ``check(element, child_names=None) -> [(assert index, XPath error or
None), ...]`` listing the asserts that failed, in order; ``child_names`` is the set of ``.tag`` values of
the element's children when the caller knows it."""


def compile_rule_check(tests: list[str], namespaces: dict[str, str],
                       variables: dict[str, frozenset[str]]) -> RuleCheck:
    """One generated function evaluating all asserts of a rule on an element.

    Each assert keeps its own ``try`` (an XPath error fails that assert only, as in
    :meth:`RuleSet.evaluate`). When several asserts test for a named child, the element's child names
    are collected once into a set.
    """
    from .xpath import _Compiler, _Env, _Parser

    env = _Env(namespaces, variables)
    gen: _Gen | None = None
    bodies = []
    for text in tests:
        parser = _Parser(text)
        ast = parser.expr()
        compiler = _Compiler(env, text)
        compiler.compile(ast)  # validates, as compile_expression does
        if gen is None:
            gen = _Gen(compiler, names="_ts")
        gen.compiler = compiler
        bodies.append(gen.b(ast))
    ns = gen.ns if gen is not None else dict(_HELPERS)
    lines = ["def _check(c, _ts=None):", "    _f = []"]
    if any("_ts" in b for b in bodies):
        # the engine passes the names of the element's children (collected on its walk); other callers
        # get them computed here
        lines.append("    if _ts is None:")
        lines.append("        _ts = {k.tag for k in c}")
    # The string value and its normalize-space() never raise and do not change within a rule: when the
    # asserts use one of them more than once, compute it once.
    if sum(b.count("_ns(_sv(c))") for b in bodies) >= 2:
        lines.append("    _nsv = _ns(_sv(c))")
        bodies = [b.replace("_ns(_sv(c))", "_nsv") for b in bodies]
    if sum(b.count("_sv(c)") for b in bodies) >= 2:
        lines.append("    _svc = _sv(c)")
        bodies = [b.replace("_sv(c)", "_svc") for b in bodies]
    for i, body in enumerate(bodies):
        lines += ["    try:", f"        if not ({body}):", f"            _f.append(({i}, None))",
                  "    except _DE as _e:", f"        _f.append(({i}, str(_e)))"]
    lines.append("    return _f")
    source = "\n".join(lines) + "\n"
    ns["_DE"] = DynamicError
    exec(compile(source, f"<rule with {len(tests)} asserts>", "exec"), ns)  # noqa: S102 - our generated source
    fn: RuleCheck = ns["_check"]
    fn.__doc__ = source
    return fn


def compile_boolean(compiler: Any, ast: tuple[Any, ...]) -> Callable[[etree._Element], bool]:
    """A generated function computing the effective boolean value of ``ast`` for an element."""
    gen = _Gen(compiler)
    body = gen.b(ast)
    source = f"def _generated(c):\n    return {body}\n"
    code = compile(source, f"<rule expression {compiler.text!r}>", "exec")
    exec(code, gen.ns)  # noqa: S102 - our own generated source, from the AST of our own rule files
    fn: Callable[[etree._Element], bool] = gen.ns["_generated"]
    fn.__doc__ = f"{compiler.text}\n\n{source}"
    return fn

