"""A minimal AWS Lambda Runtime API, enough to run a `provided.al2023` bootstrap locally.

The real function binary is started with `AWS_LAMBDA_RUNTIME_API` pointing here; it long-polls
`GET /2018-06-01/runtime/invocation/next`, and posts each answer to `.../<id>/response` (or
`.../<id>/error`). `invoke()` queues an event and waits for that answer. Nothing else of Lambda
(no extensions, no telemetry API) is emulated: the Rust runtime does not need it.

Used by local/tests/test_caller_id_binary.py and scripts/bench_caller_id_cold.py. Standard library
only, so the bench can run without the project's virtualenv.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    request_id: str
    body: bytes
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False
    payload: Any = None
    picked_at: float | None = None
    answered_at: float | None = None


class RuntimeApi:
    """Serves the Runtime API on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, port: int = 0, function_arn: str | None = None):
        self.pending: "queue.Queue[Invocation | None]" = queue.Queue()
        self.by_id: dict[str, Invocation] = {}
        self.init_errors: list[Any] = []
        self.first_poll_at: float | None = None
        self.function_arn = function_arn or "arn:aws:lambda:us-east-1:123456789012:function:caller-id"
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the Rust runtime expects
            # Headers and body go out in two writes: with Nagle on, the client's delayed ACK
            # adds ~40 ms to every invocation.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet: tests print what matters
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404)
                    return
                if api.first_poll_at is None:
                    api.first_poll_at = time.perf_counter()
                inv = api.pending.get()
                if inv is None:  # shutting down
                    self._reply(410)
                    return
                inv.picked_at = time.perf_counter()
                deadline_ms = int((time.time() + 30) * 1000)
                self._reply(
                    200,
                    inv.body,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                    },
                )

            def do_POST(self):
                body = self._body()
                if self.path == f"{PREFIX}/init/error":
                    api.init_errors.append(_json_or_text(body))
                    self._reply(202)
                    return
                parts = self.path[len(PREFIX) :].strip("/").split("/")
                # invocation/<id>/response | invocation/<id>/error
                if len(parts) == 3 and parts[0] == "invocation" and parts[1] in api.by_id:
                    inv = api.by_id[parts[1]]
                    inv.answered_at = time.perf_counter()
                    inv.ok = parts[2] == "response"
                    inv.payload = _json_or_text(body)
                    inv.done.set()
                    self._reply(202)
                    return
                self._reply(404)

        self.server = _Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        """The value for AWS_LAMBDA_RUNTIME_API."""
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def submit(self, event: Any) -> Invocation:
        """Queues an event without waiting (a cold-start measurement queues before spawning)."""
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        inv = Invocation(request_id=str(uuid.uuid4()), body=body)
        self.by_id[inv.request_id] = inv
        self.pending.put(inv)
        return inv

    def invoke(self, event: Any, timeout: float = 15.0) -> Invocation:
        """Queues an event and waits for the function's answer."""
        inv = self.submit(event)
        if not inv.done.wait(timeout):
            raise TimeoutError(f"no answer from the function within {timeout}s (init errors: {self.init_errors})")
        return inv

    def close(self):
        self.pending.put(None)
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The function process is killed while its /next long poll is open: expected, not news.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
