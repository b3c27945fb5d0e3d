"""`aimarket run` on a port of its own: its emails' links name that port, and a client
cannot step around the login limit by claiming another address in X-Forwarded-For."""

from __future__ import annotations

import email
import email.policy
import os
from pathlib import Path

import httpx

from tests.e2e.test_make_run import aimarket_run


def test_links_name_the_port_the_server_listens_on_and_forwarded_for_is_not_believed(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "AIMARKET_DATA_DIR": str(tmp_path / "var"),
        "AIMARKET_LOGIN_ATTEMPTS_PER_CLIENT_PER_MINUTE": "3",
    }
    env.pop("AIMARKET_PUBLIC_BASE_URL", None)
    env.pop("AIMARKET_TRUSTED_PROXIES", None)
    with aimarket_run(env, "--host", "0.0.0.0") as server:
        base, port = server.base, server.base.rsplit(":", 1)[1]
        body = {"email": "links@example.com", "password": "a long passphrase"}
        assert httpx.post(f"{base}/v1/auth/register", json=body).status_code == 201
        [sent] = (tmp_path / "var" / "outbox").glob("*.eml")
        message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
        assert f"POST http://127.0.0.1:{port}/v1/auth/verify-email" in str(message.get_content())

        statuses = [
            httpx.post(
                f"{base}/v1/auth/login",
                json={"email": f"spray{n}@example.com", "password": "wrong guess"},
                headers={"X-Forwarded-For": f"192.0.2.{n}"},
            ).status_code
            for n in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
    assert f"links name: http://127.0.0.1:{port}" in server.output
