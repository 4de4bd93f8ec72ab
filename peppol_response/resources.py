"""Where the files the package needs at run time live: schemas, rules, examples.

In the repository they sit at the top (``schemas/``, ``schematron/``, ``examples/``); the wheel carries
them inside the package as ``peppol_response/_data/...`` (see ``pyproject.toml``). :func:`data_path`
finds them in either place, so a source checkout and a non-editable install behave the same.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_path"]

_PACKAGE = Path(__file__).resolve().parent


def data_path(kind: str, *parts: str) -> Path:
    """Path of a shipped data file: ``data_path("schemas", "ApplicationResponse.xsd")``.

    ``kind`` is ``schemas``, ``schematron`` or ``examples``. Raises ``FileNotFoundError`` naming both
    places looked at when the file is in neither.
    """
    installed = _PACKAGE / "_data" / kind
    source = _PACKAGE.parent / kind
    for base in (installed, source):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"{'/'.join((kind, *parts))} is neither in {installed} (installed package) nor in {source} (source tree)"
    )
