"""deploy/nginx/ecar.conf and deploy/gunicorn.conf.py run for real, as a client meets them.

nginx (TLS, the repository's site file with only ports, paths and the certificate swapped) in
front of gunicorn (the repository's config, production settings, the test database).
"""

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from config.tests.production import production_env

HOST = "ecar.example.tn"
DEPLOY = Path(settings.BASE_DIR) / "deploy"

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

if not Path(NGINX).exists() and os.environ.get("CI") != "true":
    pytest.skip("nginx is not installed (CI installs it)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def render_site(tmp: Path, *, https: int, http_port: int, upstream: int, read_timeout=None):
    """The repository's site file with test ports, paths and certificate: nothing else changes."""
    cert, key = self_signed(tmp)
    tls = (DEPLOY / "nginx" / "ecar-tls.conf").read_text()
    (tmp / "ecar-tls.conf").write_text(re.sub(r"ssl_dhparam [^;]+;", "", tls))
    (tmp / "admin-allow.conf").write_text("")  # nobody is allowed: deny all
    site = (DEPLOY / "nginx" / "ecar.conf").read_text()
    replacements = {
        "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
        "listen 443 ssl http2 default_server;": (
            f"listen 127.0.0.1:{https} ssl http2 default_server;"
        ),
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "server 127.0.0.1:8001;": f"server 127.0.0.1:{upstream};",
        "/etc/nginx/snippets/ecar-tls.conf": str(tmp / "ecar-tls.conf"),
        "/etc/nginx/ecar-admin-allow.conf": str(tmp / "admin-allow.conf"),
        "/etc/letsencrypt/live/ecar.example.tn/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/ecar.example.tn/privkey.pem": str(key),
        "/var/log/nginx/": f"{tmp}/",
    }
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    site = re.sub(r"\n\s*listen \[::\][^;]*;", "", site)
    if read_timeout:
        site = site.replace("proxy_read_timeout 25s;", f"proxy_read_timeout {read_timeout};")
    (tmp / "ecar.conf").write_text(site)
    (tmp / "nginx.conf").write_text(
        f"""user root;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-main-error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/ecar.conf;
}}
"""
    )


class Nginx:
    def __init__(self, tmp: Path, upstream: int, read_timeout=None):
        self.tmp, self.https = tmp, free_port()
        render_site(
            tmp,
            https=self.https,
            http_port=free_port(),
            upstream=upstream,
            read_timeout=read_timeout,
        )
        conf = str(tmp / "nginx.conf")
        check = subprocess.run([NGINX, "-t", "-c", conf], capture_output=True, text=True)  # noqa: S603
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen([NGINX, "-c", conf, "-g", "daemon off;"])  # noqa: S603
        wait_for_port(self.https)

    def request(self, method, path, body=None, headers=None):
        context = ssl.create_default_context(cafile=str(self.tmp / "cert.pem"))
        connection = SniConnection("127.0.0.1", self.https, context=context, timeout=30)
        connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response, data

    def stop(self):
        self.process.send_signal(signal.SIGQUIT)
        self.process.wait(10)


class SniConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with the site's name as SNI (the catch-all server refuses others)."""

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=HOST)


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def database_url() -> str:
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory, django_db_setup, django_db_blocker):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("production settings need PostgreSQL (CI sets DATABASE_URL)")
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {
        **os.environ,
        **production_env(),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "ERASURE_LEDGER_PATH": str(tmp / "ledger.jsonl"),
        "MEDIA_ROOT": str(tmp / "media"),
        "GUNICORN_WORKERS": "1",
    }
    log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(DEPLOY / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "config.wsgi:application",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, 60)
    yield port, tmp / "gunicorn.log"
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    log.close()


@pytest.fixture(scope="module")
def site(gunicorn, tmp_path_factory):
    nginx = Nginx(tmp_path_factory.mktemp("nginx"), gunicorn[0])
    yield nginx
    nginx.stop()


def json_of(response, data) -> dict:
    assert response.getheader("Content-Type", "").startswith("application/json"), data[:200]
    return json.loads(data)


def test_nginx_body_limit_is_the_apps_upload_limit():
    site = (DEPLOY / "nginx" / "ecar.conf").read_text()
    limit = re.search(r"client_max_body_size (\d+)k;", site).group(1)

    assert int(limit) * 1024 == settings.API_MAX_UPLOAD_BYTES
    assert settings.API_MAX_UPLOAD_BYTES >= settings.DOCUMENT_MAX_BYTES


def test_a_body_over_nginx_limit_is_a_json_413(site):
    response, data = site.request(
        "POST",
        "/api/login/",
        body=b"x" * (settings.API_MAX_UPLOAD_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )

    assert response.status == 413
    assert json_of(response, data)["code"] == "request_too_large"


def test_a_3_mb_json_body_is_the_apps_json_413(site, gunicorn):
    response, data = site.request(
        "POST",
        "/api/login/",
        body=b'{"a": "' + b"x" * 3_000_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status == 413
    assert json_of(response, data)["code"] == "request_too_large"


def test_deep_json_through_nginx_is_a_400_without_error_logged(site, gunicorn):
    body = b"[" * 100_000 + b"]" * 100_000
    response, data = site.request(
        "POST", "/api/appointments/", body=body, headers={"Content-Type": "application/json"}
    )

    assert response.status in (400, 401)  # no token: the 401 may come first
    response, data = site.request(
        "POST", "/api/login/", body=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert json_of(response, data)["code"] == "invalid_json"
    assert "ERROR" not in gunicorn[1].read_text()
    assert "Traceback" not in gunicorn[1].read_text()


def test_admin_outside_the_allow_list_is_a_json_403(site):
    response, data = site.request("GET", "/admin/login/")

    assert response.status == 403
    assert json_of(response, data)["code"] == "forbidden"


def test_unknown_api_path_and_missing_slash_are_json_404(site):
    for method, path in [
        ("POST", "/api/no-such-thing/"),
        ("DELETE", "/api/nope/"),
        ("POST", "/api/login"),
    ]:
        response, data = site.request(method, path)
        assert response.status == 404, (method, path)
        assert json_of(response, data)["code"] == "not_found"


def test_one_csp_header_with_no_unsafe_inline(site):
    response, _ = site.request("GET", "/api/no-such-thing/")

    policies = [v for k, v in response.getheaders() if k.lower() == "content-security-policy"]
    assert response.status == 404
    assert len(policies) == 1
    assert "unsafe-inline" not in policies[0]
    assert "report-uri /api/csp-report/" in policies[0]
    assert response.getheader("Cache-Control") == "no-store"


def test_access_logs_hold_no_query_string(site, gunicorn):
    site.request("GET", "/api/health/?email=sami%40example.tn&phone=20123456")
    time.sleep(0.5)  # nginx writes its access log line after the response

    assert "/api/health/" in (site.tmp / "ecar.access.log").read_text()
    for log in (site.tmp / "ecar.access.log", gunicorn[1]):
        text = log.read_text()
        assert "sami" not in text and "20123456" not in text, log


def test_login_burst_gets_nginx_json_429(site):
    statuses = []
    for _ in range(25):  # the login location's burst is 20
        response, data = site.request(
            "POST", "/api/login/", body=b"{}", headers={"Content-Type": "application/json"}
        )
        statuses.append(response.status)
    last = json_of(response, data)

    assert 429 in statuses
    assert last["code"] == "rate_limited"


def test_app_down_is_a_json_502(tmp_path):
    nginx = Nginx(tmp_path, free_port())  # nothing listens upstream
    try:
        response, data = nginx.request("GET", "/api/health/")
    finally:
        nginx.stop()

    assert response.status == 502
    assert json_of(response, data)["code"] == "bad_gateway"


def test_app_too_slow_is_a_json_504(tmp_path):
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        nginx = Nginx(tmp_path, silent.getsockname()[1], read_timeout="1s")
        try:
            response, data = nginx.request("GET", "/api/health/")
        finally:
            nginx.stop()

    assert response.status == 504
    assert json_of(response, data)["code"] == "gateway_timeout"
