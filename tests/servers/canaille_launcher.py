"""Run Canaille's SCIM server on 127.0.0.1 with a static client bearer token.

Runs with the python of the Canaille venv (``.venv-canaille``), never the project venv:
Canaille 0.3.6 pins ``scim2-models==0.9.0``. Usage::

    .venv-canaille/bin/python tests/servers/canaille_launcher.py --port P --token T

The configuration is pytest-iam's ``iam_configuration`` (memory database, test settings) plus
``CANAILLE_SCIM = {"ENABLE_SERVER": True}``. SCIM endpoints authenticate an OAuth bearer token
found in the database; a token whose ``subject`` is ``None`` is a client token and bypasses the
per-user permission checks, so one Client plus one long-lived Token is all it takes. The server is
pytest-iam's ``Server`` (wsgiref, one request at a time); it prints ``READY <url>`` once listening
and exits on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import threading
import uuid


def configuration(host: str, port: int) -> dict:
    from joserfc.jwk import JWKRegistry

    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    jwk = JWKRegistry.generate_key("RSA", 2048)
    jwk.ensure_kid()
    # The same dictionary as pytest_iam.iam_configuration, but SERVER_NAME is the address the
    # clients use (Flask 404s any request whose Host does not match SERVER_NAME).
    return {
        "TESTING": True,
        "ENV_FILE": None,
        "SECRET_KEY": str(uuid.uuid4()),
        "WTF_CSRF_ENABLED": False,
        "PREFERRED_URL_SCHEME": "http",
        "SERVER_NAME": f"{host}:{port}",
        "CANAILLE": {
            "DATABASE": "memory",
            "ENABLE_REGISTRATION": True,
            "JAVASCRIPT": False,
            "ACL": {"DEFAULT": {"PERMISSIONS": ["use_oidc", "manage_oidc"]}},
            "LOGGING": {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"canaille": {"class": "logging.NullHandler"}},
                "loggers": {"canaille": {"level": "WARNING", "handlers": ["canaille"]}},
            },
        },
        "CANAILLE_OIDC": {
            "DYNAMIC_CLIENT_REGISTRATION_OPEN": True,
            "ACTIVE_JWKS": [jwk.as_dict(private=True)],
        },
        "CANAILLE_SCIM": {"ENABLE_SERVER": True},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args()

    from canaille import create_app
    from canaille.app import models
    from canaille.backends import Backend
    from pytest_iam import Server

    app = create_app(config=configuration(args.host, args.port), env_file=None)
    server = Server(app, args.port, Backend.instance, logging=args.access_log)
    backend = Backend.instance
    with app.app_context():
        now = datetime.datetime.now(datetime.UTC)
        client = models.Client(
            client_id="scim-evidence-tests",
            client_secret=str(uuid.uuid4()),
            client_name="scim-evidence tests",
            client_id_issued_at=now,
            grant_types=["client_credentials"],
            response_types=["token"],
            token_endpoint_auth_method="client_secret_basic",
            scope=["openid"],
            redirect_uris=[f"http://{args.host}/unused"],
        )
        backend.save(client)
        token = models.Token(
            token_id=str(uuid.uuid4()),
            access_token=args.token,
            client=client,
            subject=None,
            type="access_token",
            refresh_token=str(uuid.uuid4()),
            scope=["openid"],
            issue_date=now,
            lifetime=10 * 365 * 24 * 3600,
            audience=[client],
        )
        backend.save(token)

    def stop(signum, frame):  # noqa: ARG001
        threading.Thread(target=server.httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"READY http://{args.host}:{args.port}/scim/v2", flush=True)
    with app.app_context():
        server.httpd.serve_forever()
    server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
