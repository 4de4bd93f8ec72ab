"""XPath 2.0 semantics of our expression subset, where they matter for the verdict."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from peppol_response.errors import RulesError, RulesEvaluationError
from peppol_response.validation.xpath import (
    as_bool,
    compile_expression,
    compile_pattern,
    is_date,
    is_time,
    normalize_space,
    to_double,
)

NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
CODES = {"cl": frozenset({"AB", "AP"})}


def doc(body: str) -> etree._Element:
    return etree.fromstring(f'<cac:Root xmlns:cac="{NS["cac"]}" xmlns:cbc="{NS["cbc"]}">{body}</cac:Root>')


def ev(expr: str, body: str = "") -> object:
    c = compile_expression(expr, NS, CODES)
    return c.fn(doc(body))


def truth(expr: str, body: str = "") -> bool:
    return as_bool(compile_expression(expr, NS, CODES))(doc(body))


def test_normalize_space_knows_only_xml_whitespace() -> None:
    assert normalize_space(" \t a \r\n b  ") == "a b"
    assert normalize_space("\u00a0a") == "\u00a0a"  # NBSP is not whitespace for XPath
    assert truth("normalize-space(cbc:A)", "<cbc:A>\u00a0</cbc:A>")
    assert not truth("normalize-space(cbc:A)", "<cbc:A> \n\t</cbc:A>")


def test_two_items_where_one_is_expected_is_a_type_error() -> None:
    with pytest.raises(RulesEvaluationError, match="XPTY0004"):
        ev("normalize-space(cbc:A)", "<cbc:A>x</cbc:A><cbc:A>y</cbc:A>")
    with pytest.raises(RulesEvaluationError, match="XPTY0004"):
        ev("normalize-space(text())", "a<!-- split -->b")  # a comment makes two text nodes
    assert ev("normalize-space(cbc:A)", "") == ""  # the empty sequence is fine


def test_general_comparison_is_existential() -> None:
    body = "<cbc:A>x</cbc:A><cbc:A>OTH</cbc:A>"
    assert truth("cbc:A = 'OTH'", body)
    assert truth("cbc:A != 'OTH'", body)
    assert not truth("cbc:B = 'OTH'", body)
    assert truth("cbc:A/@listID = 'L'", '<cbc:A listID="K"/><cbc:A listID="L"/>')
    assert truth("normalize-space(cbc:A) = $cl", "<cbc:A> AP </cbc:A>")
    assert not truth("cbc:A = $cl", "<cbc:A> AP </cbc:A>")  # no normalisation in a plain comparison
    assert truth("count(cbc:A) <= 2", body)
    assert not truth("count(cbc:A) <= 1", body)


def test_untyped_against_number_casts_and_may_fail() -> None:
    assert truth("cbc:A > 5", "<cbc:A>7</cbc:A>")
    with pytest.raises(RulesEvaluationError, match="FORG0001"):
        ev("cbc:A > 5", "<cbc:A>seven</cbc:A>")
    with pytest.raises(RulesEvaluationError, match="XPTY0004"):
        ev("'7' > 5")


def test_boolean_values() -> None:
    assert truth("exists(cbc:A)", "<cbc:A/>")
    assert not truth("exists(cbc:A)")
    assert truth("not(*)")
    assert not truth("not(*)", "<cbc:A/>")
    assert truth("not(*)", "<!-- a comment is no element -->")
    assert truth("exists(/cbc:ResponseCode = 'PD')")  # R005 as published: always true
    assert truth("true() and not(false())")


def test_castable_as_date_follows_xsd_1_1_like_saxon() -> None:
    assert truth("'2016-02-29' castable as xs:date")
    assert not truth("'2017-02-29' castable as xs:date")
    assert truth("'0000-01-01' castable as xs:date")  # year zero exists in XSD 1.1
    assert truth("' 2017-12-01 ' castable as xs:date")  # casting collapses whitespace
    assert truth("'2017-12-01+14:00' castable as xs:date")
    assert not truth("'2017-12-01+14:01' castable as xs:date")
    assert not truth("'\u0662\u0660\u0661\u0667-01-01' castable as xs:date")
    assert not truth("cbc:A castable as xs:date", "<cbc:A>2017-01-01</cbc:A><cbc:A>2017-01-01</cbc:A>")
    assert truth("'+12' castable as xs:integer")
    assert truth("' 1' castable as xs:integer")
    assert not truth("'1 2' castable as xs:integer")


def test_date_and_time_lexical_rules() -> None:
    assert is_date("2000-02-29", allow_year_zero=False)
    assert not is_date("1900-02-29", allow_year_zero=False)
    assert not is_date("0000-01-01", allow_year_zero=False)
    assert is_date("-0004-02-29", allow_year_zero=True)
    assert is_date("12017-12-31Z", allow_year_zero=False)
    assert not is_date("02017-12-31", allow_year_zero=False)
    assert is_time("24:00:00")
    assert not is_time("24:00:01")
    assert not is_time("23:59:60")
    assert is_time("12:00:00.123+14:00")
    assert not is_time("12:00")


def test_string_functions() -> None:
    assert ev("substring('12345', 0, 3)") == "12"
    assert ev("substring('12345', 1.5, 2.6)") == "234"
    assert ev("substring('12345', 3)") == "345"
    assert ev("translate('DK1234', '1234567890', '')") == "DK"
    assert ev("translate('abc', 'abc', 'A')") == "A"
    assert ev("string-length('\U0001f600x')") == 2  # code points, not UTF-16 units
    assert ev("concat('a', cbc:A, 'c')", "<cbc:A>b</cbc:A>") == "abc"
    assert truth("matches('123', '^[0-9]+$')")
    assert not truth("matches('123\n', '^[0-9]+$')")
    assert truth("starts-with(normalize-space(.), 'ab')", "  ab  ")
    assert ev("string(number('1e3'))") == "1000"
    assert ev("string(number('x'))") == "NaN"


def test_number_parsing() -> None:
    assert to_double(" 12 ") == 12.0
    assert to_double("INF") == math.inf
    assert math.isnan(to_double("1_000"))
    assert math.isnan(to_double("١٢"))


def test_patterns() -> None:
    root = doc('<cac:P><cbc:ID schemeID="0088">1</cbc:ID></cac:P><cbc:ID schemeID="0088">2</cbc:ID>')
    (alt_a, _alt_b) = compile_pattern("cac:P/cbc:ID[@schemeID = '0088'] | cbc:EndpointID", NS)
    ids = list(root.iter("{{{}}}ID".format(NS["cbc"])))
    assert alt_a.matches(ids[0])
    assert not alt_a.matches(ids[1])
    assert alt_a.matcher()(ids[0])
    assert not alt_a.matcher()(ids[1])
    (root_only,) = compile_pattern("/*", NS)
    assert root_only.matches(root)
    assert not root_only.matches(ids[0])
    assert alt_a.xpath1 == "//cac:P/cbc:ID[@schemeID = '0088']"
    (unsafe,) = compile_pattern("cac:P[normalize-space(cbc:ID) = 'x']", NS)
    assert unsafe.xpath1 is None  # XPath 1.0 would take the first node where 2.0 raises


@pytest.mark.parametrize("bad", ["//a//b", "a[1]", "foo(", "$nope", "x:y", "unknown()", "@a | 'x'",
                                 "a castable as xs:foo"])
def test_unsupported_expressions_are_refused_when_compiled(bad: str) -> None:
    with pytest.raises(RulesError):
        compile_expression(bad, NS, CODES)


@given(st.text(alphabet=" \t\r\n\u00a0ab", max_size=12))
def test_normalize_space_property(text: str) -> None:
    out = normalize_space(text)
    assert not out.startswith(" ")
    assert not out.endswith(" ")
    assert "  " not in out
    assert out.replace(" ", "") == "".join(c for c in text if c not in " \t\r\n")


@given(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z") | st.text(alphabet="0123456789-Z+:\u0661", min_size=10,
                                                                     max_size=10),
       st.booleans())
def test_the_usual_date_shortcut_agrees_with_the_pattern(text: str, year_zero: bool) -> None:
    # " x " is whitespace-collapsed first, so it takes the full pattern; "x" may take the shortcut.
    assert is_date(text, allow_year_zero=year_zero) is is_date(f" {text} ", allow_year_zero=year_zero)
