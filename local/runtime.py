"""The local Lambda Runtime API emulator: runs a function's `bootstrap` as a process that talks
to this module's HTTP server, as it would to Lambda.

The function is started with `AWS_LAMBDA_RUNTIME_API` pointing here; it long-polls
`GET /2018-06-01/runtime/invocation/next`, and posts each answer to `.../<id>/response` (or
`.../<id>/error`; `.../init/error` when it cannot start). Nothing else of Lambda (no extensions,
no telemetry API) is emulated: the Rust runtime does not need it. One server implementation
(`RuntimeApiServer`) serves both uses:

- `LocalFunction`: one function, one process, a Runtime API of its own; `submit()` queues an
  event (before the process starts, for a cold-start measurement), `invoke()` waits for the
  answer. Used by local/tests/test_caller_id_binary.py and scripts/bench_caller_id_cold.py; a
  Python handler runs the same way behind local/python_bootstrap.py (the benchmark's seed
  function, local/seed-caller-id).
- `LambdaRuntime`: the launcher's, running the code moto stores with a pool of warm processes
  per function. Each function's zip (what Terraform uploaded) is unpacked once per code digest;
  each process gets a path prefix of its own under one server (the Rust runtime keeps the base
  path). A process handles one invocation at a time, like a Lambda execution environment, so
  concurrent invocations (N dialing lanes) get N processes. Processes stay warm between
  invocations; a process that crashes or overruns the function's timeout is reported as a
  Lambda error and replaced by a fresh one on the next invocation. New code or configuration
  (Terraform updated the function) means a new pool: the old processes are stopped.

Standard library only, so the bench can run without the project's virtualenv (moto's side is in
local/moto_fixes.py and local/launcher.py).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

LOG = logging.getLogger("local.runtime")

# Lambda gives a function's init phase 10 s on top of its timeout.
INIT_TIMEOUT_SECONDS = 10.0
RUNTIME_PREFIX = "/2018-06-01/runtime"

# Passed through from the launcher's own environment when set (debugging the functions).
PASSTHROUGH_ENV = ("RUST_LOG", "RUST_BACKTRACE", "TZ", "LANG")


class Invocation:
    """One request to a function, waiting for its process's answer. `picked_at` (the process took
    the event) and `answered_at` (its answer arrived) are `time.perf_counter()` readings."""

    def __init__(self, function_arn: str, event: bytes, timeout: float):
        self.request_id = str(uuid.uuid4())
        self.function_arn = function_arn
        self.event = event
        self.timeout = timeout
        self.deadline_ms = 0
        self.started = threading.Event()
        self.done = threading.Event()
        self.result: bytes = b""
        self.error: dict[str, str] | None = None
        self.picked_at: float | None = None
        self.answered_at: float | None = None

    def succeed(self, body: bytes) -> None:
        if not self.done.is_set():
            self.result = body
            self.done.set()

    def fail(self, error_type: str, message: str) -> None:
        if not self.done.is_set():
            self.error = {"errorType": error_type, "errorMessage": message}
            self.done.set()

    @property
    def ok(self) -> bool:
        return self.done.is_set() and self.error is None

    @property
    def answer(self) -> Any:
        """The function's answer, parsed (text when it is not JSON); the error when it failed."""
        if self.error is not None:
            return self.error
        try:
            return json.loads(self.result)
        except ValueError:
            return self.result.decode("utf-8", "replace")


class ExecutionEnvironment:
    """One `bootstrap` process and its side of the Runtime API: the events queued for it and the
    one it is running. What the HTTP handler serves; `LocalFunction` and the launcher's `Worker`
    are built on it."""

    def __init__(self, label: str):
        self.label = label
        self.inbox: queue.Queue[Invocation | None] = queue.Queue()
        self.current: Invocation | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.exited = threading.Event()
        self.init_errors: list[dict[str, str]] = []
        self.spawned_at: float | None = None  # time.perf_counter() just before the process starts
        self.first_poll_at: float | None = None  # ... and when it first asked for an event

    @property
    def init_error(self) -> dict[str, str] | None:
        return self.init_errors[-1] if self.init_errors else None

    # ----- the Runtime API's side (called by the HTTP handler)

    def next_invocation(self) -> Invocation | None:
        """Blocks until there is an event for the process; None when it is being stopped."""
        if self.first_poll_at is None:
            self.first_poll_at = time.perf_counter()
        inv = self.inbox.get()
        if inv is not None:
            self.current = inv
        return inv

    def invocation(self, request_id: str) -> Invocation | None:
        inv = self.current
        return inv if inv is not None and inv.request_id == request_id else None

    def report_init_error(self, error: dict[str, str]) -> None:
        self.init_errors.append(error)

    # ----- the process

    def spawn(self, argv: list[str], *, env: dict[str, str], stdout: Any, cwd: str | None = None) -> None:
        self.spawned_at = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=stdout, stderr=subprocess.STDOUT)
        threading.Thread(target=self._watch, daemon=True, name=f"wait-{self.label}").start()

    def _watch(self) -> None:
        assert self.proc is not None
        self._exited(self.proc.wait())

    def _exited(self, code: int) -> None:
        self.exited.set()
        inv = self.current
        if inv is not None and not inv.done.is_set():
            if self.init_error is not None:
                inv.fail(self.init_error["errorType"], self.init_error["errorMessage"])
            else:
                # What Lambda reports when the runtime process dies mid-invocation.
                inv.fail(
                    "Runtime.ExitError",
                    f"RequestId: {inv.request_id} Error: Runtime exited with error: exit status {code}",
                )
        # Unblock a `next` call that may still be waiting for work.
        self.inbox.put(None)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def peak_rss_kib(self) -> int:
        """The process's peak resident set so far (`VmHWM`, KiB), as Lambda's "Max Memory Used"
        reports it per environment; 0 once the process is gone."""
        if self.proc is None:
            return 0
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def stop(self, grace: float = 2.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.inbox.put(None)


# ----- the Runtime API over HTTP


class RuntimeApiServer:
    """Serves the Runtime API on 127.0.0.1 (a free port unless one is given). `route` maps a
    request path to the environment it is for and the path within the API (`/2018-06-01/...`)."""

    def __init__(self, route: Callable[[str], tuple[ExecutionEnvironment | None, str]], port: int = 0):
        self.http = _Server(("127.0.0.1", port), _RuntimeApiHandler)
        self.http.daemon_threads = True
        self.http.route = route  # type: ignore[attr-defined]
        self.address = f"127.0.0.1:{self.http.server_address[1]}"
        self.base_url = f"http://{self.address}"
        threading.Thread(target=self.http.serve_forever, daemon=True, name="runtime-api").start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # The function process is killed while its /next long poll is open: expected, not news.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Lambda Runtime API: /2018-06-01/runtime/..., under whatever prefix the route expects."""

    protocol_version = "HTTP/1.1"  # keep-alive: the Rust runtime keeps its connection alive
    # Headers and body go out in two writes: with Nagle on, the client's delayed ACK
    # adds ~40 ms to every invocation.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        LOG.debug("runtime api: " + format, *args)

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The process went away while waiting for work (stopped or crashed): nothing to say.
            self.close_connection = True

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers (streaming responses report errors there), then the blank line
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _route(self) -> tuple[ExecutionEnvironment | None, str]:
        return self.server.route(self.path)  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        env, path = self._route()
        if env is None or path != f"{RUNTIME_PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        inv = env.next_invocation()
        if inv is None:
            # The process is being stopped: a 500 makes the runtime exit.
            self._reply(500, b'{"errorType":"ShuttingDown"}')
            return
        inv.picked_at = time.perf_counter()
        inv.deadline_ms = int((time.time() + inv.timeout) * 1000)
        inv.started.set()
        self._reply(200, inv.event, {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        })

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        env, path = self._route()
        body = self._body()
        if env is None:
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        if path == f"{RUNTIME_PREFIX}/init/error":
            env.report_init_error(_error_from(body, self.headers, "Runtime.InitError"))
            self._reply(202, b'{"status":"OK"}')
            return
        parts = path[len(RUNTIME_PREFIX):].strip("/").split("/")
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        inv = env.invocation(parts[1])
        if inv is None:
            self._reply(400, b'{"errorType":"InvalidRequestID"}')
            return
        if not inv.done.is_set():
            inv.answered_at = time.perf_counter()
        if parts[2] == "response":
            trailer_error = self.headers.get("Lambda-Runtime-Function-Error-Type")
            if trailer_error:
                inv.fail(trailer_error, self.headers.get("Lambda-Runtime-Function-Error-Body", ""))
            else:
                inv.succeed(body)
        else:
            e = _error_from(body, self.headers, "Unhandled")
            inv.fail(e["errorType"], e["errorMessage"])
        self._reply(202, b'{"status":"OK"}')


def _error_from(body: bytes, headers: Any, default_type: str) -> dict[str, str]:
    """The error a runtime reports: `errorType` from the body (what Step Functions matches on),
    else from the `Lambda-Runtime-Function-Error-Type` header."""
    error_type = None
    message = ""
    try:
        parsed = json.loads(body or b"{}")
        if isinstance(parsed, dict):
            error_type = parsed.get("errorType") or None
            message = str(parsed.get("errorMessage", ""))
    except ValueError:
        message = body.decode("utf-8", "replace")
    error_type = error_type or headers.get("Lambda-Runtime-Function-Error-Type") or default_type
    return {"errorType": str(error_type), "errorMessage": message}


# ----- one function, one process


class LocalFunction(ExecutionEnvironment):
    """One function run as one `bootstrap` process behind a Runtime API of its own, without moto:
    `AWS_LAMBDA_RUNTIME_API` is `host:port` with no path prefix, as Lambda sets it.

    Events can be queued before the process starts (`submit`), as Lambda does on a cold start;
    `spawned_at`, `first_poll_at` and each invocation's `picked_at`/`answered_at` time it. One
    process per instance: once it exits, the events still queued fail with it."""

    def __init__(self, function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:caller-id",
                 timeout: float = 30.0, port: int = 0):
        super().__init__("function")
        self.function_arn = function_arn
        self.timeout = timeout  # the function's timeout: what Deadline-Ms is set from
        self.api = RuntimeApiServer(lambda path: (self, path), port)

    @property
    def address(self) -> str:
        """The value for AWS_LAMBDA_RUNTIME_API."""
        return self.api.address

    def start(self, bootstrap: str | Path, env: dict[str, str], log_path: str | Path,
              args: list[str] | tuple[str, ...] = (), cwd: str | Path | None = None) -> subprocess.Popen[bytes]:
        """Starts the process with `env` plus `AWS_LAMBDA_RUNTIME_API`, its output to `log_path`.

        `bootstrap` is a function's executable (a Rust `bootstrap`), or an interpreter with `args`
        naming its runtime client (`python local/python_bootstrap.py` for a Python handler, see
        that module)."""
        if self.proc is not None:
            raise RuntimeError("a LocalFunction runs one process; make another for a fresh start")
        with open(log_path, "wb") as log:  # the process keeps its own descriptor
            self.spawn([str(bootstrap), *map(str, args)], env={**env, "AWS_LAMBDA_RUNTIME_API": self.address},
                       stdout=log, cwd=str(cwd) if cwd is not None else None)
        assert self.proc is not None
        return self.proc

    def submit(self, event: Any) -> Invocation:
        """Queues an event (bytes as is, else as JSON) without waiting."""
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        inv = Invocation(self.function_arn, body, self.timeout)
        self.inbox.put(inv)
        return inv

    def invoke(self, event: Any, timeout: float = 15.0) -> Invocation:
        """Queues an event and waits for the function's answer (`ok`, `answer`)."""
        inv = self.submit(event)
        if not inv.done.wait(timeout):
            raise TimeoutError(f"no answer from the function within {timeout}s (init errors: {self.init_errors})")
        return inv

    def _exited(self, code: int) -> None:
        while True:
            try:
                queued = self.inbox.get_nowait()
            except queue.Empty:
                break
            if queued is not None:
                error = self.init_error or {"errorType": "Runtime.ExitError",
                                            "errorMessage": f"Runtime exited with error: exit status {code}"}
                queued.fail(error["errorType"], error["errorMessage"])
        super()._exited(code)

    def close(self) -> None:
        self.stop(grace=5.0)
        self.api.close()


# ----- the launcher's: moto's functions, warm pools of processes


class Worker(ExecutionEnvironment):
    """One `bootstrap` process of a pool: a Lambda execution environment."""

    def __init__(self, pool: FunctionPool, wid: str):
        super().__init__(wid)
        self.pool = pool
        self.wid = wid

    def start(self, runtime_base: str) -> None:
        env = dict(self.pool.env)
        env["AWS_LAMBDA_RUNTIME_API"] = f"{runtime_base}/{self.wid}"
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = f"local/{self.wid}"
        self.spawn([os.path.join(self.pool.code_dir, "bootstrap")], cwd=self.pool.code_dir, env=env,
                   stdout=subprocess.PIPE)
        threading.Thread(target=self._pump_output, daemon=True, name=f"out-{self.wid}").start()

    def _pump_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.pool.runtime.function_log(self.pool.name, self.wid, line)

    def _exited(self, code: int) -> None:
        super()._exited(code)
        self.pool.forget(self)
        self.pool.runtime.drop_worker(self.wid)

    def assign(self, inv: Invocation) -> None:
        self.current = inv
        self.inbox.put(inv)


class FunctionPool:
    """The warm processes of one function version (code digest + configuration)."""

    def __init__(self, runtime: LambdaRuntime, name: str, key: str, code_dir: str,
                 env: dict[str, str], timeout: float, max_workers: int):
        self.runtime = runtime
        self.name = name
        self.key = key
        self.code_dir = code_dir
        self.env = env
        self.timeout = timeout
        self.max_workers = max_workers
        self.idle: list[Worker] = []
        self.workers: set[Worker] = set()
        self.retired = False
        self.cond = threading.Condition()

    def acquire(self) -> tuple[Worker, bool]:
        """An idle warm process, or a new one (cold start) below the cap; waits at the cap."""
        with self.cond:
            while True:
                while self.idle:
                    w = self.idle.pop()
                    if w.alive():
                        return w, False
                if len(self.workers) < self.max_workers:
                    w = self.runtime.new_worker(self)
                    self.workers.add(w)
                    break
                self.cond.wait(timeout=1.0)
        w.start(self.runtime.base_url)
        return w, True

    def release(self, w: Worker) -> None:
        w.current = None
        with self.cond:
            if self.retired or not w.alive():
                self.workers.discard(w)
                stop = True
            else:
                self.idle.append(w)
                stop = False
            self.cond.notify()
        if stop:
            w.stop()

    def discard(self, w: Worker) -> None:
        """A process that broke its invocation (timeout): never reused."""
        with self.cond:
            self.workers.discard(w)
            if w in self.idle:
                self.idle.remove(w)
            self.cond.notify()
        w.stop()

    def forget(self, w: Worker) -> None:
        with self.cond:
            self.workers.discard(w)
            if w in self.idle:
                self.idle.remove(w)
            self.cond.notify()

    def retire(self) -> None:
        with self.cond:
            self.retired = True
            idle, self.idle = self.idle, []
            for w in idle:
                self.workers.discard(w)
        for w in idle:
            w.stop()

    def stop_all(self) -> None:
        with self.cond:
            self.retired = True
            workers = list(self.workers)
            self.workers.clear()
            self.idle.clear()
        for w in workers:
            w.stop()


class FunctionStats:
    def __init__(self) -> None:
        self.invocations = 0
        self.sync = 0
        self.asynchronous = 0
        self.async_retries = 0
        self.dead_letters = 0
        self.errors = 0
        self.error_types: dict[str, int] = {}
        self.cold_starts = 0
        self.duration_ms_total = 0.0
        self.duration_ms_max = 0.0
        self.running = 0
        self.peak_concurrency = 0
        self.peak_rss_kib = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "sync": self.sync,
            "async": self.asynchronous,
            "asyncRetries": self.async_retries,
            "deadLetters": self.dead_letters,
            "errors": self.errors,
            "errorTypes": dict(self.error_types),
            "coldStarts": self.cold_starts,
            "durationMsTotal": round(self.duration_ms_total, 3),
            "durationMsMax": round(self.duration_ms_max, 3),
            "durationMsMean": round(self.duration_ms_total / self.invocations, 3) if self.invocations else 0.0,
            "running": self.running,
            "peakConcurrency": self.peak_concurrency,
            "peakRssKiB": self.peak_rss_kib,
        }


class LambdaRuntime:
    """Invokes moto's Lambda functions by running their code."""

    def __init__(self, *, moto_endpoint: str, connect_endpoint: str | None, work_dir: str,
                 extra_env: dict[str, str] | None = None, max_workers: int = 64,
                 log_dir: str | None = None, async_retry_delays: tuple[float, ...] = (1.0, 2.0),
                 invocation_log: str | None = None):
        self.moto_endpoint = moto_endpoint
        self.connect_endpoint = connect_endpoint
        self.work_dir = work_dir
        self.extra_env = dict(extra_env or {})
        self.max_workers = max_workers
        self.log_dir = log_dir
        self.async_retry_delays = async_retry_delays
        self.pools: dict[str, FunctionPool] = {}
        self.current_key: dict[str, str] = {}
        self.workers: dict[str, Worker] = {}
        self.lock = threading.Lock()
        self.stats_lock = threading.RLock()  # _stat() is called with it held
        self.stats: dict[str, FunctionStats] = {}
        self.ids = itertools.count(1)
        self.async_pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="lambda-async")
        self.log_lock = threading.Lock()
        self.log_files: dict[str, io.TextIOBase] = {}
        self.invocation_log = open(invocation_log, "a", encoding="utf-8") if invocation_log else None
        self.closing = False
        os.makedirs(work_dir, exist_ok=True)
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)
        self.api = RuntimeApiServer(self._route)
        self.base_url = self.api.base_url

    # ----- processes

    def new_worker(self, pool: FunctionPool) -> Worker:
        wid = f"w{next(self.ids)}"
        w = Worker(pool, wid)
        with self.lock:
            self.workers[wid] = w
        return w

    def drop_worker(self, wid: str) -> None:
        with self.lock:
            self.workers.pop(wid, None)

    def _route(self, path: str) -> tuple[Worker | None, str]:
        """One path prefix per process: /<worker>/2018-06-01/runtime/..."""
        wid, _, rest = path.lstrip("/").partition("/")
        with self.lock:
            worker = self.workers.get(wid)
        return worker, "/" + rest

    def function_log(self, name: str, wid: str, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\n")
        with self.log_lock:
            if self.log_dir:
                f = self.log_files.get(name)
                if f is None:
                    f = open(os.path.join(self.log_dir, f"{name}.log"), "a", encoding="utf-8")
                    self.log_files[name] = f
                f.write(f"{wid} {text}\n")
                f.flush()
            else:
                print(f"[{name}#{wid}] {text}", flush=True)

    def _environment(self, fn: Any) -> dict[str, str]:
        """What the process sees: the local stack's endpoints, then the function's own
        variables (what Terraform gave it), then the variables Lambda reserves."""
        env: dict[str, str] = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": ":UTC"}
        for k in PASSTHROUGH_ENV:
            if k in os.environ:
                env[k] = os.environ[k]
        env["AWS_ENDPOINT_URL"] = self.moto_endpoint
        if self.connect_endpoint:
            env["AWS_ENDPOINT_URL_CONNECT"] = self.connect_endpoint
        env.update(self.extra_env)
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        # Lambda's advanced logging controls (kept by moto_fixes): JSON format and its level.
        logging_config = getattr(fn, "logging_config", None) or {}
        if logging_config.get("LogFormat") == "JSON":
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            env["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config.get("ApplicationLogLevel") or "INFO")
        env.update({
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": (logging_config.get("LogGroup") or fn.logs_group_name),
            "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": "",  # set per code dir below
            "LAMBDA_RUNTIME_DIR": "",
        })
        return env

    def _unpack(self, fn: Any) -> str:
        digest = getattr(fn, "code_digest", None) or hashlib.sha256(fn.code_bytes or b"").hexdigest()
        code_dir = os.path.join(self.work_dir, fn.function_name, digest[:16])
        bootstrap = os.path.join(code_dir, "bootstrap")
        if not os.path.exists(bootstrap):
            if not fn.code_bytes:
                raise _FunctionError("Runtime.InvalidEntrypoint",
                                     f"{fn.function_name}: moto holds no code for this function")
            tmp = f"{code_dir}.tmp-{uuid.uuid4().hex[:8]}"
            try:
                with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as z:
                    z.extractall(tmp)
            except zipfile.BadZipFile as e:
                raise _FunctionError("Runtime.InvalidEntrypoint",
                                     f"{fn.function_name}: the code is not a zip: {e}") from e
            if not os.path.exists(os.path.join(tmp, "bootstrap")):
                shutil.rmtree(tmp, ignore_errors=True)
                raise _FunctionError("Runtime.InvalidEntrypoint",
                                     f"{fn.function_name}: the zip has no bootstrap at its root")
            os.chmod(os.path.join(tmp, "bootstrap"), 0o755)
            try:
                os.rename(tmp, code_dir)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)  # another thread unpacked it first
        return code_dir

    def _pool_for(self, fn: Any) -> FunctionPool:
        env = self._environment(fn)
        timeout = float(fn.timeout or 3)
        ident = json.dumps({
            "arn": fn.function_arn,
            "code": getattr(fn, "code_digest", None),
            "env": env,
            "timeout": timeout,
            "memory": fn.memory_size,
        }, sort_keys=True)
        key = hashlib.sha256(ident.encode()).hexdigest()
        with self.lock:
            pool = self.pools.get(key)
            if pool is not None:
                return pool
        code_dir = self._unpack(fn)
        env["LAMBDA_TASK_ROOT"] = code_dir
        env["LAMBDA_RUNTIME_DIR"] = code_dir
        with self.lock:
            pool = self.pools.get(key)
            if pool is None:
                pool = FunctionPool(self, fn.function_name, key, code_dir, env, timeout, self.max_workers)
                self.pools[key] = pool
                old_key = self.current_key.get(fn.function_arn)
                self.current_key[fn.function_arn] = key
                old = self.pools.pop(old_key, None) if old_key and old_key != key else None
            else:
                old = None
        if old is not None:
            LOG.info("%s changed (code or configuration): new processes", fn.function_name)
            old.retire()
        return pool

    # ----- invocations

    def _stat(self, name: str) -> FunctionStats:
        with self.stats_lock:
            s = self.stats.get(name)
            if s is None:
                s = self.stats[name] = FunctionStats()
            return s

    def invoke(self, fn: Any, payload: bytes, *, asynchronous: bool = False) -> tuple[bytes, bool]:
        """Runs one invocation to its end. Returns (payload, is_error); an error payload is
        `{"errorType", "errorMessage"}` as Lambda returns it."""
        name = fn.function_name
        stat = self._stat(name)
        started = time.monotonic()
        with self.stats_lock:
            stat.invocations += 1
            if asynchronous:
                stat.asynchronous += 1
            else:
                stat.sync += 1
            stat.running += 1
            stat.peak_concurrency = max(stat.peak_concurrency, stat.running)
        inv = None
        cold = False
        try:
            if self.closing:
                raise _FunctionError("ServiceException", "the local stack is shutting down")
            pool = self._pool_for(fn)
            inv = Invocation(fn.function_arn, payload or b"{}", pool.timeout)
            worker, cold = pool.acquire()
            worker.assign(inv)
            self._wait(pool, worker, inv)
            rss = worker.peak_rss_kib()
            with self.stats_lock:
                stat.peak_rss_kib = max(stat.peak_rss_kib, rss)
        except _FunctionError as e:
            inv = inv or Invocation(fn.function_arn, payload, 0)
            inv.fail(e.error_type, e.message)
        except OSError as e:
            # The bootstrap could not be started (wrong architecture, not executable...).
            inv = inv or Invocation(fn.function_arn, payload, 0)
            inv.fail("Runtime.InvalidEntrypoint", f"{name}: cannot start bootstrap: {e}")
        elapsed_ms = (time.monotonic() - started) * 1000.0
        with self.stats_lock:
            stat.running -= 1
            stat.duration_ms_total += elapsed_ms
            stat.duration_ms_max = max(stat.duration_ms_max, elapsed_ms)
            if cold:
                stat.cold_starts += 1
            if inv.error is not None:
                stat.errors += 1
                t = inv.error["errorType"]
                stat.error_types[t] = stat.error_types.get(t, 0) + 1
        if self.invocation_log is not None:
            line = json.dumps({
                "function": name, "requestId": inv.request_id, "async": asynchronous,
                "cold": cold, "ms": round(elapsed_ms, 3), "errorType": (inv.error or {}).get("errorType"),
                "at": time.time(),
            })
            with self.log_lock:
                self.invocation_log.write(line + "\n")
                self.invocation_log.flush()
        if inv.error is not None:
            return json.dumps(inv.error).encode(), True
        return inv.result, False

    def _wait(self, pool: FunctionPool, worker: Worker, inv: Invocation) -> None:
        # The init phase (a cold process before its first `next`) has its own allowance.
        if not inv.started.wait(INIT_TIMEOUT_SECONDS + inv.timeout) and not inv.done.is_set():
            # Fail first: stopping the process would otherwise report it as an exit.
            inv.fail("Sandbox.Timedout",
                     f"RequestId: {inv.request_id} Error: the runtime did not ask for the event "
                     f"within {INIT_TIMEOUT_SECONDS:.0f} s (init)")
            pool.discard(worker)
            return
        remaining = inv.deadline_ms / 1000.0 - time.time()
        if not inv.done.wait(max(remaining, 0.0) + 0.05):
            # Lambda stops an environment that overruns its timeout; so do we.
            inv.fail("Sandbox.Timedout",
                     f"RequestId: {inv.request_id} Error: Task timed out after {inv.timeout:.2f} seconds")
            pool.discard(worker)
            return
        if worker.alive() and worker.init_error is None:
            pool.release(worker)
        else:
            pool.forget(worker)

    def invoke_async(self, fn: Any, payload: bytes) -> None:
        """An `Event` invocation (S3 notification, EventBridge target, InvocationType=Event):
        queued and run in the background, retried twice on error like Lambda does."""
        if self.closing:
            return

        def run() -> None:
            for attempt, delay in enumerate((0.0,) + tuple(self.async_retry_delays)):
                if attempt > 0:
                    with self.stats_lock:
                        self._stat(fn.function_name).async_retries += 1
                    time.sleep(delay)
                if self.closing:
                    return
                body, error = self.invoke(fn, payload, asynchronous=True)
                if not error:
                    return
                LOG.warning("async invocation of %s failed (attempt %d): %s",
                            fn.function_name, attempt + 1, body[:300].decode("utf-8", "replace"))
            self._dead_letter(fn, payload, body)

        self.async_pool.submit(run)

    def _dead_letter(self, fn: Any, payload: bytes, error_body: bytes) -> None:
        """The event of an asynchronous invocation that failed every attempt goes to the
        function's dead-letter queue, with the attributes Lambda sets ("Lambda function
        dead-letter queues": `RequestID`, `ErrorCode`, `ErrorMessage`). Without one it is
        dropped, as in Lambda."""
        target = (getattr(fn, "dead_letter_config", None) or {}).get("TargetArn")
        if not target:
            return
        if target.split(":")[2] != "sqs":
            LOG.warning("dead-letter target %s of %s: only SQS is simulated", target, fn.function_name)
            return
        import boto3

        try:
            error = json.loads(error_body or b"{}")
        except ValueError:
            error = {}
        _, _, _, region, account, name = target.split(":", 5)
        sqs = boto3.client("sqs", endpoint_url=self.moto_endpoint, region_name=region,
                           aws_access_key_id="local", aws_secret_access_key="local")
        url = f"{self.moto_endpoint}/{account}/{name}"
        sqs.send_message(QueueUrl=url, MessageBody=payload.decode("utf-8", "replace"), MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String",
                             "StringValue": str(error.get("errorMessage") or error.get("errorType") or "Unhandled")[:256]},
        })
        with self.stats_lock:
            self._stat(fn.function_name).dead_letters += 1

    # ----- introspection and shutdown

    def stats_snapshot(self) -> dict[str, Any]:
        with self.stats_lock:
            functions = {name: s.as_dict() for name, s in sorted(self.stats.items())}
        with self.lock:
            warm: dict[str, int] = {}
            for pool in self.pools.values():
                if not pool.retired:
                    warm[pool.name] = warm.get(pool.name, 0) + len(pool.workers)
        for name, n in warm.items():
            functions.setdefault(name, FunctionStats().as_dict())["processes"] = n
        return {
            "functions": functions,
            "totalInvocations": sum(f["invocations"] for f in functions.values()),
        }

    def reset_stats(self) -> None:
        with self.stats_lock:
            self.stats.clear()

    def shutdown(self) -> None:
        self.closing = True
        with self.lock:
            pools = list(self.pools.values())
            self.pools.clear()
        threads = [threading.Thread(target=p.stop_all) for p in pools]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=5)
        self.async_pool.shutdown(wait=False, cancel_futures=True)
        self.api.close()
        with self.log_lock:
            for f in self.log_files.values():
                f.close()
            if self.invocation_log is not None:
                self.invocation_log.close()


class _FunctionError(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
