#!/usr/bin/env python3
"""Regenerate the state diagrams in docs/tracker.md from the order table (peppol_response.process).

    python docs/gen_tracker_diagram.py          # rewrite the generated blocks
    python docs/gen_tracker_diagram.py --check  # exit 1 if they are stale

A test (tests/test_process.py) fails when the committed diagrams differ from what this prints.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from peppol_response.process import Mode, graphviz, mermaid

DOC = Path(__file__).with_name("tracker.md")

BLOCKS: dict[str, Callable[[], str]] = {
    "mermaid-invoice": lambda: mermaid(),
    "mermaid-credit-note": lambda: mermaid(credit_note=True),
    "mermaid-lenient": lambda: mermaid(mode=Mode.LENIENT),
    "graphviz-invoice": lambda: graphviz(),
}
LANG = {"mermaid": "mermaid", "graphviz": "dot"}


def render(text: str) -> str:
    for name, produce in BLOCKS.items():
        lang = LANG[name.split("-")[0]]
        pattern = re.compile(rf"(<!-- generated:{name} -->\n)```\w*\n.*?```\n(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{DOC} has no block <!-- generated:{name} -->")
        text = pattern.sub(lambda m, p=produce, lg=lang: f"{m.group(1)}```{lg}\n{p()}```\n{m.group(2)}", text)
    return text


def main() -> int:
    old = DOC.read_text()
    new = render(old)
    if "--check" in sys.argv:
        if new != old:
            print("docs/tracker.md diagrams are stale: run python docs/gen_tracker_diagram.py")
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
