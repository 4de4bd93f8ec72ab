"""A compiler for the small subset of XPath 2.0 our rule files are written in.

The official T111 artefacts are Schematron with the XSLT 2 query binding, run by Saxon. To give the
same verdict without Saxon we evaluate the same kind of expressions with the same semantics, on lxml
trees, in pure Python:

* **values** are sequences: lists of nodes (lxml elements, :class:`Attr`, :class:`Text`,
  :class:`DocNode`), or single atomic values (``str``, ``float``/``int``, ``bool``), or a code list
  (``frozenset`` of strings, bound to a ``$variable``);
* **node values are untyped** (no schema-aware processing, as in the official pipeline), so comparing
  a node with a string compares strings, and with a number casts the node's value to ``xs:double``;
* **general comparisons** (``=``, ``!=``, ``<`` ...) are existential over both sequences;
* **type errors are kept**: a function taking ``xs:string?`` raises :class:`DynamicError` (XPTY0004)
  when given two items, exactly where Saxon raises. The engine treats an error in a rule context as
  "no match" (what Saxon does with an error in a template pattern) and an error in an assert as a
  failure of that assert (the official transformation aborts there).

Expressions compile once into Python closures; each compiled expression knows its static kind
(``NODES``, ``STRING``, ``NUMBER``, ``BOOLEAN``, ``SET``) so common shapes (``@schemeID = '0088'``,
existence of a child, membership in a code list) become a few attribute reads at run time.

Supported: paths on the child, attribute and parent axes (``a/b``, ``@x``, ``@*:x``, ``*``,
``*:x``, ``p:*``, ``.``, ``..``, ``text()``, absolute ``/a``) with boolean predicates, ``|`` (in
rule contexts), ``and``/``or``, general comparisons, ``castable as`` (``xs:date``, ``xs:integer``,
``xs:string``, ``xs:time``), string/number literals, ``$codelist`` variables and the functions in
:data:`FUNCTIONS`. Anything else is refused when the rule file is compiled, never at run time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from lxml import etree

from ..errors import RulesError, RulesEvaluationError

__all__ = [
    "BOOLEAN",
    "NODES",
    "NUMBER",
    "SET",
    "STRING",
    "Attr",
    "Compiled",
    "DocNode",
    "DynamicError",
    "PathPattern",
    "Step",
    "Text",
    "compile_expression",
    "compile_pattern",
    "normalize_space",
    "string_value",
]

DynamicError = RulesEvaluationError
"""Raised while evaluating an expression where XPath 2.0 raises a dynamic or type error."""

NODES: Final = "nodes"
STRING: Final = "string"
NUMBER: Final = "number"
BOOLEAN: Final = "boolean"
SET: Final = "set"

Value = Any
Fn = Callable[[Any], Any]


# --------------------------------------------------------------------------------------------------
# Run-time node model


class Attr:
    """An attribute node: its name (Clark notation), value and owner element."""

    __slots__ = ("name", "parent", "value")

    def __init__(self, name: str, value: str, parent: etree._Element) -> None:
        self.name = name
        self.value = value
        self.parent = parent


class Text:
    """A text node (XDM merges adjacent character data; comments and PIs split it)."""

    __slots__ = ("parent", "value")

    def __init__(self, value: str, parent: etree._Element) -> None:
        self.value = value
        self.parent = parent


class DocNode:
    """The document node above the root element (target of ``/``)."""

    __slots__ = ("root",)

    def __init__(self, root: etree._Element) -> None:
        self.root = root


_XML_WS: Final = " \t\n\r"
_WS_RUN: Final = re.compile(r"[ \t\n\r]+")


def normalize_space(text: str) -> str:
    """XPath ``normalize-space``: only space, tab, CR and LF count as whitespace (not NBSP)."""
    if not text:
        return ""
    if text.isascii():
        # For ASCII, str.split() also splits on \v, \f and \x1c-\x1f, which XML 1.0 text cannot contain.
        return " ".join(text.split())
    return _WS_RUN.sub(" ", text).strip(" ")


def element_text(el: etree._Element) -> str:
    """All descendant text of an element (comments and processing instructions excluded)."""
    if len(el) == 0:
        return el.text or ""
    return "".join(cast("Iterator[str]", el.itertext()))


def string_value(node: object) -> str:
    """The XDM string value of a node (descendant text, comments and PIs excluded)."""
    if isinstance(node, etree._Element):
        if len(node) == 0:
            return node.text or ""
        return "".join(cast("Iterator[str]", node.itertext()))
    if isinstance(node, (Attr, Text)):
        return node.value
    if isinstance(node, DocNode):
        return string_value(node.root)
    raise TypeError(f"not a node: {node!r}")  # pragma: no cover - compile-time typing prevents it


def _is_element(node: object) -> bool:
    return isinstance(node, etree._Element) and isinstance(node.tag, str)


# --------------------------------------------------------------------------------------------------
# Conversions with XPath 2.0 semantics


def _number_to_string(n: float | int) -> str:
    if isinstance(n, bool):  # pragma: no cover - booleans never reach here
        return "true" if n else "false"
    if isinstance(n, int):
        return str(n)
    if math.isnan(n):
        return "NaN"
    if math.isinf(n):
        return "INF" if n > 0 else "-INF"
    if n == int(n) and abs(n) < 1e6:
        return str(int(n)) if n != 0 else ("-0" if math.copysign(1, n) < 0 else "0")
    if 1e-6 <= abs(n) < 1e6:
        return repr(n)
    mantissa, _, exponent = f"{n:E}".partition("E")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{int(exponent)}"


_DOUBLE: Final = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")


def to_double(text: str) -> float:
    """Cast a string to ``xs:double`` as ``number()`` does: NaN when the lexical form is wrong."""
    s = text.strip(_XML_WS)
    if _DOUBLE.fullmatch(s):
        return float(s)
    if s in ("INF", "+INF"):
        return math.inf
    if s == "-INF":
        return -math.inf
    return math.nan


def castable_integer(text: str) -> bool:
    """``$s castable as xs:integer`` (whitespace collapsed first, ASCII digits, optional sign)."""
    return _INTEGER.fullmatch(text.strip(_XML_WS)) is not None


def cast_integer(text: str) -> int:
    """``xs:integer($s)``: FORG0001 when the string is not an integer."""
    s = text.strip(_XML_WS)
    if _INTEGER.fullmatch(s) is None:
        what = "zero-length string" if not s else f"string {s!r}"
        raise DynamicError(f"FORG0001: cannot convert {what} to xs:integer")
    return int(s)


_DATE: Final = re.compile(
    r"(-?)([1-9][0-9]{3,}|0[0-9]{3})-([0-9]{2})-([0-9]{2})(Z|[+-]([0-9]{2}):([0-9]{2}))?"
)
_TIME: Final = re.compile(
    r"(?:([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(?:\.[0-9]+)?|24:00:00(?:\.0+)?)"
    r"(Z|[+-]([0-9]{2}):([0-9]{2}))?"
)


def _tz_ok(hours: str | None, minutes: str | None) -> bool:
    if hours is None or minutes is None:
        return True
    h, m = int(hours), int(minutes)
    return m < 60 and (h < 14 or (h == 14 and m == 0))


def days_in_month(year: int, month: int) -> int:
    """Days of ``month`` in the proleptic Gregorian ``year`` (astronomical numbering, year 0 is leap)."""
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def is_date(text: str, *, allow_year_zero: bool) -> bool:
    """Whether ``text`` (whitespace collapsed first) is a valid ``xs:date`` lexical value.

    ``allow_year_zero`` picks the XSD 1.1 value space (Saxon's ``castable as xs:date``) over
    XSD 1.0's (the UBL schema as Xerces, libxml2 and xmlschema check it), where 0000 is no year.
    """
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        # YYYY-MM-DD, the usual form: what the pattern below reads, without it
        year_s, month_s, day_s = text[:4], text[5:7], text[8:]
        if year_s.isdigit() and month_s.isdigit() and day_s.isdigit():
            year, month, day = int(year_s), int(month_s), int(day_s)
            if year == 0 and not allow_year_zero:
                return False
            return 1 <= month <= 12 and 1 <= day <= days_in_month(year, month)
    m = _DATE.fullmatch(text.strip(_XML_WS))
    if m is None:
        return False
    sign, year_s, month_s, day_s, _tz, tzh, tzm = m.groups()
    year = int(year_s) * (-1 if sign else 1)
    if year == 0 and not allow_year_zero:
        return False
    month, day = int(month_s), int(day_s)
    if not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
        return False
    return _tz_ok(tzh, tzm)


def is_time(text: str) -> bool:
    """Whether ``text`` (whitespace collapsed first) is a valid ``xs:time`` lexical value."""
    m = _TIME.fullmatch(text.strip(_XML_WS))
    return m is not None and _tz_ok(m.group(5), m.group(6))


# --------------------------------------------------------------------------------------------------
# Compiled expressions


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled expression: ``fn(context_node) -> value`` and its static kind.

    ``ebv``, when set, computes the effective boolean value faster than ``fn`` would (existence of
    a child without building a list, non-blankness without normalising).
    """

    fn: Fn
    kind: str
    text: str = ""
    ebv: Fn | None = None
    string: Fn | None = None  # fast ``xs:string?`` value of a node sequence


def _seq_len_error(what: str, items: Sequence[object]) -> DynamicError:
    return DynamicError(f"XPTY0004: a sequence of {len(items)} items is not allowed as {what}")


def as_string(c: Compiled, what: str = "the argument") -> Fn:
    """Closure giving the ``xs:string?`` value of ``c`` ('' for the empty sequence)."""
    f = c.fn
    if c.kind == STRING:
        return f
    if c.string is not None:
        return c.string
    if c.kind == NODES:

        def nodes_to_string(ctx: Any) -> str:
            items = f(ctx)
            if not items:
                return ""
            if len(items) > 1:
                raise _seq_len_error(what, items)
            return string_value(items[0])

        return nodes_to_string
    if c.kind == NUMBER:
        return lambda ctx: _number_to_string(f(ctx))
    if c.kind == BOOLEAN:
        return lambda ctx: "true" if f(ctx) else "false"
    raise RulesError(f"a code list cannot be used as a string in {c.text!r}")


def as_bool(c: Compiled) -> Fn:
    """Closure giving the effective boolean value of ``c``."""
    f = c.fn
    if c.ebv is not None:
        return c.ebv
    if c.kind == BOOLEAN:
        return f
    if c.kind == NODES:
        return lambda ctx: bool(f(ctx))
    if c.kind == STRING:
        return lambda ctx: f(ctx) != ""
    if c.kind == NUMBER:

        def num_ebv(ctx: Any) -> bool:
            n = f(ctx)
            return not (n == 0 or (isinstance(n, float) and math.isnan(n)))

        return num_ebv
    raise RulesError(f"a code list has no boolean value in {c.text!r}")


def as_number(c: Compiled) -> Fn:
    """Closure giving ``number(c)``."""
    f = c.fn
    if c.kind == NUMBER:
        return f
    if c.kind == BOOLEAN:
        return lambda ctx: 1.0 if f(ctx) else 0.0
    s = as_string(c)
    return lambda ctx: to_double(s(ctx))


# --------------------------------------------------------------------------------------------------
# Tokenizer

_TOKEN: Final = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)
  | (?P<op>//|/|\(|\)|\[|\]|@|,|\||!=|<=|>=|=|<|>|\.\.|\.|\$|\+|-|\?)
  | (?P<name>(?:\*|[A-Za-z_][\w.\-]*)(?::(?:\*|[A-Za-z_][\w.\-]*))?)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    value: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise RulesError(f"unexpected character {text[pos]!r} at {pos} in {text!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            value = m.group(kind)
            if kind == "string":
                q = value[0]
                value = value[1:-1].replace(q + q, q)
            out.append(_Tok(kind, value, pos))
        pos = m.end()
    out.append(_Tok("end", "", pos))
    return out


# --------------------------------------------------------------------------------------------------
# Parser: a small recursive descent producing nested tuples (the AST), compiled afterwards.


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def peek(self, n: int = 1) -> _Tok:
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def fail(self, why: str) -> RulesError:
        return RulesError(f"{why} at position {self.tok.pos} in {self.text!r}")

    def take(self, kind: str, value: str | None = None) -> _Tok:
        t = self.tok
        if t.kind != kind or (value is not None and t.value != value):
            raise self.fail(f"expected {value or kind}, found {t.value or t.kind!r}")
        self.i += 1
        return t

    def at(self, kind: str, value: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (value is None or t.value == value)

    def at_keyword(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.value == word

    # expr := or
    def expr(self) -> tuple[Any, ...]:
        node = self.and_expr()
        while self.at_keyword("or"):
            self.i += 1
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> tuple[Any, ...]:
        node = self.comparison()
        while self.at_keyword("and"):
            self.i += 1
            node = ("and", node, self.comparison())
        return node

    def comparison(self) -> tuple[Any, ...]:
        node = self.castable()
        if self.tok.kind == "op" and self.tok.value in ("=", "!=", "<", "<=", ">", ">="):
            op = self.take("op").value
            node = ("cmp", op, node, self.castable())
        return node

    def castable(self) -> tuple[Any, ...]:
        node = self.additive()
        if self.at_keyword("castable") and self.peek().kind == "name" and self.peek().value == "as":
            self.i += 2
            type_name = self.take("name").value
            optional = False
            if self.at("op", "?"):
                self.i += 1
                optional = True
            node = ("castable", node, type_name, optional)
        return node

    def additive(self) -> tuple[Any, ...]:
        node = self.union()
        while self.tok.kind == "op" and self.tok.value in ("+", "-"):
            op = self.take("op").value
            node = ("arith", op, node, self.union())
        return node

    def union(self) -> tuple[Any, ...]:
        node = self.path()
        while self.at("op", "|"):
            self.i += 1
            node = ("union", node, self.path())
        return node

    def path(self) -> tuple[Any, ...]:
        if self.at("op", "/"):
            self.i += 1
            if self.starts_step():
                return ("path", "/", self.rel_path())
            return ("path", "/", [])
        if self.at("op", "//"):
            self.i += 1
            return ("path", "//", self.rel_path())
        steps = self.rel_path()
        if len(steps) == 1 and steps[0][0] == "filter":
            if steps[0][2]:
                raise self.fail("predicates on a function call or literal are not supported")
            return tuple(steps[0][1])
        return ("path", "", steps)

    def starts_step(self) -> bool:
        t = self.tok
        return t.kind == "name" or (t.kind == "op" and t.value in ("@", ".", ".."))

    def rel_path(self) -> list[tuple[Any, ...]]:
        steps = [self.step()]
        while self.tok.kind == "op" and self.tok.value in ("/", "//"):
            if self.tok.value == "//":
                raise self.fail("'//' is only supported at the start of a rule context")
            self.i += 1
            steps.append(self.step())
        return steps

    def predicates(self) -> list[tuple[Any, ...]]:
        preds = []
        while self.at("op", "["):
            self.i += 1
            preds.append(self.expr())
            self.take("op", "]")
        return preds

    def step(self) -> tuple[Any, ...]:
        t = self.tok
        if t.kind == "op" and t.value == "@":
            self.i += 1
            name = self.take("name").value
            return ("attr", name, self.predicates())
        if t.kind == "op" and t.value == "..":
            self.i += 1
            return ("parent", self.predicates())
        if t.kind == "op" and t.value == ".":
            self.i += 1
            return ("self", self.predicates())
        if t.kind == "name" and self.peek().kind == "op" and self.peek().value == "(":
            if t.value in ("text", "node"):
                self.i += 1
                self.take("op", "(")
                self.take("op", ")")
                return (t.value + "()", self.predicates())
            return ("filter", self.primary(), self.predicates())
        if t.kind == "name":
            self.i += 1
            return ("child", t.value, self.predicates())
        return ("filter", self.primary(), self.predicates())

    def primary(self) -> tuple[Any, ...]:
        t = self.tok
        if t.kind == "string":
            self.i += 1
            return ("str", t.value)
        if t.kind == "number":
            self.i += 1
            return ("num", float(t.value) if "." in t.value else int(t.value))
        if t.kind == "op" and t.value == "$":
            self.i += 1
            return ("var", self.take("name").value)
        if t.kind == "op" and t.value == "(":
            self.i += 1
            if self.at("op", ")"):
                self.i += 1
                return ("empty",)
            node = self.expr()
            self.take("op", ")")
            return node
        if t.kind == "name":
            name = t.value
            self.i += 1
            self.take("op", "(")
            args = []
            if not self.at("op", ")"):
                args.append(self.expr())
                while self.at("op", ","):
                    self.i += 1
                    args.append(self.expr())
            self.take("op", ")")
            return ("call", name, args)
        raise self.fail(f"unexpected {t.value or t.kind!r}")


# --------------------------------------------------------------------------------------------------
# Compiler


class _Env:
    """Names known when compiling: namespace prefixes, code-list variables and functions."""

    def __init__(self, namespaces: dict[str, str], variables: dict[str, frozenset[str]]) -> None:
        self.namespaces = namespaces
        self.variables = variables

    def clark(self, qname: str) -> str:
        prefix, sep, local = qname.partition(":")
        if not sep:
            return qname  # no-namespace name
        try:
            return f"{{{self.namespaces[prefix]}}}{local}"
        except KeyError:
            raise RulesError(f"unknown namespace prefix {prefix!r} in {qname!r}") from None


NameTest = Callable[[Any], bool]


def _name_test(env: _Env, name: str) -> tuple[NameTest, str | None]:
    """A test on an element for a name test, and the exact Clark tag when there is one."""
    if name == "*":
        return _is_element, None
    prefix, _, local = name.partition(":")
    if prefix == "*":
        def local_test(node: Any) -> bool:
            return _is_element(node) and node.tag.rpartition("}")[2] == local
        return local_test, None
    if local == "*":
        ns = "{" + env.namespaces[prefix] + "}" if prefix in env.namespaces else None
        if ns is None:
            raise RulesError(f"unknown namespace prefix {prefix!r}")
        return (lambda node: _is_element(node) and node.tag.startswith(ns)), None
    tag = env.clark(name)
    return (lambda node: isinstance(node, etree._Element) and node.tag == tag), tag


def _children(node: Any) -> Iterable[Any]:
    if isinstance(node, DocNode):
        return [node.root]
    if isinstance(node, etree._Element):
        return node
    return ()


def _text_nodes(node: Any) -> list[Text]:
    if not isinstance(node, etree._Element):
        return []
    out = []
    if node.text:
        out.append(Text(node.text, node))
    for child in node:
        if child.tail:
            out.append(Text(child.tail, node))
    return out


def _parent(node: Any) -> Any:
    if isinstance(node, etree._Element):
        p = node.getparent()
        return p if p is not None else DocNode(node)
    if isinstance(node, (Attr, Text)):
        return node.parent
    return None


def _root_doc(node: Any) -> DocNode:
    if isinstance(node, DocNode):
        return node
    el = node.parent if isinstance(node, (Attr, Text)) else node
    return DocNode(el.getroottree().getroot())


class _Compiler:
    def __init__(self, env: _Env, text: str) -> None:
        self.env = env
        self.text = text

    def compile(self, ast: tuple[Any, ...]) -> Compiled:
        kind = ast[0]
        method = getattr(self, "c_" + kind.replace("()", "_node"), None)
        if method is None:
            raise RulesError(f"unsupported construct {kind!r} in {self.text!r}")
        result: Compiled = method(*ast[1:])
        return result

    def c_str(self, value: str) -> Compiled:
        return Compiled(lambda ctx: value, STRING, self.text)

    def c_num(self, value: float) -> Compiled:
        return Compiled(lambda ctx: value, NUMBER, self.text)

    def c_empty(self) -> Compiled:
        return Compiled(lambda ctx: [], NODES, self.text)

    def c_var(self, name: str) -> Compiled:
        try:
            values = self.env.variables[name]
        except KeyError:
            raise RulesError(f"unknown variable ${name} in {self.text!r}") from None
        return Compiled(lambda ctx: values, SET, self.text)

    def c_or(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> Compiled:
        fa, fb = as_bool(self.compile(a)), as_bool(self.compile(b))
        return Compiled(lambda ctx: fa(ctx) or fb(ctx), BOOLEAN, self.text)

    def c_and(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> Compiled:
        fa, fb = as_bool(self.compile(a)), as_bool(self.compile(b))
        return Compiled(lambda ctx: fa(ctx) and fb(ctx), BOOLEAN, self.text)

    def c_union(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> Compiled:
        ca, cb = self.compile(a), self.compile(b)
        if ca.kind != NODES or cb.kind != NODES:
            raise RulesError(f"'|' needs node sequences in {self.text!r}")
        fa, fb = ca.fn, cb.fn

        def union(ctx: Any) -> list[Any]:
            seen: dict[int, Any] = {}
            for n in [*fa(ctx), *fb(ctx)]:
                seen.setdefault(id(n), n)
            nodes = list(seen.values())
            if all(isinstance(n, etree._Element) for n in nodes):
                order = {id(e): i for i, e in enumerate(nodes[0].getroottree().iter())} if nodes else {}
                nodes.sort(key=lambda e: order.get(id(e), 0))
            return nodes

        return Compiled(union, NODES, self.text)

    def c_arith(self, op: str, a: tuple[Any, ...], b: tuple[Any, ...]) -> Compiled:
        fa, fb = as_number(self.compile(a)), as_number(self.compile(b))
        if op == "+":
            return Compiled(lambda ctx: fa(ctx) + fb(ctx), NUMBER, self.text)
        return Compiled(lambda ctx: fa(ctx) - fb(ctx), NUMBER, self.text)

    # -- comparisons -------------------------------------------------------------------------------

    def c_cmp(self, op: str, a: tuple[Any, ...], b: tuple[Any, ...]) -> Compiled:
        ca, cb = self.compile(a), self.compile(b)
        fast = self._fast_cmp(op, ca, cb, a, b)
        if fast is not None:
            return Compiled(fast, BOOLEAN, self.text)
        la, lb = _atomizer(ca), _atomizer(cb)
        test = _COMPARATORS[op]

        def compare(ctx: Any) -> bool:
            left = la(ctx)
            if not left:
                return False
            right = lb(ctx)
            for x in left:
                for y in right:
                    if _compare_items(x, y, test):
                        return True
            return False

        return Compiled(compare, BOOLEAN, self.text)

    def _fast_cmp(
        self, op: str, ca: Compiled, cb: Compiled, a: tuple[Any, ...], b: tuple[Any, ...]
    ) -> Fn | None:
        """Specialised closures for the shapes the rule files use most."""
        if op != "=":
            return None
        # @name = 'literal'
        if a[0] == "path" and a[1] == "" and len(a[2]) == 1 and a[2][0][0] == "attr" and not a[2][0][2]:
            name = a[2][0][1]
            if ":" not in name and name != "*":
                if b[0] == "str":
                    lit = b[1]
                    return lambda ctx: isinstance(ctx, etree._Element) and ctx.get(name) == lit
                if cb.kind == SET:
                    values = cb.fn(None)
                    return lambda ctx: isinstance(ctx, etree._Element) and ctx.get(name) in values
        # string-valued expression = $codelist / 'literal'
        if ca.kind == STRING and cb.kind in (SET, STRING):
            fa, fb = ca.fn, cb.fn
            if cb.kind == SET:
                values = fb(None)
                return lambda ctx: fa(ctx) in values
            return lambda ctx: fa(ctx) == fb(ctx)
        # child-or-node sequence = 'literal'
        if ca.kind == NODES and b[0] == "str":
            fa, lit = ca.fn, b[1]
            return lambda ctx: any(string_value(n) == lit for n in fa(ctx))
        return None

    def c_castable(self, operand: tuple[Any, ...], type_name: str, optional: bool) -> Compiled:
        c = self.compile(operand)
        checks: dict[str, Callable[[str], bool]] = {
            "xs:date": lambda s: is_date(s, allow_year_zero=True),
            "xs:time": is_time,
            "xs:integer": castable_integer,
            "xs:string": lambda s: True,
        }
        try:
            check = checks[type_name]
        except KeyError:
            raise RulesError(f"castable as {type_name} is not supported in {self.text!r}") from None
        atomize = _atomizer(c)

        def castable(ctx: Any) -> bool:
            items = atomize(ctx)
            if len(items) != 1:
                return optional and not items
            item = items[0]
            return check(item if isinstance(item, str) else _item_string(item))

        return Compiled(castable, BOOLEAN, self.text)

    # -- paths -------------------------------------------------------------------------------------

    def c_path(self, anchor: str, steps: list[tuple[Any, ...]]) -> Compiled:
        if anchor == "//":
            raise RulesError(f"'//' is only supported at the start of a rule context: {self.text!r}")
        step_fns = [self._step(s) for s in steps]
        absolute = anchor == "/"

        if not absolute and len(step_fns) == 1:
            only = step_fns[0]
            return Compiled(lambda ctx: only([ctx]), NODES, self.text, self._exists(steps[0]),
                            self._fast_string(steps[0]))

        def evaluate(ctx: Any) -> list[Any]:
            nodes: list[Any] = [_root_doc(ctx)] if absolute else [ctx]
            for fn in step_fns:
                nodes = fn(nodes)
                if not nodes:
                    break
            return nodes

        return Compiled(evaluate, NODES, self.text)

    def _fast_string(self, step: tuple[Any, ...]) -> Fn | None:
        """``xs:string?`` of ``.`` and of ``text()`` without building node lists (the common leaf case)."""
        if step[-1]:
            return None
        if step[0] == "self":
            return string_value
        if step[0] == "text()":
            def text_string(ctx: Any) -> str:
                if isinstance(ctx, etree._Element) and not len(ctx):
                    return ctx.text or ""
                nodes = _text_nodes(ctx)
                if len(nodes) > 1:
                    raise _seq_len_error("the argument", nodes)
                return nodes[0].value if nodes else ""
            return text_string
        return None

    def _exists(self, step: tuple[Any, ...]) -> Fn | None:
        """A short-circuit existence test for a single child or attribute step without predicates."""
        if step[-1]:
            return None
        if step[0] == "child":
            name = step[1]
            if name == "*":
                def any_element(ctx: Any) -> bool:
                    if isinstance(ctx, etree._Element):
                        if not len(ctx):
                            return False
                        for c in ctx:  # noqa: SIM110 - faster than any() here
                            if isinstance(c.tag, str):
                                return True
                        return False
                    return isinstance(ctx, DocNode)
                return any_element
            _test, tag = _name_test(self.env, name)
            if tag is not None:
                def has_child(ctx: Any) -> bool:
                    if isinstance(ctx, etree._Element):
                        if not len(ctx):
                            return False
                        for c in ctx:  # noqa: SIM110 - faster than any() here
                            if c.tag == tag:
                                return True
                        return False
                    return isinstance(ctx, DocNode) and ctx.root.tag == tag
                return has_child
        if step[0] == "attr" and ":" not in step[1] and step[1] != "*":
            name = step[1]
            return lambda ctx: isinstance(ctx, etree._Element) and ctx.get(name) is not None
        if step[0] == "attr" and step[1].startswith("*:"):
            local = step[1][2:]
            return lambda ctx: isinstance(ctx, etree._Element) and any(
                cast(str, k).rpartition("}")[2] == local for k in ctx.keys())  # noqa: SIM118 - lxml attribute names
        return None

    def _preds(self, preds: list[tuple[Any, ...]]) -> list[Fn]:
        out = []
        for p in preds:
            c = self.compile(p)
            if c.kind == NUMBER:
                raise RulesError(f"positional predicates are not supported in {self.text!r}")
            out.append(as_bool(c))
        return out

    def generated_preds(self, preds: list[tuple[Any, ...]]) -> list[Fn]:
        """Like :meth:`_preds`, with the generated-function backend (for rule contexts)."""
        from .pycompile import compile_boolean

        self._preds(preds)  # validates (positional predicates are refused)
        return [compile_boolean(self, p) for p in preds]

    def _step(self, step: tuple[Any, ...]) -> Callable[[list[Any]], list[Any]]:
        kind = step[0]
        preds = self._preds(step[-1])

        def filtered(select: Callable[[Any], Sequence[Any]]) -> Callable[[list[Any]], list[Any]]:
            if not preds:
                return lambda nodes: [n for node in nodes for n in select(node)]
            return lambda nodes: [n for node in nodes for n in select(node) if all(p(n) for p in preds)]

        if kind == "child":
            test, tag = _name_test(self.env, step[1])
            if tag is not None:
                def by_tag(node: Any) -> Sequence[Any]:
                    if isinstance(node, etree._Element):
                        return [c for c in node if c.tag == tag]
                    if isinstance(node, DocNode):
                        return [node.root] if node.root.tag == tag else []
                    return ()
                return filtered(by_tag)
            return filtered(lambda node: [c for c in _children(node) if test(c)])
        if kind == "attr":
            return filtered(self._attr_select(step[1]))
        if kind == "self":
            return filtered(lambda node: [node])
        if kind == "parent":
            return filtered(lambda node: [p] if (p := _parent(node)) is not None else [])
        if kind == "text()":
            return filtered(_text_nodes)
        if kind == "node()":
            return filtered(lambda node: [*([Text(node.text, node)] if isinstance(node, etree._Element)
                                             and node.text else []), *_children(node)])
        if kind == "filter":
            raise RulesError(f"a function call cannot be a path step in {self.text!r}")
        raise RulesError(f"unsupported step {kind!r} in {self.text!r}")  # pragma: no cover

    def _attr_select(self, name: str) -> Callable[[Any], Sequence[Any]]:
        if name == "*":
            return lambda node: [Attr(cast(str, k), cast(str, v), node) for k, v in node.attrib.items()] if isinstance(
                node, etree._Element) else []
        prefix, sep, local = name.partition(":")
        if not sep:
            def plain(node: Any) -> Sequence[Any]:
                if isinstance(node, etree._Element):
                    v = node.get(name)
                    return [Attr(name, v, node)] if v is not None else []
                return []
            return plain
        if prefix == "*":
            def any_ns(node: Any) -> Sequence[Any]:
                if not isinstance(node, etree._Element):
                    return []
                return [Attr(cast(str, k), cast(str, v), node) for k, v in node.attrib.items()
                        if cast(str, k).rpartition("}")[2] == local]
            return any_ns
        key = self.env.clark(name)
        return lambda node: [Attr(key, v, node)] if isinstance(node, etree._Element) and (
            v := node.get(key)) is not None else []

    def c_filter(self, primary: tuple[Any, ...], preds: list[tuple[Any, ...]]) -> Compiled:
        c = self.compile(primary)
        if preds:
            raise RulesError(f"predicates on {primary[0]} are not supported in {self.text!r}")
        return c

    # -- function calls ----------------------------------------------------------------------------

    def c_call(self, name: str, args: list[tuple[Any, ...]]) -> Compiled:
        from .functions import FUNCTIONS

        try:
            spec = FUNCTIONS[name]
        except KeyError:
            raise RulesError(f"unknown function {name}() in {self.text!r}") from None
        if not spec.min_args <= len(args) <= spec.max_args:
            raise RulesError(f"{name}() takes {spec.min_args}..{spec.max_args} arguments in {self.text!r}")
        compiled = [self.compile(a) for a in args]
        return spec.build(compiled, args, self.text)


_COMPARATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


class _Untyped(str):
    """A string that came from a node (``xs:untypedAtomic``): it adapts to the other operand."""

    __slots__ = ()


def _atomizer(c: Compiled) -> Callable[[Any], list[Any]]:
    f = c.fn
    if c.kind == NODES:
        return lambda ctx: [_Untyped(string_value(n)) for n in f(ctx)]
    if c.kind == SET:
        return lambda ctx: list(f(ctx))
    return lambda ctx: [f(ctx)]


def _item_string(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, (int, float)):
        return _number_to_string(item)
    return str(item)


def _compare_items(x: Any, y: Any, test: Callable[[Any, Any], bool]) -> bool:
    xs, ys = isinstance(x, str), isinstance(y, str)
    if xs and ys:
        return test(str(x), str(y))
    if isinstance(x, bool) or isinstance(y, bool):
        bx = _to_bool_for_compare(x)
        by = _to_bool_for_compare(y)
        return test(bx, by)
    if xs or ys:
        s, n = (x, y) if xs else (y, x)
        if not isinstance(s, _Untyped):
            raise DynamicError("XPTY0004: cannot compare xs:string with a number")
        d = to_double(s)
        if math.isnan(d) and s.strip(_XML_WS) != "NaN":
            raise DynamicError(f"FORG0001: cannot convert {str(s)!r} to xs:double")
        return test(d, n) if xs else test(n, d)
    return test(x, y)


def _to_bool_for_compare(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, _Untyped):
        s = v.strip(_XML_WS)
        if s in ("true", "1"):
            return True
        if s in ("false", "0"):
            return False
        raise DynamicError(f"FORG0001: cannot convert {str(v)!r} to xs:boolean")
    raise DynamicError("XPTY0004: cannot compare xs:boolean with this value")


def compile_expression(
    text: str, namespaces: dict[str, str], variables: dict[str, frozenset[str]] | None = None, *,
    generate: bool = True,
) -> Compiled:
    """Compile an XPath expression of our subset. Raises :class:`RulesError` for anything else.

    With ``generate`` (the default) the effective boolean value (``ebv``, used by :func:`as_bool`) is
    a generated function (:mod:`.pycompile`); ``generate=False`` keeps the closure backend only.
    """
    parser = _Parser(text)
    ast = parser.expr()
    if not parser.at("end"):
        raise parser.fail(f"unexpected {parser.tok.value!r}")
    compiler = _Compiler(_Env(namespaces, variables or {}), text)
    compiled = compiler.compile(ast)
    if not generate or compiled.kind == SET:
        return Compiled(compiled.fn, compiled.kind, text, compiled.ebv, compiled.string)
    from .pycompile import compile_boolean

    return Compiled(compiled.fn, compiled.kind, text, compile_boolean(compiler, ast), compiled.string)


# --------------------------------------------------------------------------------------------------
# Rule-context patterns


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a pattern path: a name test (``tag`` is set when it names one element) and predicates."""

    name: str
    test: NameTest
    tag: str | None
    predicates: tuple[Fn, ...]
    attr_eq: tuple[str, str] | None = None  # set when the first predicate is ``@name = 'literal'``


@dataclass(frozen=True, slots=True)
class PathPattern:
    """One alternative of a rule context: ``anchor`` is ``''`` (anywhere), ``'/'`` (from the root) or
    ``'//'`` (any descendant of the document).

    ``xpath1`` is an XPath 1.0 expression that selects exactly the elements this pattern matches,
    when the pattern only uses constructs whose XPath 1.0 meaning equals the XPath 2.0 one (see
    :func:`_xpath1_predicate`); the engine may then let libxml2 find the candidates.
    """

    anchor: str
    steps: tuple[Step, ...]
    text: str
    xpath1: str | None = None

    @property
    def last(self) -> Step:
        return self.steps[-1]

    @property
    def is_simple_absolute(self) -> bool:
        """``/a/b/c`` or ``/a/b/*`` without predicates: matchable by a lookup on the element's path."""
        return (
            self.anchor == "/"
            and all(not s.predicates for s in self.steps)
            and all(s.tag is not None for s in self.steps[:-1])
            and (self.steps[-1].tag is not None or self.steps[-1].name == "*")
        )

    def matcher(self, *, tag_known: bool = False) -> Callable[[etree._Element], bool]:
        """A closure equivalent to :meth:`matches` for elements, specialised for common shapes.

        The engine only ever applies it to elements, so a ``*`` step needs no test. ``tag_known``: the
        caller only passes elements named as the last step (it looked them up by name), so the closure
        need not read the name again (lxml builds a new string for every ``.tag``).
        """
        step = self.steps[-1]
        preds, tag = step.predicates, step.tag
        test = None if step.name == "*" else step.test
        root_only = self.anchor == "/"
        known = tag_known and tag is not None
        if len(self.steps) == 1:
            if root_only:
                if (known or (tag is None and test is None)) and not preds:
                    return lambda el: el.getparent() is None  # /* or /name looked up by name
                if known:
                    return lambda el: el.getparent() is None and all(p(el) for p in preds)
                if tag is not None:
                    return lambda el: el.getparent() is None and el.tag == tag and all(p(el) for p in preds)
                return lambda el: el.getparent() is None and (test is None or test(el)) and all(p(el) for p in preds)
            if not preds:
                if known:
                    return lambda el: True
                if tag is not None:
                    return lambda el: el.tag == tag
                if test is None:
                    return lambda el: True
                return test
            if len(preds) == 1:
                p0 = preds[0]
                if known:
                    return p0
                if tag is not None:
                    return lambda el: el.tag == tag and p0(el)
                if test is None:
                    return p0
                return lambda el: test(el) and p0(el)
            return self.matches
        if tag is not None and all(s.tag is not None for s in self.steps):
            # a/b[p]: check the element itself first (cheap), then walk up
            upper = tuple((s.tag, s.predicates) for s in reversed(self.steps[:-1]))

            def chain(el: etree._Element) -> bool:
                if not known and el.tag != tag:
                    return False
                for p in preds:
                    if not p(el):
                        return False
                node: etree._Element = el
                for utag, upreds in upper:
                    parent = node.getparent()
                    if parent is None or parent.tag != utag:
                        return False
                    node = parent
                    for p in upreds:
                        if not p(node):
                            return False
                return not root_only or node.getparent() is None

            return chain
        return self.matches

    def matches(self, el: etree._Element) -> bool:
        """Whether ``el`` matches (may raise :class:`DynamicError` from a predicate)."""
        node: Any = el
        steps = self.steps
        for i in range(len(steps) - 1, -1, -1):
            step = steps[i]
            if i != len(steps) - 1:
                node = node.getparent()
                if node is None:
                    return False
            if not step.test(node):
                return False
            for p in step.predicates:
                if not p(node):
                    return False
        if self.anchor == "/":
            return node.getparent() is None
        return True


def _attr_eq(ast: tuple[Any, ...]) -> tuple[str, str] | None:
    """``('schemeID', '0088')`` for a predicate ``@schemeID = '0088'`` (no-namespace attribute)."""
    if ast[0] != "cmp" or ast[1] != "=":
        return None
    left, right = ast[2], ast[3]
    if right[0] != "str" or left[0] != "path" or left[1] != "" or len(left[2]) != 1:
        return None
    step = left[2][0]
    if step[0] != "attr" or step[2] or ":" in step[1] or step[1] == "*":
        return None
    return step[1], right[1]


def _xpath1_literal(value: str) -> str | None:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return None


def _xpath1_path(ast: tuple[Any, ...]) -> str | None:
    """A relative path of child/attribute steps with XPath-1-safe predicates, rendered; else None."""
    if ast[0] != "path" or ast[1] != "":
        return None
    parts = []
    for step in ast[2]:
        kind = step[0]
        preds = [_xpath1_predicate(p) for p in step[-1]]
        if None in preds:
            return None
        if kind == "child" and not step[1].startswith("*:"):
            parts.append(step[1] + "".join(f"[{p}]" for p in preds))
        elif kind == "attr" and not step[1].startswith("*:") and not preds:
            parts.append("@" + step[1])
        else:
            return None
    return "/".join(parts)


def _xpath1_predicate(ast: tuple[Any, ...]) -> str | None:
    """Render a predicate in XPath 1.0 when its meaning there is the same as in XPath 2.0.

    Conservative on purpose: ``and``/``or``/``not``, ``true()``/``false()``, ``exists`` of a path, a path
    as a boolean, ``normalize-space()`` of the context as a boolean, and ``path = 'literal'`` or
    ``!=`` (existential over nodes in both versions). No string function on a path: there XPath 1.0
    takes the first node where XPath 2.0 raises a type error.
    """
    kind = ast[0]
    if kind in ("and", "or"):
        a, b = _xpath1_predicate(ast[1]), _xpath1_predicate(ast[2])
        return None if a is None or b is None else f"({a} {kind} {b})"
    if kind == "call":
        name, args = ast[1], ast[2]
        if name in ("true", "false") and not args:
            return f"{name}()"
        if name == "not" and len(args) == 1:
            inner = _xpath1_predicate(args[0])
            return None if inner is None else f"not({inner})"
        if name == "exists" and len(args) == 1:
            path = _xpath1_path(args[0])
            return None if path is None else f"boolean({path})"
        if name == "normalize-space" and not args:
            return "normalize-space()"
        return None
    if kind == "path":
        return _xpath1_path(ast)
    if kind == "cmp" and ast[1] in ("=", "!="):
        left, right = ast[2], ast[3]
        if right[0] != "str":
            left, right = right, left
        if right[0] != "str":
            return None
        path, literal = _xpath1_path(left), _xpath1_literal(right[1])
        return None if path is None or literal is None else f"{path} {ast[1]} {literal}"
    return None


def compile_pattern(
    text: str, namespaces: dict[str, str], variables: dict[str, frozenset[str]] | None = None, *,
    generate: bool = True,
) -> tuple[PathPattern, ...]:
    """Compile a rule context (a union of path patterns on elements); predicates use the generated
    backend unless ``generate=False``."""
    parser = _Parser(text)
    env = _Env(namespaces, variables or {})
    compiler = _Compiler(env, text)
    alternatives: list[PathPattern] = []
    while True:
        start = parser.tok.pos
        anchor = ""
        if parser.at("op", "/") or parser.at("op", "//"):
            anchor = parser.take("op").value
        steps: list[Step] = []
        step_texts: list[str | None] = []
        while True:
            t = parser.tok
            if t.kind != "name" or (parser.peek().kind == "op" and parser.peek().value == "("):
                raise parser.fail("a rule context step must be an element name test")
            parser.i += 1
            test, tag = _name_test(env, t.value)
            pred_asts = parser.predicates()
            preds = tuple(compiler.generated_preds(pred_asts) if generate else compiler._preds(pred_asts))
            steps.append(Step(t.value, test, tag, preds, _attr_eq(pred_asts[0]) if pred_asts else None))
            rendered = [_xpath1_predicate(p) for p in pred_asts]
            step_texts.append(None if t.value.startswith("*:") or None in rendered
                              else t.value + "".join(f"[{r}]" for r in rendered))
            if parser.at("op", "/"):
                parser.i += 1
                continue
            if parser.at("op", "//"):
                raise parser.fail("'//' is only supported at the start of a rule context")
            break
        end = parser.tok.pos
        xpath1 = None
        if None not in step_texts:
            lead = "/" if anchor == "/" else "//"
            xpath1 = lead + "/".join(t for t in step_texts if t is not None)
        alternatives.append(PathPattern(anchor, tuple(steps), text[start:end].strip(), xpath1))
        if parser.at("op", "|"):
            parser.i += 1
            continue
        if not parser.at("end"):
            raise parser.fail(f"unexpected {parser.tok.value!r}")
        return tuple(alternatives)
