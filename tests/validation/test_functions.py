"""The identifier checks, against independent textbook implementations and the published edge cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppol_response.errors import RulesEvaluationError
from peppol_response.validation.functions import (
    abn,
    add_piva,
    check_cf,
    check_codice_ipa,
    check_piva,
    check_piva_se_it,
    check_se_orgnr,
    gln,
    mod11,
    mod97_0208,
    xp_substring,
    xp_translate,
)
from peppol_response.validation.xpath import DynamicError

digits = st.text(alphabet="0123456789", min_size=1, max_size=18)


def gs1_ok(s: str) -> bool:  # GS1: weights 3,1,3,... from the right of the body; check makes the sum a multiple of 10
    body, check = s[:-1], int(s[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (total + check) % 10 == 0


def no_mod11_ok(s: str) -> bool:  # Brønnøysund: weights 3 2 7 6 5 4 3 2 left to right
    rest = 11 - sum(int(d) * w for d, w in zip(s, (3, 2, 7, 6, 5, 4, 3, 2), strict=False)) % 11
    check = 0 if rest == 11 else rest
    return check != 10 and check == int(s[8]) and int(s) > 0


def luhn_ok(s: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(s)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def piva_ok(s: str) -> bool:
    total = 0
    for i, d in enumerate(s):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


@given(digits)
def test_gln_is_the_gs1_check_digit(s: str) -> None:
    assert gln(s) is (gs1_ok(s) if len(s) > 1 else s == "0")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_mod11_is_the_norwegian_check(s: str) -> None:
    assert mod11(s) is no_mod11_ok(s)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_swedish_organisation_number_is_luhn(s: str) -> None:
    assert check_se_orgnr(s) is luhn_ok(s)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_belgian_enterprise_number(s: str) -> None:
    assert mod97_0208(s) is (int(s[8:]) == 97 - int(s[:8]) % 97)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_abn(s: str) -> None:
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    digits = [int(d) for d in s]
    digits[0] -= 1
    expected = sum(d * w for d, w in zip(digits, weights, strict=True)) % 89 == 0
    assert abn(s) is expected


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_partita_iva(s: str) -> None:
    assert (check_piva(s) == 0) is piva_ok(s)
    assert check_piva_se_it("IT" + s) is piva_ok(s)
    assert check_piva_se_it("it" + s) is piva_ok(s)
    assert check_piva_se_it("It" + s) is True  # only IT and it are looked at


def test_known_values() -> None:
    assert gln("5790000435951")
    assert not gln("5790000435954")
    assert mod11("987654325")
    assert not mod11("000000000")
    assert mod97_0208("0403170701")
    assert check_se_orgnr("5560360793")
    assert not check_se_orgnr("556036079X")
    assert abn("51824753556")
    assert check_codice_ipa("UFJ1KL")
    assert not check_codice_ipa("UFJ-KL")
    assert not check_codice_ipa("UFJ1K")


def test_codice_fiscale_as_published() -> None:
    assert check_cf("RSSMRA85T10A562S")
    assert check_cf("12345678901")
    assert check_cf("+1234567890")
    # omocodia letters are not accepted where the published check wants integers (positions 7-8, 10-11, 15)
    assert not check_cf("RSSMRA8LT10A562S")
    assert not check_cf("RSSMRA85T1MA562S")
    assert not check_cf("RSSMRA85T10A56NS")
    assert check_cf("RSSMRA85T10AM6NS") is False
    assert check_cf("RSSMRA85T10ALMN2S".replace("L", "")) is True  # positions 12-14 may be anything
    assert check_cf("RSSMRA 5T10A562S")  # ' 5' is an integer once whitespace is collapsed
    assert not check_cf("RSSMRA85T10A562")


@pytest.mark.parametrize("value", ["IT+1234567890", "IT 2345678901", "IT-1234567890"])
def test_partita_iva_with_a_leading_sign_or_space_is_an_xpath_error(value: str) -> None:
    """u:addPIVA casts the first character to an integer: the official transformation stops there."""
    with pytest.raises(RulesEvaluationError, match="FORG0001"):
        check_piva_se_it(value)


def test_add_piva_stops_at_the_first_non_integer_suffix() -> None:
    assert add_piva("", 0) == 0
    assert add_piva("12", 0) == 1 + 4
    assert check_piva("1234567890A") == 1


def test_substring_and_translate_edges() -> None:
    assert xp_substring("abc", 0) == "abc"
    assert xp_substring("abc", float("nan")) == ""
    assert xp_substring("abcde", -1, 4) == "ab"
    assert xp_translate("--aa--", "-a", "_") == "____"  # "a" has no partner: dropped


identifier_like = st.one_of(
    st.text(alphabet="0123456789", min_size=0, max_size=20),
    st.text(alphabet="0123456789 +-.eE\u0660\u0661x", min_size=0, max_size=14),
)


@given(identifier_like)
def test_digit_shortcuts_agree_with_the_published_arithmetic(s: str) -> None:
    # The identifier checks compute with integers when the value is ASCII digits; the step-by-step
    # versions of the published XPath (doubles, casts, substrings) must give the same answer.
    from peppol_response.validation import functions as f

    for fast, published in ((gln, f._gln_xpath), (mod11, f._mod11_xpath), (mod97_0208, f._mod97_0208_xpath),
                            (check_se_orgnr, f._check_se_orgnr_xpath)):
        try:
            expected = published(s)
        except DynamicError:  # an XPath error (non-digit input): the shortcuts never take such a value
            with pytest.raises(DynamicError):
                fast(s)
            continue
        assert fast(s) is expected, (fast.__name__, s)
