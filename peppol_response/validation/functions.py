"""The functions our rule expressions may call: the XPath 2.0 built-ins the rules need, and the
identifier checks of the official artefacts (``u:gln``, ``u:mod11`` ...) re-implemented in Python.

The ``u:`` functions follow the algorithms published at the top of ``PEPPOLBIS-T111.sch`` (release
2026.5) step by step, including their edge cases, because the verdict depends on them:

* ``u:gln`` accepts any length (a lone ``0`` passes), ``u:mod11`` demands ``number(val) > 0``;
* ``u:checkCF16`` tests only character classes per position (letters where the Codice Fiscale has
  letters, ``castable as xs:integer`` where it has digit pairs), so an *omocodia* letter at positions
  7-8, 10-11 or 15 fails (warning PEPPOL-COMMON-R045/R046) exactly as with the official artefacts;
* ``u:addPIVA`` casts the first character of an ``xs:integer``-castable string, so a leading sign or
  space (``IT+1234567890``, ``IT 2345678901``) is a FORG0001 error in the official transformation;
  we raise the same :class:`~peppol_response.validation.xpath.DynamicError`;
* ``castable as xs:integer`` collapses whitespace and allows a sign (``' 1'`` and ``'+1'`` are integers).
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ..errors import RulesError
from .xpath import (
    BOOLEAN,
    NODES,
    NUMBER,
    SET,
    STRING,
    Compiled,
    DynamicError,
    as_bool,
    as_number,
    as_string,
    cast_integer,
    castable_integer,
    normalize_space,
    string_value,
    to_double,
)

__all__ = [
    "FUNCTIONS",
    "STRING_FUNCTIONS",
    "abn",
    "add_piva",
    "check_cf",
    "check_cf16",
    "check_codice_ipa",
    "check_piva",
    "check_piva_se_it",
    "check_se_orgnr",
    "gln",
    "mod11",
    "mod97_0208",
    "xp_substring",
    "xp_translate",
    "xpath_regex",
]

Fn = Callable[[Any], Any]


def _mod(a: int | float, b: int | float) -> int | float:
    """XPath ``mod``: the result has the sign of the dividend (unlike Python's ``%``)."""
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return math.fmod(a, b)


def _xp_round(x: float) -> float:
    return math.floor(x + 0.5) if math.isfinite(x) else x


def xp_substring(s: str, start: float, length: float | None = None) -> str:
    """XPath ``substring``: characters at positions ``p`` with ``round(start) <= p < round(start)+round(length)``."""
    if type(start) is int and (length is None or type(length) is int):
        begin = max(start, 1)
        if length is None:
            return s[begin - 1 :]
        stop = start + length
        return s[begin - 1 : stop - 1] if stop > begin else ""
    rs = _xp_round(float(start))
    end = math.inf if length is None else rs + _xp_round(float(length))
    if math.isnan(rs) or math.isnan(end):
        return ""
    first = max(rs, 1.0)
    last = min(end, len(s) + 1.0)
    if last <= first:
        return ""
    return s[int(first) - 1 : int(last) - 1]


def xp_translate(s: str, src: str, dst: str) -> str:
    """XPath ``translate``: map each character of ``src`` to the same position in ``dst`` (or drop it)."""
    table: dict[str, str | None] = {}
    for i, ch in enumerate(src):
        if ch not in table:
            table[ch] = dst[i] if i < len(dst) else None
    return "".join(m for ch in s if (m := table.get(ch, ch)) is not None)


def _digit_value(ch: str) -> float:
    if len(ch) == 1 and "0" <= ch <= "9":
        return float(ord(ch) - 48)
    return to_double(ch) if ch else math.nan


# -- identifier checks (semantics of the official u: functions) ------------------------------------


def _weighted(body: str, weights: tuple[int, ...]) -> int:
    """Sum of code point minus 48 times the cycling weights, from the right (as the XPath does)."""
    total = 0
    i = 0
    cycle = len(weights)
    for ch in reversed(body):
        total += (ord(ch) - 48) * weights[i]
        i = i + 1 if i + 1 < cycle else 0
    return total


def _digits(val: str) -> bytes | None:
    """The ASCII digits of ``val`` as bytes (48-57), or None when it holds anything else (or nothing).

    The identifier checks below take a shortcut for such strings, computing with integers what the
    published XPath computes with doubles and casts; for them the two are the same arithmetic (the
    step-by-step versions, kept for every other input, are tested against the shortcuts).
    """
    if val.isascii() and val.isdigit():
        return val.encode("ascii")
    return None


_DIGIT_VALUES: Final = bytes.maketrans(b"0123456789", bytes(range(10)))


_ALIGNED: dict[tuple[tuple[int, ...], int], tuple[int, ...]] = {}


def _weighted_digits(body: bytes, weights: tuple[int, ...]) -> int:
    """:func:`_weighted` for ASCII digits (the loop runs in C): ``weights`` cycle from the right, so for
    each length they are laid out once from the left."""
    aligned = _ALIGNED.get((weights, len(body)))
    if aligned is None:
        aligned = tuple(reversed(list(itertools.islice(itertools.cycle(weights), len(body)))))
        if len(_ALIGNED) < 256:
            _ALIGNED[(weights, len(body))] = aligned
    return sum(map(operator.mul, body.translate(_DIGIT_VALUES), aligned))


def gln(val: str) -> bool:
    """GS1 check digit over the whole string (``u:gln``): weights 3,1,3... from the right."""
    b = _digits(val)
    if b is not None:
        return (10 - _weighted_digits(b[:-1], (3, 1)) % 10) % 10 == b[-1] - 48
    return _gln_xpath(val)


def _gln_xpath(val: str) -> bool:
    n = len(val) - 1
    weighted = _weighted(val[: max(n, 0)], (3, 1))
    check = _digit_value(val[n : n + 1] if n >= 0 else "")
    return _mod(10 - _mod(weighted, 10), 10) == check


_MOD11_WEIGHTS: Final = (2, 3, 4, 5, 6, 7)


def mod11(val: str) -> bool:
    """Norwegian organisation number check (``u:mod11``): weights 2..7 from the right, number > 0."""
    b = _digits(val)
    if b is not None:
        if b.count(b"0") == len(b):  # number(val) > 0 fails
            return False
        return (11 - _weighted_digits(b[:-1], _MOD11_WEIGHTS) % 11) % 11 == b[-1] - 48
    return _mod11_xpath(val)


def _mod11_xpath(val: str) -> bool:
    if not to_double(val) > 0:
        return False
    n = len(val) - 1
    weighted = _weighted(val[: max(n, 0)], _MOD11_WEIGHTS)
    check = _digit_value(val[n : n + 1] if n >= 0 else "")
    return _mod(11 - _mod(weighted, 11), 11) == check


def mod97_0208(val: str) -> bool:
    """Belgian enterprise number (``u:mod97-0208``): digits 9-10 equal 97 - (first eight mod 97)."""
    if len(val) == 10 and _digits(val) is not None:
        return int(val[8:]) == 97 - int(val[:8]) % 97
    return _mod97_0208_xpath(val)


def _mod97_0208_xpath(val: str) -> bool:
    check = xp_substring(val, 9, 2)
    calculated = str(97 - _mod(cast_integer(xp_substring(val, 1, 8)), 97))
    return to_double(check) == to_double(calculated)


_ABN_WEIGHTS: Final = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)


def abn(val: str) -> bool:
    """Australian Business Number (``u:abn``): first digit minus one, weighted sum divisible by 89."""
    if len(val) < 11:
        return False  # a missing character makes the official arithmetic an empty sequence: false
    total = (ord(val[0]) - 49) * 10
    for i in range(1, 11):
        total += (ord(val[i]) - 48) * _ABN_WEIGHTS[i]
    return _mod(total, 89) == 0


_ALL_DIGITS: Final = re.compile(r"\d+")  # XPath \d is any Unicode decimal digit, as Python's


def check_se_orgnr(number: str) -> bool:
    """Swedish organisation number (``u:checkSEOrgnr``): Luhn over the first nine digits."""
    b = _digits(number)
    if b is not None and len(b) >= 10:
        main = b[:9]
        total = 0
        for pos in range(1, 10):
            d = main[9 - pos] - 48
            total += (d * 2) % 10 + (d * 2) // 10 if pos % 2 == 1 else d
        return (10 - total % 10) % 10 == b[9] - 48
    return _check_se_orgnr_xpath(number)


def _check_se_orgnr_xpath(number: str) -> bool:
    if _ALL_DIGITS.fullmatch(number) is None:
        return False
    main = number[:9]
    check_digit = number[9:10]
    total = 0.0
    for pos in range(1, len(main) + 1):
        d = _digit_value(main[len(main) - pos])
        if pos % 2 == 1:
            total += math.fmod(d * 2, 10) + (math.trunc(d * 2 / 10) if math.isfinite(d) else math.nan)
        else:
            total += d
    if not math.isfinite(total):
        raise DynamicError("FOCA0002: cannot convert NaN to xs:integer")
    s = int(total)
    calculated = _mod(10 - _mod(s, 10), 10)
    return calculated == _digit_value(check_digit)


_ALNUM: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def check_codice_ipa(arg: str) -> bool:
    """Italian IPA code (``u:checkCodiceIPA``): exactly six ASCII letters or digits."""
    return xp_translate(arg, _ALNUM, "") == "" and len(arg) == 6


def check_cf16(arg: str) -> bool:
    """16-character Codice Fiscale shape (``u:checkCF16``), position by position as published."""
    return (
        xp_translate(xp_substring(arg, 1, 6), _LETTERS, "") == ""
        and castable_integer(xp_substring(arg, 7, 2))
        and xp_translate(xp_substring(arg, 9, 1), _LETTERS, "") == ""
        and castable_integer(xp_substring(arg, 10, 2))
        and castable_integer(xp_substring(arg, 15, 1))
        and xp_translate(xp_substring(arg, 16, 1), _LETTERS, "") == ""
    )


def check_cf(arg: str) -> bool:
    """Italian Codice Fiscale (``u:checkCF``): 16 characters (person) or an 11-digit integer."""
    if len(arg) == 16:
        return check_cf16(arg)
    if len(arg) == 11:
        return castable_integer(arg)
    return False


_PIVA_DOUBLE: Final = "0246813579"


def add_piva(arg: str, pari: int) -> int:
    """``u:addPIVA``: the Partita IVA digit sum (odd positions doubled and folded), iteratively."""
    total = 0
    while castable_integer(arg):
        first = cast_integer(xp_substring(arg, 1, 1))  # FORG0001 on a leading sign or space
        total += cast_integer(_PIVA_DOUBLE[first]) if pari == 1 else first
        arg = arg[1:]
        pari = 1 if pari == 0 else 0
    return total


def check_piva(arg: str) -> int:
    """``u:checkPIVA``: 0 when the Partita IVA check digit is right (1 when not an integer)."""
    if not castable_integer(arg):
        return 1
    return int(_mod(add_piva(arg, 0), 10))


def check_piva_se_it(arg: str) -> bool:
    """``u:checkPIVAseIT``: an ``IT``/``it``-prefixed value must be a valid 11-digit Partita IVA."""
    country = xp_substring(arg, 1, 2)
    code = xp_substring(arg, 3)
    if country in ("IT", "it"):
        return len(code) == 11 and check_piva(code) == 0
    return True


# -- the function table ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """Arity and a builder turning compiled arguments into a compiled call."""

    min_args: int
    max_args: int
    build: Callable[[list[Compiled], list[tuple[Any, ...]], str], Compiled]


def _context_string(ctx: Any) -> str:
    return string_value(ctx)


_XML_WS: Final = " \t\n\r"


def _string_fn(result_kind: str, fn: Callable[..., Any], n_min: int, n_max: int | None = None) -> FunctionSpec:
    """A function of ``xs:string?`` arguments; with no argument it takes the context's string value."""
    n_max = n_min if n_max is None else n_max
    blank_test = fn is normalize_space  # normalize-space(x) is true iff x has a non-whitespace character

    def build(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
        if not args:
            ebv = (lambda ctx: _context_string(ctx).strip(_XML_WS) != "") if blank_test else None
            return Compiled(lambda ctx: fn(_context_string(ctx)), result_kind, text, ebv)
        getters = [as_string(a, f"argument {i + 1}") for i, a in enumerate(args)]
        if len(getters) == 1:
            g0 = getters[0]
            ebv1 = (lambda ctx: g0(ctx).strip(_XML_WS) != "") if blank_test else None
            return Compiled(lambda ctx: fn(g0(ctx)), result_kind, text, ebv1)
        if len(getters) == 2:
            g0, g1 = getters
            return Compiled(lambda ctx: fn(g0(ctx), g1(ctx)), result_kind, text)
        return Compiled(lambda ctx: fn(*(g(ctx) for g in getters)), result_kind, text)

    return FunctionSpec(n_min, n_max, build)


def _build_not(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    f = as_bool(args[0])
    return Compiled(lambda ctx: not f(ctx), BOOLEAN, text)


def _build_boolean(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    return Compiled(as_bool(args[0]), BOOLEAN, text)


def _build_exists(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    a = args[0]
    if a.kind == NODES:
        f = a.fn
        return Compiled(lambda ctx: bool(f(ctx)), BOOLEAN, text)
    if a.kind == SET:
        values = a.fn(None)
        return Compiled(lambda ctx: bool(values), BOOLEAN, text)
    g = a.fn  # a single atomic value: one item, so it exists (evaluated for its errors)
    return Compiled(lambda ctx: g(ctx) is not None, BOOLEAN, text)


def _build_empty(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    f = _build_exists(args, asts, text).fn
    return Compiled(lambda ctx: not f(ctx), BOOLEAN, text)


def _build_count(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    a = args[0]
    if a.kind in (NODES, SET):
        f = a.fn
        return Compiled(lambda ctx: len(f(ctx)), NUMBER, text)
    return Compiled(lambda ctx: 1, NUMBER, text)


def _build_number(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    if not args:
        return Compiled(lambda ctx: to_double(_context_string(ctx)), NUMBER, text)
    return Compiled(as_number(args[0]), NUMBER, text)


def _build_substring(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    s = as_string(args[0])
    start = as_number(args[1])
    if len(args) == 2:
        return Compiled(lambda ctx: xp_substring(s(ctx), start(ctx)), STRING, text)
    length = as_number(args[2])
    return Compiled(lambda ctx: xp_substring(s(ctx), start(ctx), length(ctx)), STRING, text)


def _build_concat(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    getters = [as_string(a, f"argument {i + 1} of concat()") for i, a in enumerate(args)]
    return Compiled(lambda ctx: "".join(g(ctx) for g in getters), STRING, text)


_XP_CLASS: Final = re.compile(r"\\.|\[(?:\\.|[^\]])*\]|.", re.DOTALL)


def xpath_regex(pattern: str, flags: str) -> re.Pattern[str]:
    """Translate an XPath regular expression (the subset our rules use) to Python's dialect."""
    if any(f not in "i" for f in flags):
        raise RulesError(f"regex flags {flags!r} are not supported")
    if "\\p" in pattern or "\\P" in pattern or "-[" in pattern:
        raise RulesError(f"regex {pattern!r} uses XPath features we do not support")
    out = []
    for m in _XP_CLASS.finditer(pattern):
        tok = m.group(0)
        if tok == "$":
            out.append(r"\Z")  # XPath's $ (without the m flag) is the end of the string only
        elif tok == ".":
            out.append(r"[^\n\r]")
        else:
            out.append(tok)
    return re.compile("".join(out), re.IGNORECASE if "i" in flags else 0)


def _build_matches(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    if asts[1][0] != "str" or (len(asts) > 2 and asts[2][0] != "str"):
        raise RulesError(f"matches() needs a literal pattern (and flags) in {text!r}")
    regex = xpath_regex(asts[1][1], asts[2][1] if len(asts) > 2 else "")
    s = as_string(args[0])
    search = regex.search
    return Compiled(lambda ctx: search(s(ctx)) is not None, BOOLEAN, text)


def _build_local_name(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    def local_name(ctx: Any) -> str:
        tag = getattr(ctx, "tag", None)
        return tag.rpartition("}")[2] if isinstance(tag, str) else ""

    return Compiled(local_name, STRING, text)


def _build_add_piva(args: list[Compiled], asts: list[tuple[Any, ...]], text: str) -> Compiled:
    s = as_string(args[0])
    n = as_number(args[1])
    return Compiled(lambda ctx: add_piva(s(ctx), int(n(ctx))), NUMBER, text)


def _const(value: bool) -> FunctionSpec:
    return FunctionSpec(0, 0, lambda args, asts, text: Compiled(lambda ctx: value, BOOLEAN, text))


def _starts_with(a: str, b: str) -> bool:
    return a.startswith(b)


def _ends_with(a: str, b: str) -> bool:
    return a.endswith(b)


def _contains(a: str, b: str) -> bool:
    return b in a


def _translate3(s: str, a: str, b: str) -> str:
    return xp_translate(s, a, b)


FUNCTIONS: Final[dict[str, FunctionSpec]] = {
    "not": FunctionSpec(1, 1, _build_not),
    "boolean": FunctionSpec(1, 1, _build_boolean),
    "true": _const(True),
    "false": _const(False),
    "exists": FunctionSpec(1, 1, _build_exists),
    "empty": FunctionSpec(1, 1, _build_empty),
    "count": FunctionSpec(1, 1, _build_count),
    "number": FunctionSpec(0, 1, _build_number),
    "string": _string_fn(STRING, lambda s: s, 0, 1),
    "normalize-space": _string_fn(STRING, normalize_space, 0, 1),
    "string-length": _string_fn(NUMBER, len, 0, 1),
    "starts-with": _string_fn(BOOLEAN, _starts_with, 2),
    "ends-with": _string_fn(BOOLEAN, _ends_with, 2),
    "contains": _string_fn(BOOLEAN, _contains, 2),
    "translate": _string_fn(STRING, _translate3, 3),
    "concat": FunctionSpec(2, 64, _build_concat),
    "substring": FunctionSpec(2, 3, _build_substring),
    "matches": FunctionSpec(2, 3, _build_matches),
    "local-name": FunctionSpec(0, 0, _build_local_name),
    # The identifier checks of the official artefacts (namespace "utils", prefix u:).
    "u:gln": _string_fn(BOOLEAN, gln, 1),
    "u:mod11": _string_fn(BOOLEAN, mod11, 1),
    "u:mod97-0208": _string_fn(BOOLEAN, mod97_0208, 1),
    "u:abn": _string_fn(BOOLEAN, abn, 1),
    "u:checkSEOrgnr": _string_fn(BOOLEAN, check_se_orgnr, 1),
    "u:checkCodiceIPA": _string_fn(BOOLEAN, check_codice_ipa, 1),
    "u:checkCF": _string_fn(BOOLEAN, check_cf, 1),
    "u:checkCF16": _string_fn(BOOLEAN, check_cf16, 1),
    "u:checkPIVA": _string_fn(NUMBER, check_piva, 1),
    "u:checkPIVAseIT": _string_fn(BOOLEAN, check_piva_se_it, 1),
    "u:addPIVA": FunctionSpec(2, 2, _build_add_piva),
}
"""Every function a rule expression may call, by its prefixed name."""

STRING_FUNCTIONS: Final[dict[str, tuple[Callable[[str], Any], str]]] = {
    "u:gln": (gln, BOOLEAN),
    "u:mod11": (mod11, BOOLEAN),
    "u:mod97-0208": (mod97_0208, BOOLEAN),
    "u:abn": (abn, BOOLEAN),
    "u:checkSEOrgnr": (check_se_orgnr, BOOLEAN),
    "u:checkCodiceIPA": (check_codice_ipa, BOOLEAN),
    "u:checkCF": (check_cf, BOOLEAN),
    "u:checkCF16": (check_cf16, BOOLEAN),
    "u:checkPIVA": (check_piva, NUMBER),
    "u:checkPIVAseIT": (check_piva_se_it, BOOLEAN),
}
"""The one-argument ``u:`` functions as plain Python functions of a string, with their result kind."""
