"""nginx's rate limits as deploy/nginx/ecar.conf defines them, run by a real nginx.

The http-level definitions (maps and zones) and the `limit_req` lines of `location /` are taken
from the deployed file unchanged; the proxy is replaced by nginx's built-in 1x1 GIF (a bare
`return` would answer before the rate limits run).
"""

import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "ecar.conf"


def _deployed_rules() -> tuple[str, str]:
    """The http-level rate-limit definitions and the limit_req lines of `location /`."""
    text = CONF.read_text()
    http_level = text[: text.index("\nserver {")]
    definitions = re.findall(r"^(?:map .*?^\}|limit_req_zone .*?;)", http_level, re.M | re.S)
    # `location /` of the HTTPS server (the one on port 80 only redirects).
    [location] = [
        block
        for block in re.findall(r"^    location / \{(.*?)^    \}", text, re.M | re.S)
        if "limit_req" in block
    ]
    limits = "\n".join(re.findall(r"^\s*limit_req zone=.*;$", location, re.M))
    assert definitions and limits
    return "\n".join(definitions), limits


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def nginx(tmp_path):
    binary = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (apt-get install nginx)")
        pytest.skip("nginx is not installed")
    definitions, limits = _deployed_rules()
    port = _free_port()
    (tmp_path / "nginx.conf").write_text(
        f"""
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
{definitions}
    server {{
        listen 127.0.0.1:{port};
        limit_req_status 429;
        location / {{
{limits}
            empty_gif;
        }}
    }}
}}
"""
    )
    process = subprocess.Popen(  # noqa: S603 - a fixed binary and a generated config
        [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"nginx did not start: {process.stderr.read().decode()}")
            time.sleep(0.05)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _token(signature: str) -> str:
    """A JWT-shaped bearer token (nginx only keys on its shape, the app checks it)."""
    return f"eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.{signature}"


def _statuses(port: int, count: int, authorization=None, *, until: int = 0) -> list[int]:
    """Send `count` requests over one keep-alive connection, as fast as possible.

    `authorization` is the header's value, or a function giving one for each request; stop
    early at the first response with status `until`.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    statuses = []
    for _ in range(count):
        value = authorization() if callable(authorization) else authorization
        headers = {"Authorization": value} if value else {}
        connection.request("GET", "/api/customers/", headers=headers)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        if response.status == until:
            break
    connection.close()
    return statuses


def test_each_token_has_its_own_budget_behind_one_address(nginx):
    first = _statuses(nginx, 30, f"Bearer {_token('a' * 43)}")
    # burst 20 with nodelay: 21 at once (one more may have refilled at 10 r/s), then 429.
    assert first[:21] == [200] * 21
    assert first.count(200) <= 23 and first[-1] == 429
    # Another user behind the same NAT address is not affected.
    assert _statuses(nginx, 21, f"Bearer {_token('b' * 43)}") == [200] * 21


def test_anonymous_clients_share_the_per_address_budget(nginx):
    statuses = _statuses(nginx, 50)
    assert statuses[:41] == [200] * 41
    assert statuses[-1] == 429
    # A signed-in client at the same address still has its own budget.
    assert _statuses(nginx, 5, f"Bearer {_token('c' * 43)}") == [200] * 5


def test_a_header_that_is_not_a_bearer_token_counts_as_anonymous(nginx):
    assert _statuses(nginx, 41, "Basic dXNlcjpwYXNz")[:41] == [200] * 41
    assert _statuses(nginx, 5, "Basic dXNlcjpwYXNz")[-1] == 429


def test_a_new_token_per_request_still_meets_the_address_ceiling(nginx):
    statuses = _statuses(
        nginx, 5000, lambda: f"Bearer {_token(secrets.token_urlsafe(32))}", until=429
    )
    # ecar_ip: burst 400 with nodelay, refilled at 200 r/s while the requests are sent.
    assert statuses[:401] == [200] * 401
    assert statuses[-1] == 429
