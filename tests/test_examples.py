"""The committed example responses are exactly what the builder makes, and they parse and pass the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from peppol_response import ResponseCode, parse
from peppol_response.examples import ExampleResponse, _main, example_responses, write_responses
from peppol_response.resources import data_path

EXAMPLES = example_responses()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.file_name)
def test_committed_file_equals_what_the_builder_makes(example: ExampleResponse) -> None:
    committed = data_path("examples", "responses", example.file_name).read_bytes()
    assert committed == example.response.to_xml(), (
        f"examples/responses/{example.file_name} drifted from the builder; regenerate with "
        "python -m peppol_response.examples examples/responses"
    )
    assert parse(committed) == example.response
    example.response.check()


def test_every_status_code_has_an_example_and_no_file_is_stale() -> None:
    assert {e.response.code for e in EXAMPLES} == set(ResponseCode)
    folder = data_path("examples", "responses")
    assert sorted(p.name for p in folder.glob("*.xml")) == sorted(e.file_name for e in EXAMPLES)
    for e in EXAMPLES:
        assert e.file_name.startswith(f"{e.response.code.value}-")


def test_write_responses(tmp_path: Path) -> None:
    written = write_responses(tmp_path / "out")
    assert [p.name for p in written] == [e.file_name for e in EXAMPLES]
    assert _main([str(tmp_path / "again")]) == 0
    assert _main([]) == 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.file_name)
def test_examples_travel_in_a_real_peppol_sbdh(example: ExampleResponse) -> None:
    from peppol_response import sbdh

    xml = example.response.to_xml()
    wrapped = sbdh.wrap(xml, country_c1="NO")
    assert parse(wrapped) == example.response
    envelope = sbdh.read_sbdh(wrapped)
    assert str(envelope.header.sender).endswith(str(example.response.sender.endpoint))
    assert envelope.header.process.value == example.response.profile_id
