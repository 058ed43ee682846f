"""HTTP benchmark: ECAR against a plain DRF + SimpleJWT control app, side by side.

Run with `make bench` or `.venv/bin/python bench/bench_http.py`. Needs PostgreSQL (DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/postgres: only its server is used) and Redis
(REDIS_URL, default redis://127.0.0.1:6379/0). It creates two scratch databases on that server,
fills both with the same rows (bench/dataset.py), starts ECAR (production settings) and the
control app (bench/control/) under gunicorn with the same deploy/gunicorn.conf.py and workers on
free loopback ports, then loads both in one interleaved run with wrk (Debian's `wrk`; a small
Python load generator when it is missing) and prints req/s, p99 and their ratios. Finally it
streams one customer's export of EXPORT_ORDERS service orders and prints the worker's RSS
growth. Everything it created is removed at the end. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
USERNAME, PASSWORD = "bench-admin", "Bench#Garage-2026"
TOTP_KEY = secrets.token_hex(20)  # the bench admin's authenticator (staff MFA is on in production)
EXPORTER = "bench-exporter"
EXPORT_ORDERS = 2000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
WORKERS = os.environ.get("GUNICORN_WORKERS", "2")
ENDPOINTS = [
    ("customers list", "/api/customers/"),
    ("vehicles list", "/api/vehicles/"),
    ("service-orders list", "/api/service-orders/"),
    ("customer detail", "/api/customers/{customer}/"),
    ("protected", "/api/protected/"),
]


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(name: str) -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench_http needs PostgreSQL: set DATABASE_URL to postgres://…")
    return parts._replace(path=f"/{name}").geturl()


def _admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(_database_url("postgres"), autocommit=True) as connection:
        connection.execute(statement)


def _run(args: list[str], env: dict) -> None:
    subprocess.run(args, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


class App:
    """One gunicorn-served application on a free port."""

    def __init__(self, name: str, env: dict, wsgi: list[str], log: Path):
        self.name, self.env, self.log = name, env, log
        self.port = _free_port()
        self.headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
        self.args = [GUNICORN, "-c", "deploy/gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}"]
        self.args += wsgi
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/api/protected/")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def request(self, method: str, path: str, body: dict | None = None, token: str = ""):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = dict(self.headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        return connection, connection.getresponse()

    def get_json(self, path: str, token: str):
        connection, response = self.request("GET", path, token=token)
        with contextlib.closing(connection):
            data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.name} GET {path}: {response.status} {data[:200]!r}")
        return json.loads(data)

    def login(self, username: str, otp: str = "") -> str:
        body = {"username": username, "password": PASSWORD}
        if otp:
            body["otp"] = otp
        connection, response = self.request("POST", "/api/login/", body)
        with contextlib.closing(connection):
            data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.name} login: {response.status} {data[:200]!r}")
        return json.loads(data)["access"]

    def workers(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]


def _totp_now() -> str:
    """The bench admin's current TOTP code (RFC 6238, as its authenticator app would show)."""
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(TOTP_KEY)):06d}"


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# --- load generators ---------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk(app: App, path: str, token: str) -> tuple[float, float, int]:
    """(req/s, p99 in ms, non-2xx responses) from one wrk run."""
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
    for name, value in {**app.headers, "Authorization": f"Bearer {token}"}.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{app.port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, float(value) * _UNITS[unit], int(errors.group(1)) if errors else 0


def _python_load(app: App, path: str, token: str) -> tuple[float, float, int]:
    """The same measurement without wrk: CONNECTIONS threads, one request at a time each."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client():
        mine, failed = [], 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection, response = app.request("GET", path, token=token)
            with contextlib.closing(connection):
                response.read()
            mine.append((time.perf_counter() - started) * 1000)
            failed += response.status >= 300
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / SECONDS, p99, errors[0]


# --- the run -------------------------------------------------------------------------------------


def _environments(folder: Path, names: dict[str, str]) -> tuple[dict, dict]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    base["GUNICORN_WORKERS"] = WORKERS
    ecar = {
        **base,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _database_url(names["ecar"]),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "ENCRYPTION_KEY_FILE": "",
        "FIELD_ENCRYPTION_KEYS": f"k1:{_key()}",
        "BLIND_INDEX_KEY": _key(),
        "MEDIA_ROOT": str(folder / "media"),
        "STATIC_ROOT": str(folder / "static"),
        "ERASURE_LEDGER_PATH": str(folder / "erasure-ledger.jsonl"),
        "LOGIN_RATE_PER_IP": "1000/10m",
        "EXPORT_RATE": "1000/h",
        "SENTRY_DSN": "",
        "AUDIT_SEAL_KEY": _key(),
    }
    control = {
        **base,
        "DJANGO_SETTINGS_MODULE": "control.settings",
        "PYTHONPATH": str(BENCH),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": _database_url(names["control"]),
    }
    return ecar, control


def _machine() -> str:
    cpu = platform.processor() or "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{platform.platform()}; {cpu}; {os.cpu_count()} cores; Python {platform.python_version()}"
    )


def _compare(ecar: App, control: App, tokens: dict[App, str], paths: dict[App, dict]) -> None:
    load = _wrk if shutil.which("wrk") else _python_load
    print(
        f"load: {'wrk' if load is _wrk else 'Python threads (wrk not installed)'}, "
        f"{CONNECTIONS} connections, {SECONDS} s per run, {ROUNDS} interleaved rounds, "
        f"{WORKERS} sync workers each"
    )
    results: dict[tuple[str, App], list[tuple[float, float, int]]] = {}
    for round_ in range(ROUNDS):
        for label, _ in ENDPOINTS:
            pair = (ecar, control) if round_ % 2 == 0 else (control, ecar)
            for app in pair:
                results.setdefault((label, app), []).append(
                    load(app, paths[app][label], tokens[app])
                )
        print(f"  round {round_ + 1}/{ROUNDS} done", flush=True)
    print()
    print(
        f"{'request (super-admin)':<22} {'ECAR req/s':>10} {'control':>9} {'ratio':>6}   "
        f"{'ECAR p99':>9} {'control':>9} {'ratio':>6}  non-2xx"
    )
    for label, _ in ENDPOINTS:
        ours, theirs = results[(label, ecar)], results[(label, control)]
        rps_o = statistics.median(r[0] for r in ours)
        rps_c = statistics.median(r[0] for r in theirs)
        p99_o = statistics.median(r[1] for r in ours)
        p99_c = statistics.median(r[1] for r in theirs)
        errors = sum(r[2] for r in ours) + sum(r[2] for r in theirs)
        print(
            f"{label:<22} {rps_o:>10,.0f} {rps_c:>9,.0f} {rps_o / rps_c:>5.2f}x   "
            f"{p99_o:>7.1f}ms {p99_c:>7.1f}ms {p99_o / p99_c:>5.2f}x  {errors}"
        )
    print("(medians of the rounds; ratios ECAR / control: req/s higher is better, p99 lower)")


def _export_rss(ecar: App) -> None:
    token = ecar.login(EXPORTER)
    peaks: dict[int, int] = {}
    before = {pid: _rss(pid) for pid in ecar.workers()}
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in before:
                peaks[pid] = max(peaks.get(pid, 0), _rss(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    connection, response = ecar.request("GET", "/api/download_user_data/", token=token)
    size = 0
    with contextlib.closing(connection):
        while piece := response.read(64 * 1024):
            size += len(piece)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if response.status != 200:
        raise RuntimeError(f"export: {response.status}")
    growth = max(peaks[pid] - before[pid] for pid in before)
    orders = EXPORT_ORDERS
    print(f"export of one customer with {orders:,} service orders (GET /api/download_user_data/):")
    print(
        f"  {size / 1e6:.1f} MB streamed in {elapsed:.1f} s; worker RSS growth "
        f"{growth / 1e6:.1f} MB (goal < 50 MB)"
    )


def main() -> None:
    started = time.perf_counter()
    suffix = f"{os.getpid()}"
    names = {"ecar": f"ecar_bench_http_{suffix}", "control": f"ecar_bench_ctl_{suffix}"}
    folder = Path(tempfile.mkdtemp(prefix="ecar-bench-http-"))
    ecar_env, control_env = _environments(folder, names)
    apps: list[App] = []
    for name in names.values():
        _admin_sql(f'CREATE DATABASE "{name}"')
    try:
        print("ECAR HTTP benchmark against a plain DRF + SimpleJWT app")
        print(f"machine: {_machine()}")
        _run([PYTHON, "manage.py", "migrate", "--noinput"], ecar_env)
        _run(
            [PYTHON, "bench/seed_ecar.py", USERNAME, PASSWORD, TOTP_KEY],
            ecar_env,
        )
        # Django's own apps first: the control app's tables (no migrations) refer to auth_user.
        _run([PYTHON, "-m", "django", "migrate", "--noinput"], control_env)
        _run([PYTHON, "-m", "django", "migrate", "--run-syncdb", "--noinput"], control_env)
        _run([PYTHON, "bench/control/seed.py", USERNAME, PASSWORD], control_env)
        ecar = App("ECAR", ecar_env, ["config.wsgi:application"], folder / "ecar.log")
        control = App("control", control_env, ["control.wsgi:application"], folder / "ctl.log")
        apps = [ecar, control]
        for app in apps:
            app.start()
        tokens = {ecar: ecar.login(USERNAME, _totp_now()), control: control.login(USERNAME)}
        paths: dict[App, dict] = {}
        for app in apps:
            first = app.get_json("/api/customers/", tokens[app])["results"][0]["id"]
            paths[app] = {label: path.format(customer=first) for label, path in ENDPOINTS}
        for label in ("customers list", "vehicles list", "service-orders list"):
            # The same rows on both sides: same count, same page, same JSON keys.
            bodies = [app.get_json(paths[app][label], tokens[app]) for app in apps]
            assert bodies[0]["count"] == bodies[1]["count"], label
            assert len(bodies[0]["results"]) == len(bodies[1]["results"]) == 20, label
            assert bodies[0]["results"][0].keys() == bodies[1]["results"][0].keys(), label
        assert (
            app.get_json(paths[app]["customer detail"], tokens[app]).keys()
            == apps[0].get_json(paths[apps[0]]["customer detail"], tokens[apps[0]]).keys()
        )
        print()
        rss_before = {app: sum(_rss(pid) for pid in app.workers()) for app in apps}
        _compare(ecar, control, tokens, paths)
        for app in apps:
            after = sum(_rss(pid) for pid in app.workers())
            print(
                f"{app.name} workers' RSS: {rss_before[app] / 1e6:.0f} MB after the first "
                f"requests, {after / 1e6:.0f} MB after the run (max_requests recycles none)"
            )
        print()
        exporter = ["--exporter", EXPORTER, PASSWORD, str(EXPORT_ORDERS)]
        _run([PYTHON, "bench/seed_ecar.py", *exporter], ecar_env)
        _export_rss(ecar)
    finally:
        for app in apps:
            app.stop()
        for name in names.values():
            _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\ntotal time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
