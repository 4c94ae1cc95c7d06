"""A minimal Lambda Python runtime: runs a Python handler as a process that speaks the Lambda
Runtime API, the way AWS's Python runtime does (its `bootstrap` starts the interpreter on a
client loop like this one). Test infrastructure only, never deployed: it lets
local/runtime.py's `LocalFunction` run the reference design's Python seed function
(local/seed-caller-id) through the same emulator, and so the same cold-start measurement, as
the Rust functions (scripts/bench_caller_id_cold.py).

    AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 _HANDLER=lambda_function.lambda_handler \\
    LAMBDA_TASK_ROOT=local/seed-caller-id python local/python_bootstrap.py

Init: `LAMBDA_TASK_ROOT` goes first on `sys.path` and the handler's module is imported (its
module-level code runs here, as in Lambda's init phase); a failure is posted to
`/runtime/init/error` and the process exits. Then, forever: `GET .../invocation/next`, call
`handler(event, context)`, `POST .../<id>/response` with the JSON of what it returned (`null` for
None), or `.../<id>/error` with `errorType`/`errorMessage`/`stackTrace` when it raised.

What the AWS runtime does and this one does not: extensions, X-Ray, response streaming, the
`AWS_LAMBDA_LOG_FORMAT=JSON` log formatter (logs here are text lines on stdout).

Standard library only: the handler's dependencies come from the interpreter it runs on.
"""

from __future__ import annotations

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

API_VERSION = "2018-06-01"


class LambdaContext:
    """The handler's `context`: the attributes AWS's Python runtime gives it."""

    def __init__(self, headers: http.client.HTTPMessage):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class RuntimeClient:
    """One keep-alive HTTP/1.1 connection to the Runtime API, as the AWS runtime keeps one."""

    def __init__(self, address: str):
        # AWS_LAMBDA_RUNTIME_API is `host:port`, optionally followed by a path prefix (the
        # launcher gives each process one).
        address = address.removeprefix("http://")
        host, _, prefix = address.partition("/")
        self.base = f"/{prefix}".rstrip("/") + f"/{API_VERSION}/runtime"
        self.conn = http.client.HTTPConnection(host)

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        self.conn.request(method, self.base + path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.status, resp.headers, resp.read()

    def next(self) -> tuple[http.client.HTTPMessage, bytes]:
        status, headers, body = self._request("GET", "/invocation/next")
        if status != 200:
            raise SystemExit(f"runtime api: /invocation/next answered {status}: {body[:200]!r}")
        return headers, body

    def respond(self, request_id: str, payload: bytes) -> None:
        self._request("POST", f"/invocation/{request_id}/response", payload,
                      {"Content-Type": "application/json"})

    def fail(self, request_id: str | None, error: dict[str, Any]) -> None:
        """Reports an invocation's error, or the init error when `request_id` is None."""
        path = f"/invocation/{request_id}/error" if request_id else "/init/error"
        self._request("POST", path, json.dumps(error).encode(),
                      {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error["errorType"]})


def error_of(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def load_handler(spec: str) -> Any:
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"_HANDLER={spec!r} is not <module>.<function>")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


def main() -> int:
    # Lambda's Python runtime logs to stdout through a handler on the root logger; a function's
    # `logging.getLogger()` calls go there.
    logging.basicConfig(stream=sys.stdout, format="[%(levelname)s]\t%(asctime)s\t%(message)s")
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        sys.path.insert(0, task_root)
    try:
        handler = load_handler(os.environ.get("_HANDLER", "lambda_function.lambda_handler"))
    except Exception as exc:  # noqa: BLE001 - every init failure is reported, as Lambda does
        traceback.print_exc(file=sys.stdout)
        client.fail(None, error_of(exc, "Runtime.ImportModuleError"))
        return 1

    while True:
        headers, body = client.next()
        context = LambdaContext(headers)
        try:
            event = json.loads(body) if body else None
            result = handler(event, context)
            payload = json.dumps(result).encode()
        except Exception as exc:  # noqa: BLE001 - a handler's exception is the invocation's error
            traceback.print_exc(file=sys.stdout)
            client.fail(context.aws_request_id, error_of(exc))
            continue
        client.respond(context.aws_request_id, payload)


if __name__ == "__main__":
    sys.exit(main())
