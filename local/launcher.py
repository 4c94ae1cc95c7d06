"""Moto launcher for the local stack (test infrastructure, never deployed).

    .venv/bin/python -m local.launcher --port 5000 \
        --connect-endpoint http://127.0.0.1:5050 --ready-file .build/moto.ready

Runs moto's server in this process on 127.0.0.1 with:
- Step Functions execution on and Lambda's docker mode off, set before anything is created
  (the switches select other stores, so they cannot be flipped later);
- the fixes terraform-provider-aws 5.100 needs (`local.moto_fixes`);
- every Lambda invocation run by the function's real `bootstrap` from the zip Terraform
  uploaded (`local.runtime`), with the function's environment plus the local endpoints;
- `GET /_launcher/stats` (invocations per function) and `POST /_launcher/stats/reset`;
- a ready file / ready line once it accepts requests, and a clean stop of every child process on
  SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Iterable

LOG = logging.getLogger("local.launcher")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m local.launcher",
        description="moto + real Lambda functions for the local stack (test infrastructure only)",
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)),
                   help="port on 127.0.0.1 (default 5000; 0 = any free port)")
    p.add_argument("--connect-endpoint", default=os.environ.get("AWS_ENDPOINT_URL_CONNECT"),
                   help="the Connect simulator, given to functions as AWS_ENDPOINT_URL_CONNECT")
    p.add_argument("--ready-file", help="written (JSON: endpoint, port, pid) once serving")
    p.add_argument("--stats-file", help="invocation statistics written there on shutdown")
    p.add_argument("--work-dir", help="where function zips are unpacked (default: a temp dir)")
    p.add_argument("--log-dir", help="function output to <dir>/<function>.log (default: stdout)")
    p.add_argument("--invocation-log", help="one JSON line per invocation appended there")
    p.add_argument("--max-workers", type=int, default=64,
                   help="concurrent processes per function (default 64)")
    p.add_argument("--async-retry-delays", default="1,2",
                   help="seconds before each retry of a failed asynchronous invocation "
                        "(Lambda retries twice; default 1,2)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for every function (the function's own variables win)")
    p.add_argument("--verbose", action="store_true", help="log every moto request")
    return p.parse_args(argv)


def configure_moto() -> None:
    """Execution on, docker off: before any backend object exists."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.set_config({
        "stepfunctions": {"execute_state_machine": True},
        "lambda": {"use_docker": False},
    })
    # Lambda's default account concurrency quota, with its rule that reservations leave at
    # least 100 unreserved ("Lambda function scaling", Reserved concurrency): moto enforces it
    # only when told, and the module reserves concurrency for caller-id and dial.
    os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000")


class LauncherApp:
    """WSGI: `/_launcher/...` here, everything else to moto."""

    def __init__(self, moto_app: Callable[..., Iterable[bytes]], runtime: Any):
        self.moto_app = moto_app
        self.runtime = runtime

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_launcher/"):
            return self.moto_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_launcher/stats" and method == "GET":
            status, body = "200 OK", self.runtime.stats_snapshot()
        elif path == "/_launcher/stats/reset" and method == "POST":
            self.runtime.reset_stats()
            status, body = "200 OK", {"reset": True}
        elif path == "/_launcher/health":
            status, body = "200 OK", {"status": "ok"}
        else:
            status, body = "404 Not Found", {"error": "unknown /_launcher/ endpoint"}
        data = json.dumps(body).encode("utf-8")
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # moto's executor compares Wait timestamps with the local clock: the stack runs in UTC.
    os.environ["TZ"] = "UTC"
    time.tzset()
    logging.basicConfig(level=logging.INFO, format="launcher: %(name)s: %(message)s", stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        retry_delays = tuple(float(x) for x in args.async_retry_delays.split(",") if x.strip())
        extra_env = dict(kv.split("=", 1) for kv in args.env)
    except ValueError:
        print("launcher: --async-retry-delays takes numbers, --env takes KEY=VALUE", file=sys.stderr)
        return 2

    if args.ready_file and os.path.exists(args.ready_file):
        os.remove(args.ready_file)  # a stale file from an earlier run would say "ready" too soon
    from werkzeug.serving import make_server

    configure_moto()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    from local import moto_fixes
    from local.runtime import LambdaRuntime

    moto_fixes.install_terraform_fixes()
    moto_fixes.install_executor_fixes()
    moto_fixes.install_dynamodb_fixes()
    app = LauncherApp(DomainDispatcherApplication(create_backend_app), None)
    try:
        server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)
    except OSError as e:
        print(f"launcher: cannot listen on 127.0.0.1:{args.port}: {e}", file=sys.stderr)
        return 1
    port = server.server_address[1]
    # moto's Step Functions executor calls the Lambda and SDK integrations over HTTP at
    # localhost:$MOTO_PORT: it must be this server.
    os.environ["MOTO_PORT"] = str(port)
    endpoint = f"http://127.0.0.1:{port}"
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="local-lambda-")
    runtime = LambdaRuntime(
        moto_endpoint=endpoint,
        connect_endpoint=args.connect_endpoint,
        work_dir=work_dir,
        extra_env=extra_env,
        max_workers=args.max_workers,
        log_dir=args.log_dir,
        async_retry_delays=retry_delays,
        invocation_log=args.invocation_log,
    )
    app.runtime = runtime
    moto_fixes.install_lambda_forwarding(runtime)

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        LOG.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    serving = threading.Thread(target=server.serve_forever, daemon=True, name="moto")
    serving.start()
    if args.ready_file:
        _write_atomically(args.ready_file, json.dumps({
            "endpoint": endpoint,
            "port": port,
            "pid": os.getpid(),
            "stats": f"{endpoint}/_launcher/stats",
            "runtimeApi": runtime.base_url,
            "connectEndpoint": args.connect_endpoint,
        }))
    print(f"launcher ready on {endpoint} (moto {_moto_version()}, step functions execution on, "
          f"lambda -> real bootstrap; connect: {args.connect_endpoint or 'not set'})", flush=True)

    while not stop.wait(0.5):
        if not serving.is_alive():
            LOG.error("the moto server thread died")
            break
    runtime.shutdown()
    server.shutdown()
    if args.stats_file:
        _write_atomically(args.stats_file, json.dumps(runtime.stats_snapshot(), indent=2))
    LOG.info("stopped")
    return 0


def _moto_version() -> str:
    try:
        from importlib.metadata import version

        return version("moto")
    except Exception:  # noqa: BLE001 - informational only
        return "?"


if __name__ == "__main__":
    sys.exit(main())
