"""The local web server of a listening session: the page, its script and style, the versions'
audio and the JSON API (documented in the README, "Tune").

    GET  /                      the page          GET /static/tune.js, /static/tune.css
    GET  /api/pair              the pair waiting for an answer
    POST /api/answer            {"pair": "p0001", "choice": "a"|"b"|"both"|"neither", "rating": 1-5?}
    GET  /api/state             favourite, certainty, history
    POST /api/save              writes the favourite into --out
    GET  /audio/vNNNN.wav       a version's passage (only files of the session's audio folder)

Every error is a JSON object {"error": "..."} with a 4xx status, and changes nothing.
Standard library only (http.server); one thread per request, the session serialises its work.
"""
from __future__ import annotations

import errno
import json
import os
import queue
import re
import socket
import threading
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from producer.errors import InputError, ProducerError
from producer.tune.session import SessionError, TuneSession

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
                "/index.html": ("index.html", "text/html; charset=utf-8"),
                "/static/tune.js": ("tune.js", "text/javascript; charset=utf-8"),
                "/static/tune.css": ("tune.css", "text/css; charset=utf-8")}
AUDIO_PATH = re.compile(r"^/audio/(v\d{4,6})\.wav$")
# An answer is a few dozen bytes; anything much larger is not one.
MAX_BODY_BYTES = 4096
DRAIN_BYTES = 1 << 20
ANSWER_FIELDS = {"pair", "choice", "rating"}


class TuneServer(ThreadingHTTPServer):
    """The HTTP server plus the thread that renders.

    DawDreamer renders only on the first thread that rendered in the process (another thread's
    render blocks for ever), so ``run()`` serves HTTP from a background thread and keeps the
    calling thread for the jobs the request threads hand it with ``call()``.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, address, session: TuneSession | None):
        self.session = session
        self._jobs: queue.Queue = queue.Queue()
        self._owner = threading.get_ident()
        self._stopping = threading.Event()
        if ":" in address[0]:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__(address, TuneHandler)

    def call(self, fn, *args):
        """Run ``fn(*args)`` on the thread that called ``run()`` and return its result."""
        if threading.get_ident() == self._owner:
            return fn(*args)
        future: Future = Future()
        self._jobs.put((fn, args, future))
        return future.result()

    def run(self) -> None:
        """Serve until ``stop()`` (from any thread) or Ctrl-C (KeyboardInterrupt propagates)."""
        self._owner = threading.get_ident()
        http_thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        http_thread.start()
        try:
            while not self._stopping.is_set():
                try:
                    fn, args, future = self._jobs.get(timeout=0.05)
                except queue.Empty:
                    # Idle while the listener listens: render the next pair's challengers ahead,
                    # one at a time so a request waits at most for one render.
                    if self.session is not None:
                        try:
                            self.session.prepare_next()
                        except Exception:  # a failed guess costs nothing: the answer renders it again
                            pass
                    continue
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(fn(*args))
                except Exception as exc:  # handed to the request that asked
                    future.set_exception(exc)
                except BaseException:
                    future.set_exception(SessionError("the session is stopping", status=503))
                    raise
        finally:
            self.shutdown()
            http_thread.join()
            while not self._jobs.empty():
                _, _, future = self._jobs.get_nowait()
                if future.set_running_or_notify_cancel():
                    future.set_exception(SessionError("the session is stopping", status=503))

    def stop(self) -> None:
        self._stopping.set()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


def make_server(session: TuneSession, *, host: str = "127.0.0.1", port: int = 0) -> TuneServer:
    """Bind (not yet serve). Port 0 takes any free port. InputError when the port is taken or the
    host cannot be bound."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise InputError(f"--port {port!r}: expected 0-65535")
    try:
        return TuneServer((host, port), session)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"--port {port}: {host}:{port} is already in use (choose another port, or 0 for a free one)") from None
        raise InputError(f"--host {host}: cannot listen there ({exc.strerror or exc})") from None


class TuneHandler(BaseHTTPRequestHandler):
    server: TuneServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # the terminal shows the session, not every request
        pass

    # --- replies ---------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(status, (json.dumps(data) + "\n").encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    # --- routes ------------------------------------------------------------------------------
    def do_GET(self):
        path = urlsplit(self.path).path
        try:
            if path in STATIC_FILES:
                name, ctype = STATIC_FILES[path]
                self._send(200, (STATIC / name).read_bytes(), ctype)
            elif path == "/api/pair":
                self._json(200, self.server.session.pair())
            elif path == "/api/state":
                self._json(200, self.server.session.state())
            elif path.startswith("/audio/"):
                self._audio(path)
            elif path.startswith("/api/"):
                self._error(404, f"no such API endpoint: GET {path} (see /api/pair, /api/state)")
            else:
                self._error(404, f"not found: {path}")
        except SessionError as exc:
            self._error(exc.status, str(exc))

    do_HEAD = do_GET

    def do_POST(self):
        path = urlsplit(self.path).path
        if path not in ("/api/answer", "/api/save"):
            self._error(404, f"no such API endpoint: POST {path} (see /api/answer, /api/save)")
            return
        body = self._read_body()
        if body is None:
            return
        try:
            if path == "/api/answer":
                data = self._parse_answer(body)
                if data is None:
                    return
                self._json(200, self.server.session.answer(data["pair"], data["choice"], data.get("rating")))
            else:
                if body.strip() not in (b"", b"{}"):
                    self._error(400, "/api/save takes no body (or {})")
                    return
                self._json(200, self.server.session.save())
        except SessionError as exc:
            self._error(exc.status, str(exc))
        except ProducerError as exc:  # e.g. --out cannot be written: the session goes on
            self._error(409, str(exc))

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self._error(411, "send the body with a Content-Length (no chunked encoding)")
            self.close_connection = True
            return None
        if length is None:
            return b""
        if not length.isdigit():
            self._error(400, f"Content-Length {length!r} is not a number")
            self.close_connection = True
            return None
        if int(length) > MAX_BODY_BYTES:
            # Drain a moderate body so the client reads our answer, not a reset; beyond that,
            # close the connection rather than read what a client insists on sending.
            if int(length) <= DRAIN_BYTES:
                self.rfile.read(int(length))
            self._error(413, f"request body of {length} bytes is over the limit of {MAX_BODY_BYTES}")
            self.close_connection = True
            return None
        return self.rfile.read(int(length))

    def _parse_answer(self, body: bytes) -> dict | None:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._error(400, f"body is not valid JSON ({exc})")
            return None
        if not isinstance(data, dict):
            self._error(400, 'body must be a JSON object like {"pair": "p0001", "choice": "a"}')
            return None
        unknown = sorted(set(data) - ANSWER_FIELDS)
        if unknown:
            self._error(400, f"unknown field {unknown[0]!r} (fields: pair, choice, rating)")
            return None
        for key in ("pair", "choice"):
            if key not in data:
                self._error(400, f"missing field {key!r}")
                return None
        return data

    def _audio(self, path: str) -> None:
        m = AUDIO_PATH.match(unquote(path))
        if m is None:
            self._error(404, f"not found: {path} (audio is /audio/vNNNN.wav)")
            return
        session = self.server.session
        file = session.audio_path(m.group(1))
        folder = os.path.realpath(session.folder)
        real = os.path.realpath(file)
        if os.path.commonpath([folder, real]) != folder or not os.path.isfile(real):
            self._error(404, f"no audio for version {m.group(1)!r} in this session")
            return
        data = Path(real).read_bytes()
        rng = self.headers.get("Range")
        # Browsers ask for byte ranges to seek; answer them so the players can scrub.
        r = re.match(r"^bytes=(\d*)-(\d*)$", rng or "")
        if r and (r.group(1) or r.group(2)):
            if r.group(1):
                start = int(r.group(1))
                end = min(int(r.group(2)) if r.group(2) else len(data) - 1, len(data) - 1)
            else:
                start, end = max(0, len(data) - int(r.group(2))), len(data) - 1
            if start > end or start >= len(data):
                self._send(416, b"", "audio/wav", {"Content-Range": f"bytes */{len(data)}"})
                return
            self._send(206, data[start : end + 1], "audio/wav",
                       {"Content-Range": f"bytes {start}-{end}/{len(data)}", "Accept-Ranges": "bytes"})
        else:
            self._send(200, data, "audio/wav", {"Accept-Ranges": "bytes"})

