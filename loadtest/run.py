"""`make loadtest`: 100 concurrent clients for 60 s against gunicorn with production settings.

Everything runs on private servers started here (PostgreSQL from initdb, redis-server, gunicorn,
each on a free port) and removed at the end; the shared ones are never touched. During the run
PostgreSQL is stopped and restarted, then Redis. At the end the run is checked and the figures
printed; the exit status is 1 when a check fails:

- no 5xx other than 503 JSON (with Retry-After) while a server is down or within 10 s after;
- the API is back within 10 s of each server's restart;
- while Redis is down, what needs no cache still answers 2xx;
- rate limits exact: per username, per client IP and per user for the export;
- no partial write: every booking answered 201 exists whole, slot counters match bookings;
- no traceback in gunicorn's log.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.tests.servers import (  # noqa: E402
    PrivatePostgres,
    PrivateRedis,
    free_port,
    wait_for_port,
)

PYTHON = sys.executable
DEMO_PASSWORD = "Demo-Garage#2026"
USERS = ["admin", "tech1", "tech2", "tech3"] + [f"customer{n:02d}" for n in range(1, 21)]
# The limits of this run (the environment sets them). Each login attempt under a limit costs an
# Argon2id hash, so the per-IP limit is lowered from its default (20) to keep the bursts short.
LOGIN_RATE_PER_USERNAME = 5
LOGIN_RATE_PER_IP = 10
EXPORT_RATE = 10
RECOVERY_SECONDS = 10
CACHE_FREE = ("orders", "vehicles", "vehicle", "protected")


@dataclass
class Result:
    t: float  # when the request was sent, in seconds from the start
    op: str
    status: int
    seconds: float
    json_body: bool = True
    retry_after: str | None = None
    code: str | None = None


@dataclass
class Run:
    started: float = field(default_factory=time.monotonic)
    results: list[Result] = field(default_factory=list)
    outages: dict = field(default_factory=dict)  # name -> [stopped_at, started_at]
    probes: dict = field(default_factory=dict)
    booked: list[int] = field(default_factory=list)
    # Sessions run until the disruptions are over and the recovery has been watched.
    end_at: float = float("inf")
    last_appointment: int = 0

    def now(self) -> float:
        return time.monotonic() - self.started


def production_env(tmp: Path, database_url: str, redis_url: str) -> dict:
    """The environment of a production deployment (secrets generated for this run)."""

    def key(*args):
        return subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", "generate_encryption_key", *args],
            cwd=ROOT, check=True, capture_output=True, text=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
                 "ECAR_SECRETS_DIR": str(tmp / "secrets")},
        ).stdout.strip()  # fmt: skip

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "LOGIN_RATE_PER_USERNAME": f"{LOGIN_RATE_PER_USERNAME}/10m",
        "LOGIN_RATE_PER_IP": f"{LOGIN_RATE_PER_IP}/10m",
        "EXPORT_RATE": f"{EXPORT_RATE}/h",
        "FIELD_ENCRYPTION_KEYS": key("--id", "k1"),
        "BLIND_INDEX_KEY": key("--kind", "index"),
        "AUDIT_SEAL_KEY": key("--kind", "index"),
        "MEDIA_ROOT": str(tmp / "media"),
        "STATIC_ROOT": str(tmp / "static"),
        "ERASURE_LEDGER_PATH": str(tmp / "erasure-ledger.jsonl"),
        "ECAR_SECRETS_DIR": str(tmp / "secrets"),
    }


def manage(env: dict, *args: str, settings: str | None = None) -> str:
    run_env = {**env, "DJANGO_SETTINGS_MODULE": settings} if settings else env
    done = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], cwd=ROOT, env=run_env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


# App users stay signed in (access tokens live an hour): most sessions start with a token
# issued before the run, one customer session in LOGIN_EVERY logs in through the API (Argon2id,
# as in production). Staff sign in with a TOTP code, which this run does not type: their tokens
# are issued as after a second factor, and their sessions never log in through the API.
LOGIN_EVERY = 5
TOKENS = """
import json
from accounts.models import User
from accounts.tokens import token_pair
from garage.models import Appointment
last = Appointment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
tokens = {u.username: token_pair(u, mfa=u.is_staff_role)["access"] for u in User.objects.all()}
print(json.dumps({"tokens": tokens, "last_appointment": last}))
"""


class Api:
    """One simulated app user: its own client address (X-Forwarded-For, as nginx sets it)."""

    def __init__(self, run: Run, base: str, ip: str):
        self.run = run
        self.ip = ip
        self.client = httpx.AsyncClient(
            base_url=base,
            timeout=60,
            headers={"Host": "localhost", "X-Forwarded-Proto": "https", "X-Forwarded-For": ip},
        )
        self.token = None

    async def call(self, op: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        sent_at, begun = self.run.now(), time.monotonic()
        try:
            response = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            self.run.results.append(Result(sent_at, op, 0, time.monotonic() - begun))
            print(f"  transport error on {op}: {type(exc).__name__}", file=sys.stderr)
            return None
        is_json = response.headers.get("content-type", "").startswith("application/json")
        code = response.json().get("code") if is_json and response.status_code >= 400 else None
        self.run.results.append(
            Result(
                t=sent_at,
                op=op,
                status=response.status_code,
                seconds=time.monotonic() - begun,
                json_body=is_json,
                retry_after=response.headers.get("retry-after"),
                code=code,
            )
        )
        return response

    async def login(self, username: str, password: str = DEMO_PASSWORD):
        response = await self.call(
            "login", "POST", "/api/login/", json={"username": username, "password": password}
        )
        if response is not None and response.status_code == 200:
            self.token = response.json()["access"]
        return response


async def user_session(
    run: Run, base: str, number: int, rng: random.Random, tokens: dict
):
    """Log in (or use a token), then a mix of reads, bookings and downloads until the end."""
    api = Api(run, base, f"10.1.{number // 250}.{number % 250 + 1}")
    username = USERS[number % len(USERS)]
    if number % LOGIN_EVERY or not username.startswith("customer"):
        api.token = tokens[username]
    await asyncio.sleep(rng.uniform(0, 5))  # users arrive over the first seconds
    while api.token is None and run.now() < run.end_at:
        if (await api.login(username)) is None or api.token is None:
            await asyncio.sleep(1)
    is_customer = username.startswith("customer")
    vehicles, invoices, services = [], [], []
    while run.now() < run.end_at:
        if not vehicles and is_customer:
            response = await api.call("vehicles", "GET", "/api/vehicles/")
            if response is not None and response.status_code == 200:
                vehicles = [v["id"] for v in response.json()["results"]]
            response = await api.call("invoices", "GET", "/api/invoices/")
            if response is not None and response.status_code == 200:
                invoices = [i["id"] for i in response.json()["results"]]
            response = await api.call("services", "GET", "/api/services/")
            if response is not None and response.status_code == 200:
                services = [s["id"] for s in response.json()["results"]]
        choice = rng.random()
        if choice < 0.25:
            await api.call("orders", "GET", "/api/service-orders/")
        elif choice < 0.45:
            await api.call("vehicles", "GET", "/api/vehicles/")
        elif choice < 0.6 and vehicles:
            await api.call("vehicle", "GET", f"/api/vehicles/{rng.choice(vehicles)}/")
        elif choice < 0.7:
            day = (time.gmtime(time.time() + 86400 * rng.randint(1, 20)))
            await api.call(
                "availability", "GET", "/api/appointments/availability/",
                params={"date": time.strftime("%Y-%m-%d", day)},
            )  # fmt: skip
        elif choice < 0.8 and vehicles and services:
            await book(api, rng, vehicles, services)
        elif choice < 0.9 and invoices:
            await api.call("invoice_pdf", "GET", f"/api/invoices/{rng.choice(invoices)}/pdf/")
        else:
            await api.call("protected", "GET", "/api/protected/")
        await asyncio.sleep(rng.uniform(0.05, 0.3))
    await api.client.aclose()


async def book(api: Api, rng: random.Random, vehicles: list, services: list):
    """Book a slot in the next weeks (Tunis opening hours); full slots are a normal 400."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    day = datetime.now(ZoneInfo("Africa/Tunis")).date() + timedelta(days=rng.randint(1, 30))
    if day.weekday() == 6:
        day += timedelta(days=1)
    start = datetime(
        day.year, day.month, day.day, rng.randint(8, 17), tzinfo=ZoneInfo("Africa/Tunis")
    )
    response = await api.call(
        "booking", "POST", "/api/appointments/",
        json={"vehicle": rng.choice(vehicles), "start": start.isoformat(),
              "services": [rng.choice(services)], "notes": "Entretien"},
    )  # fmt: skip
    if response is not None and response.status_code == 201:
        api.run.booked.append(response.json()["id"])


async def rate_limit_probes(run: Run, base: str):
    """Bursts against each limit, all requests at once: exactly the configured number pass."""
    one_ip = Api(run, base, "10.9.0.1")
    by_name = await asyncio.gather(
        *[one_ip.call("probe_user", "POST", "/api/login/",
                      json={"username": "probe-user", "password": "wrong"})
          for _ in range(LOGIN_RATE_PER_USERNAME + 3)]
    )  # fmt: skip
    other_ip = Api(run, base, "10.9.0.2")
    by_ip = await asyncio.gather(
        *[other_ip.call("probe_ip", "POST", "/api/login/",
                        json={"username": f"probe-{n}", "password": "wrong"})
          for n in range(LOGIN_RATE_PER_IP + 3)]
    )  # fmt: skip
    exporter = Api(run, base, "10.9.0.3")
    await exporter.login("customer20")
    exports = await asyncio.gather(
        *[
            exporter.call("export", "GET", "/api/download_user_data/")
            for _ in range(EXPORT_RATE + 5)
        ]
    )
    for name, responses, passed, limit in [
        ("login per username", by_name, 401, LOGIN_RATE_PER_USERNAME),
        ("login per IP", by_ip, 401, LOGIN_RATE_PER_IP),
        ("export per user", exports, 200, EXPORT_RATE),
    ]:
        statuses = Counter(r.status_code if r is not None else 0 for r in responses)
        run.probes[name] = {"limit": limit, "passed": statuses[passed], "429": statuses[429],
                            "sent": len(responses)}  # fmt: skip
    for api in (one_ip, other_ip, exporter):
        await api.client.aclose()


async def outage(run: Run, name: str, server, stop_at: float, down_for: float):
    await asyncio.sleep(max(0, stop_at - run.now()))
    stopped = run.now()  # the server refuses work from the moment it starts shutting down
    await asyncio.to_thread(server.stop)
    await asyncio.sleep(down_for)
    await asyncio.to_thread(server.start)
    run.outages[name] = [stopped, run.now()]
    print(f"  {name}: down {stopped:.1f} s → up {run.now():.1f} s")


async def drive(run: Run, base: str, args, pg, redis, tokens: dict):
    rng = random.Random(args.seed)  # noqa: S311 - load pattern, not secrets
    sessions = [
        user_session(run, base, n, random.Random(rng.random()), tokens)  # noqa: S311
        for n in range(args.clients - 1)
    ]

    async def disruptions():
        await asyncio.sleep(2)
        await rate_limit_probes(run, base)
        await outage(run, "postgresql", pg, args.duration * 0.3, 8)
        # Redis only once the database's recovery window is over: one outage at a time.
        redis_at = max(args.duration * 0.65, run.now() + RECOVERY_SECONDS + 2)
        await outage(run, "redis", redis, redis_at, 6)
        run.end_at = max(args.duration, run.now() + RECOVERY_SECONDS + 5)

    await asyncio.gather(*sessions, disruptions())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def check(run: Run, env: dict, gunicorn_log: Path) -> list[str]:
    problems = []
    windows = {name: (down, up + RECOVERY_SECONDS) for name, (down, up) in run.outages.items()}

    def in_window(r):
        # Queued requests are served some time between being sent and answered.
        return any(r.t <= end and r.t + r.seconds >= start for start, end in windows.values())

    transport = [r for r in run.results if r.status == 0]
    if transport:
        problems.append(f"{len(transport)} requests without an answer (timeouts, resets)")
    bad_5xx = [
        r for r in run.results if r.status >= 500 and not (r.status == 503 and in_window(r))
    ]
    if bad_5xx:
        where = Counter((r.op, r.status) for r in bad_5xx)
        problems.append(f"{len(bad_5xx)} 5xx outside the outages: {where}")
    bad_503 = [
        r
        for r in run.results
        if r.status == 503
        and not (r.json_body and r.retry_after and r.code == "service_unavailable")
    ]
    if bad_503:
        problems.append(f"{len(bad_503)} 503 without JSON, code or Retry-After")
    for name, (_down, up) in run.outages.items():
        late = [r.t - up for r in run.results if r.status == 503 and r.t > up]
        recovered = max(late, default=0.0)
        print(f"  {name}: last request answered 503 sent {recovered:.1f} s after the restart")
        if recovered > RECOVERY_SECONDS:
            problems.append(f"{name}: 503s until {recovered:.1f} s after the restart")
    down, up = run.outages.get("redis", (0, 0))
    cacheless = [r for r in run.results if down + 1 < r.t < up and r.op in CACHE_FREE]
    if not cacheless or any(r.status >= 500 for r in cacheless):
        statuses = Counter(r.status for r in cacheless)
        problems.append(f"without Redis, cache-free reads failed: {statuses}")
    for name, probe in run.probes.items():
        expected_passed = min(probe["limit"], probe["sent"])
        if probe["passed"] != expected_passed or probe["429"] != probe["sent"] - expected_passed:
            problems.append(f"rate limit {name}: {probe}")
    script = INTEGRITY_CHECK.replace("BOOKED", json.dumps(run.booked)).replace(
        "FIRST_PK", str(run.last_appointment)
    )
    integrity = json.loads(manage(env, "shell", "-v", "0", "-c", script))
    print(f"  bookings: {integrity}")
    if any(integrity[k] for k in ("missing", "unanswered", "slot_mismatches", "without_services")):
        problems.append(f"partial writes: {integrity}")
    log = gunicorn_log.read_text(errors="replace")
    if "Traceback" in log:
        problems.append(f"{log.count('Traceback')} tracebacks in gunicorn's log ({gunicorn_log})")
    return problems


INTEGRITY_CHECK = """
import json
from django.db.models import Count, Q
from garage.models import Appointment, AppointmentSlot
booked = set(BOOKED)
rows = set(Appointment.objects.filter(pk__gt=FIRST_PK).values_list("pk", flat=True))
slots = AppointmentSlot.objects.annotate(
    active=Count("appointments", filter=Q(appointments__status__in=Appointment.ACTIVE)))
print(json.dumps({
    "answered_201": len(booked),
    "missing": len(booked - rows),
    "unanswered": len(rows - booked),
    "slot_mismatches": sum(1 for s in slots if s.booked != s.active),
    "without_services": Appointment.objects.filter(services__isnull=True).count(),
}))
"""


def report(run: Run, duration: float):
    results = run.results
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
    print(f"{len(results)} requests in {duration:.0f} s ({len(results) / duration:.0f} req/s)")
    print(f"  statuses: {dict(sorted(Counter(r.status for r in results).items()))}")
    print(f"  {'operation':<14}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    by_op = defaultdict(list)
    for r in results:
        by_op[r.op].append(r)
    for op, rs in sorted(by_op.items()):
        ok = [r.seconds * 1000 for r in rs if r.status < 500]
        print(f"  {op:<14}{len(rs):>7}{percentile(ok, 50):>9.0f}{percentile(ok, 99):>9.0f}  "
              f"{dict(sorted(Counter(r.status for r in rs).items()))}")  # fmt: skip
    for name, (down, up) in run.outages.items():
        during = Counter(r.status for r in results if down <= r.t + r.seconds <= up)
        print(f"  answered while {name} was down: {dict(sorted(during.items()))}")
    for name, probe in run.probes.items():
        print(
            f"  rate limit {name}: {probe['passed']} passed, {probe['429']} answered 429, "
            f"of {probe['sent']} sent at once (limit {probe['limit']})"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    # Stopped from outside: still stop the private servers (the finally below).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    tmp = Path(tempfile.mkdtemp(prefix="ecar-loadtest-"))
    pg, redis = PrivatePostgres(), PrivateRedis()
    gunicorn = None
    try:
        pg.start()
        pg.createdb("ecar")
        redis.start()
        env = production_env(tmp, pg.url("ecar"), redis.url())
        print("migrating and seeding the private database…")
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", settings="config.settings.dev")
        before = json.loads(manage(env, "shell", "-v", "0", "-c", TOKENS))
        port = free_port()
        gunicorn_log = tmp / "gunicorn.log"
        with gunicorn_log.open("w") as log:
            gunicorn = subprocess.Popen(  # noqa: S603
                [PYTHON, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind",
                 f"127.0.0.1:{port}", "--access-logfile", "/dev/null", "config.wsgi:application"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for_port(port, up=True, timeout=60)
        print(f"gunicorn on 127.0.0.1:{port}; {args.clients} clients for {args.duration:.0f} s")
        run = Run(last_appointment=before["last_appointment"])
        asyncio.run(drive(run, f"http://127.0.0.1:{port}", args, pg, redis, before["tokens"]))
        duration = run.now()
        report(run, duration)
        problems = check(run, env, gunicorn_log)
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        redis.remove()
        pg.remove()
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nAll load-test checks passed.")


if __name__ == "__main__":
    main()
