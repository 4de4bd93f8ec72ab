"""The ``peppol-response`` command line.

Each command group lives in its own module and is imported only when used, so ``peppol-response
validate`` does not pay for the database or crypto layers. Exit codes everywhere: 0 ok, 1 the
document or message is not acceptable, 2 usage or I/O error.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from .. import __version__

# command name -> "module:attribute" (modules under peppol_response.cli)
COMMANDS: dict[str, str] = {
    "build": "documents:build",
    "demo": "demo:demo",
    "network": "network:network",
    "pki": "pki:pki",
    "send": "transport:send_cmd",
    "serve": "transport:serve_cmd",
    "show": "documents:show",
    "track": "track:track",
    "validate": "validate:validate_command",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        command: click.Command = getattr(module, attr)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="peppol-response")
def cli() -> None:
    """Peppol BIS Invoice Response 3: build, validate, show, send, receive and track status messages."""


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="peppol-response")
