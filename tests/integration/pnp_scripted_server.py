"""A minimal scripted PnP server (protocol.md §2 and §4.3): a real HTTP server on loopback, in a
thread, that answers each ``POST /pnp/WORK-REQUEST`` with the next scripted reply and each
``POST /pnp/WORK-RESPONSE`` with a bye, and records what it was sent.

A reply is a function of the work request's body (so a script can copy the agent's correlator
into it, as every open-source server does); when the script is exhausted the server answers
with ``default`` (None: an empty body, nothing to do, as GreatSymphonia's server does in an
unknown state).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from smartinstall.wire import pnp

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "../shared/spec/pnp/examples"
#: the UDI and correlator every example of ../shared/spec/pnp/examples carries
EXAMPLE_UDI = b"PID:WS-C3750X-24T-E,VID:V04,SN:FDO1703P2EB"
EXAMPLE_CORRELATOR = b"CiscoPnP-1.0-1465-25A1212C"
_CORRELATOR = re.compile(rb'correlator="([^"]*)"')
_UDI = re.compile(rb'<pnp [^>]*udi="([^"]*)"')

Reply = Callable[[bytes], bytes]


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def correlator_of(message: bytes) -> bytes:
    found = _CORRELATOR.search(message)
    return found.group(1) if found else b""


def udi_of(message: bytes) -> bytes:
    found = _UDI.search(message)
    return found.group(1) if found else b""


def addressed(data: bytes) -> Reply:
    """``data`` (an example's bytes) sent as the answer to a work request, with only what the
    protocol makes the server change: the envelope's UDI is the device's (protocol.md §3,
    "device udi specified by PnP Agent") and the correlator is the work request's ("The server
    copies it into its <request>")."""

    def reply(work_request: bytes) -> bytes:
        text = data.replace(EXAMPLE_UDI, udi_of(work_request))
        return text.replace(EXAMPLE_CORRELATOR, correlator_of(work_request))

    return reply


class ScriptedPnpServer:
    """See the module's text. ``records`` holds (path, body) of every POST, in order."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.script: deque[Reply] = deque()
        self.default: Reply | None = None
        self.records: list[tuple[str, bytes]] = []
        self.hellos = 0
        self._changed = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                del format, args

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def do_GET(self) -> None:
                if self.path == pnp.HELLO_PATH:
                    with server._changed:
                        server.hellos += 1
                self._answer(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, pnp.MAX_MESSAGE_SIZE))
                answer = b""
                with server._changed:
                    server.records.append((self.path, body))
                    if self.path == pnp.WORK_REQUEST_PATH and server.script:
                        answer = server.script.popleft()(body)
                    elif self.path == pnp.WORK_REQUEST_PATH and server.default is not None:
                        answer = server.default(body)
                    elif self.path == pnp.WORK_RESPONSE_PATH:
                        answer = addressed(example("02_bye.xml"))(body)
                    server._changed.notify_all()
                self._answer(answer)

        self._http = ThreadingHTTPServer((host, 0), Handler)
        self._http.daemon_threads = True
        self.host = host
        self.port = int(self._http.server_address[1])
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ScriptedPnpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(10)

    def answer(self, *replies: Reply) -> None:
        """The next work requests get these replies, in order."""
        with self._changed:
            self.script.extend(replies)

    def posted(self, path: str) -> list[bytes]:
        with self._changed:
            return [body for p, body in self.records if p == path]

    def wait_for(self, predicate: Callable[[ScriptedPnpServer], bool], timeout: float) -> bool:
        """Block (run it on a thread) until ``predicate`` holds, or ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True
