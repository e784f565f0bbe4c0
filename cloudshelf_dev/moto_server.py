"""An embedded moto server (DynamoDB, Cognito) on loopback, one request at a time.

moto's backends are not safe under concurrent requests (a TransactWriteItems can
oversell, dicts change size during iteration), so every request runs under one lock.
The HTTP server itself is threaded, so slow clients never block each other's sockets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import requests

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _locked(app: WSGIApp) -> WSGIApp:
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]  # consume the whole response while holding the lock
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return serve


class LockedMotoServer:
    """moto's WSGI application behind a lock, served on ``host:port`` (0: a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call is noise
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port, _locked(app), threaded=True, request_handler=MotoRequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:5123``."""
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> LockedMotoServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        return self

    def reset(self) -> None:
        """Forget every table, item and user pool."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
