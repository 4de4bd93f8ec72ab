"""``python -m peppol_response.cli``: the command line (same as the ``peppol-response`` script)."""

from __future__ import annotations

from . import main

if __name__ == "__main__":  # pragma: no cover
    main()
