"""The viewer's local HTTP server: the page, three.js, and the scene's files.

Binds 127.0.0.1 only (port 0 picks a free one). Routes:

- ``/`` (``index.html``) and the page's own files: ``web/`` of this package, three.js
  included (``web/vendor/three``, bundled at build time); nothing outside ``web/``.
- ``scene.json``: :meth:`Scene.document`.
- ``asset.glb``, ``high.glb``: the meshes, converted to GLB on first request.
- ``views/<k>``: view ``k``'s image. ``report``: the output folder's report.

A request that fails (a mesh that cannot be converted) answers 422 with the one-line
error as text; the page shows it, and ``log`` gets it too.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..core.errors import NormalkitError
from .scene import Scene

__all__ = ["HOST", "WEB_ROOT", "ViewerServer", "missing_bundle"]

HOST = "127.0.0.1"
WEB_ROOT = Path(__file__).resolve().parent / "web"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".json": "application/json",
          ".glb": "model/gltf-binary"}


def missing_bundle() -> str | None:
    """Why the page cannot work from this install (three.js not bundled), or None."""
    if (WEB_ROOT / "vendor" / "three" / "build" / "three.module.js").is_file():
        return None
    return ("three.js is not bundled into this normalkit install (web/vendor is missing); "
            "reinstall it (`pip install .` bundles it, which needs npm), or install a wheel")


class ViewerServer:
    """Serve ``scene`` on ``http://127.0.0.1:PORT/`` from a background thread.

    Use as a context manager, or call :meth:`close`. ``url`` is the page's address.

    Raises
    ------
    NormalkitError
        The port is taken or not allowed, or three.js is not bundled (:func:`missing_bundle`).
    """

    def __init__(self, scene: Scene, port: int = 0, log=None):
        why = missing_bundle()
        if why:
            raise NormalkitError(why)
        if not (isinstance(port, int) and 0 <= port <= 65535):
            raise NormalkitError(f"--port must be 0 (any free port) to 65535, got {port!r}")
        self.scene = scene
        self.log = log or (lambda msg: None)
        handler = type("Handler", (_Handler,), {"scene": scene,
                                                  "log": staticmethod(self.log)})
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), handler)
        except OSError as exc:
            raise NormalkitError(f"cannot serve on {HOST}:{port}: {exc.strerror or exc}; "
                                 "choose another --port, or 0 for any free one") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="normalkit-view")
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ViewerServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    scene: Scene
    log = staticmethod(lambda msg: None)
    server_version = "normalkit-view"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # no line per request

    def do_GET(self):  # noqa: N802 - http.server's name
        path = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        try:
            body, kind = self._route(path)
        except KeyError:
            return self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
        except (NormalkitError, OSError) as exc:
            self.log(f"normalkit: error: {exc}")
            return self._send(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc).encode(), "text/plain")
        self._send(HTTPStatus.OK, body, kind)

    def _route(self, path: str) -> tuple[bytes, str]:
        s = self.scene
        if path == "scene.json":
            return json.dumps(s.document()).encode(), _TYPES[".json"]
        if path in ("asset.glb", "high.glb"):
            return s.glb(path[:-4]), _TYPES[".glb"]
        if path.startswith("views/") and path[6:].isdigit():
            k = int(path[6:])
            if k >= len(s.views):
                raise KeyError(path)
            return s.image(k)
        if path == "report" and s.report is not None:
            return s.report.read_bytes(), _TYPES.get(s.report.suffix, "text/plain")
        target = (WEB_ROOT / path).resolve()
        if WEB_ROOT not in target.parents or not target.is_file():
            raise KeyError(path)
        kind = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
        return target.read_bytes(), kind or "application/octet-stream"

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away
