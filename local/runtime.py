"""Runs Lambda functions locally from the code moto stores: a Lambda Runtime API and a pool of
warm `bootstrap` processes per function.

Each function's zip (what Terraform uploaded) is unpacked once per code digest; its `bootstrap`
is started as a process whose `AWS_LAMBDA_RUNTIME_API` points at this module's HTTP server,
under a path prefix that identifies the process (the Rust runtime keeps the base path). A
process handles one invocation at a time, like a Lambda execution environment, so concurrent
invocations (N dialing lanes) get N processes. Processes stay warm between invocations; a
process that crashes or overruns the function's timeout is reported as a Lambda error and
replaced by a fresh one on the next invocation. New code or configuration (Terraform updated
the function) means a new pool: the old processes are stopped.
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
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOG = logging.getLogger("local.runtime")

# Lambda gives a function's init phase 10 s on top of its timeout.
INIT_TIMEOUT_SECONDS = 10.0
RUNTIME_PREFIX = "/2018-06-01/runtime"

# Passed through from the launcher's own environment when set (debugging the functions).
PASSTHROUGH_ENV = ("RUST_LOG", "RUST_BACKTRACE", "TZ", "LANG")


class Invocation:
    """One request to a function, waiting for its process's answer."""

    def __init__(self, function_arn: str, payload: bytes, timeout: float):
        self.request_id = str(uuid.uuid4())
        self.function_arn = function_arn
        self.payload = payload
        self.timeout = timeout
        self.deadline_ms = 0
        self.started = threading.Event()
        self.done = threading.Event()
        self.result: bytes = b""
        self.error: dict[str, str] | None = None

    def succeed(self, body: bytes) -> None:
        if not self.done.is_set():
            self.result = body
            self.done.set()

    def fail(self, error_type: str, message: str) -> None:
        if not self.done.is_set():
            self.error = {"errorType": error_type, "errorMessage": message}
            self.done.set()


class Worker:
    """One `bootstrap` process: a Lambda execution environment."""

    def __init__(self, pool: FunctionPool, wid: str):
        self.pool = pool
        self.wid = wid
        self.inbox: queue.Queue[Invocation | None] = queue.Queue()
        self.current: Invocation | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.exited = threading.Event()
        self.init_error: dict[str, str] | None = None

    def start(self, runtime_base: str) -> None:
        env = dict(self.pool.env)
        env["AWS_LAMBDA_RUNTIME_API"] = f"{runtime_base}/{self.wid}"
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = f"local/{self.wid}"
        self.proc = subprocess.Popen(
            [os.path.join(self.pool.code_dir, "bootstrap")],
            cwd=self.pool.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump_output, daemon=True, name=f"out-{self.wid}").start()
        threading.Thread(target=self._watch, daemon=True, name=f"wait-{self.wid}").start()

    def _pump_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.pool.runtime.function_log(self.pool.name, self.wid, line)

    def _watch(self) -> None:
        assert self.proc is not None
        code = self.proc.wait()
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
        self.pool.forget(self)
        self.pool.runtime.drop_worker(self.wid)
        # Unblock a `next` call that may still be waiting for work.
        self.inbox.put(None)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def assign(self, inv: Invocation) -> None:
        self.current = inv
        self.inbox.put(inv)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.inbox.put(None)


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
        self.errors = 0
        self.error_types: dict[str, int] = {}
        self.cold_starts = 0
        self.duration_ms_total = 0.0
        self.duration_ms_max = 0.0
        self.running = 0
        self.peak_concurrency = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "sync": self.sync,
            "async": self.asynchronous,
            "asyncRetries": self.async_retries,
            "errors": self.errors,
            "errorTypes": dict(self.error_types),
            "coldStarts": self.cold_starts,
            "durationMsTotal": round(self.duration_ms_total, 3),
            "durationMsMax": round(self.duration_ms_max, 3),
            "durationMsMean": round(self.duration_ms_total / self.invocations, 3) if self.invocations else 0.0,
            "running": self.running,
            "peakConcurrency": self.peak_concurrency,
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
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _RuntimeApiHandler)
        self.server.daemon_threads = True
        self.server.runtime = self  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="runtime-api").start()

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

        self.async_pool.submit(run)

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
        self.server.shutdown()
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


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Lambda Runtime API, one path prefix per process: /<worker>/2018-06-01/runtime/..."""

    protocol_version = "HTTP/1.1"  # the Rust runtime keeps its connection alive

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        LOG.debug("runtime api: " + format, *args)

    @property
    def runtime(self) -> LambdaRuntime:
        return self.server.runtime  # type: ignore[attr-defined]

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

    def _route(self) -> tuple[Worker | None, str]:
        wid, _, rest = self.path.lstrip("/").partition("/")
        with self.runtime.lock:
            worker = self.runtime.workers.get(wid)
        return worker, "/" + rest

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        worker, path = self._route()
        if worker is None or path != f"{RUNTIME_PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        inv = worker.inbox.get()
        if inv is None:
            # The process is being stopped: a 500 makes the runtime exit.
            self._reply(500, b'{"errorType":"ShuttingDown"}')
            return
        inv.deadline_ms = int((time.time() + inv.timeout) * 1000)
        inv.started.set()
        self._reply(200, inv.payload, {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.function_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        })

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        worker, path = self._route()
        body = self._body()
        if worker is None:
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        if path == f"{RUNTIME_PREFIX}/init/error":
            worker.init_error = _error_from(body, self.headers, "Runtime.InitError")
            self._reply(202, b'{"status":"OK"}')
            return
        parts = path[len(RUNTIME_PREFIX):].strip("/").split("/")
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        inv = worker.current
        if inv is None or inv.request_id != parts[1]:
            self._reply(400, b'{"errorType":"InvalidRequestID"}')
            return
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
