"""A receiver in its own process, for the fault and multi-process tests.

``python -m tests.transport.receiver_proc '<json>'`` with ``serve`` (a ServeConfig as JSON), ``port``,
``tls`` ([cert, key]), ``deliveries`` (a file: each delivery appends one line ``<pid> <message id>``) and
``die_after_store`` (the test-only fault hook: end the process the moment the first message is committed,
before its receipt is answered).
"""

from __future__ import annotations

import json
import os
import sys

from peppol_response.as4.receiver import InboundMessage
from peppol_response.server import ServeConfig, build_receiver, create_app, uvicorn_config


def main() -> None:
    spec = json.loads(sys.argv[1])
    config = ServeConfig.from_json(json.dumps(spec["serve"]))
    path = spec["deliveries"]

    def deliver(msg: InboundMessage) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{os.getpid()} {msg.message_id}\n".encode())  # one write: atomic with O_APPEND
        finally:
            os.close(fd)

    def die(point: str, message_id: str) -> None:
        if point == "stored":
            os._exit(17)

    receiver = build_receiver(config, handler=deliver, fault_hook=die if spec.get("die_after_store") else None)
    import dataclasses

    receiver.settings = dataclasses.replace(receiver.settings, poll_interval=0.2)
    import uvicorn

    cfg = uvicorn_config(create_app(receiver), host="127.0.0.1", port=spec["port"], tls=tuple(spec["tls"]))
    uvicorn.Server(cfg).run()


if __name__ == "__main__":
    main()
