"""gunicorn settings for ECAR in production (gunicorn 27).

Started by deploy/systemd/ecar.service:
    gunicorn -c deploy/gunicorn.conf.py config.wsgi:application
Check with:
    gunicorn --check-config -c deploy/gunicorn.conf.py config.wsgi:application
"""

import os

# --- Socket -----------------------------------------------------------------
# Loopback TCP rather than a unix socket: over a unix socket gunicorn gives
# Django an empty REMOTE_ADDR, so the app could not tell that X-Forwarded-For
# was set by nginx. Over TCP, REMOTE_ADDR is 127.0.0.1, the only address in
# TRUSTED_PROXIES (127.0.0.1/32). Keep in sync with "upstream ecar_app" in
# deploy/nginx/ecar.conf. Never bind a public address: nginx terminates TLS.
bind = ["127.0.0.1:8001"]
backlog = 2048


# --- Workers ----------------------------------------------------------------
def _cpu_count() -> int:
    """CPUs this process may run on (respects affinity/cpuset limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# One sync worker per CPU, plus one to cover the time a worker waits on
# PostgreSQL or Redis. Not gunicorn's usual 2 x CPUs + 1: PostgreSQL and Redis
# run on this host and need CPU time of their own, and the costly parts of a
# request (argon2, field decryption, JSON) are CPU-bound. Measure before
# changing it: deploy/README.md, "Sizing gunicorn".
workers = int(os.environ.get("GUNICORN_WORKERS") or _cpu_count() + 1)

# sync workers rather than gthread: nginx buffers whole requests (uploads
# included) and whole responses, so slow clients never hold a worker; the
# costly parts of a request (argon2 hashing, field encryption) are CPU-bound,
# where threads gain little under the GIL; and a worker serving one request
# at a time keeps PostgreSQL connections easy to size (one persistent
# connection per worker, config/settings/production.py).
worker_class = "sync"

# Heartbeat files on tmpfs (/run/ecar is the unit's RuntimeDirectory) rather
# than a disk-backed /tmp, where a slow disk can get workers killed.
worker_tmp_dir = "/run/ecar" if os.path.isdir("/run/ecar") else None

timeout = 30  # a worker silent for longer is killed and replaced
graceful_timeout = 30  # time to finish in-flight requests on stop/reload
# Keep-alive: a sync worker closes the connection after every response (it
# ignores this setting), and nginx's "upstream ecar_app" keeps no idle
# connection pool to match (no "keepalive" there, HTTP/1.0 to the upstream).
# Clients keep their connections to nginx (keepalive_timeout 65s there).
keepalive = 2

# Recycling workers costs a cold start (imports, key ring, connection) and
# the requests queued behind it: max_requests = 1000 meant ~20 restarts a
# minute under load. `make bench` shows little memory growth to contain (about
# 10 MB per worker over its whole run, caches warming), so a worker is only
# recycled after many requests, with a wide jitter so that two workers never
# restart together.
max_requests = 100_000
max_requests_jitter = 20_000

# --- Proxy trust ------------------------------------------------------------
# Only nginx on this host may set the scheme headers. With the single header
# below, wsgi.url_scheme is "https" only when nginx says so. (Django reads
# X-Forwarded-For itself, against TRUSTED_PROXIES.)
forwarded_allow_ips = "127.0.0.1"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# --- Request limits ---------------------------------------------------------
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# --- Logging ----------------------------------------------------------------
# Both to stdout/stderr, i.e. the journal. The access log has no query string
# (%(U)s is the path alone; %(r)s would include it), no user agent and no
# referrer: query strings may carry personal data. %(h)s would always be
# 127.0.0.1 behind nginx, so the client address is taken from X-Real-IP,
# which nginx overwrites on every request.
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%({x-real-ip}i)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

# --- Process ----------------------------------------------------------------
proc_name = "ecar"

# gunicorn >= 25.1 opens a control socket for gunicornc under
# $XDG_RUNTIME_DIR or ~/.gunicorn/ by default; not needed here (systemctl
# reload/restart manages the service), and $HOME is read-only under the unit.
# Same as --no-control-socket.
control_socket_disable = True
