"""A fake ukd for the CLI's unit tests: serves canned answers on a unix socket and records requests."""
import json
import os
import re
import socketserver
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return "%s %s %s" % (self.method, self.path, self.query)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            out = b""
            while True:
                line = self.rfile.readline()
                n = int(line.strip().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        req = Request(self.command, urllib.parse.unquote(u.path), q, dict(self.headers),
                      self._read_body())
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(req)
            route = None
            for r in fake.routes:
                if r[0] == self.command and re.fullmatch(r[1], req.path):
                    route = r
                    break
        if route is None:
            return self.reply(404, {"message": "no route %s %s" % (self.command, req.path),
                                    "code": "not_found"})
        route[2](req, self)

    do_GET = do_POST = do_DELETE = do_PUT = _handle

    # answers

    def reply(self, status, body=None, ctype="application/json"):
        if body is None:
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
            if ctype == "application/json":
                ctype = "text/plain"
        else:
            data = json.dumps(body).encode()
        try:
            self.send_response(status)
            if data or status not in (204, 304):
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a test of giving up)
        self.close_connection = True

    def stream(self, pieces, delay=0.0, status=200, ctype="application/json", until=None):
        """Chunked answer: each piece (bytes, str, or a JSON-able object + newline)."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for p in pieces:
                if isinstance(p, str):
                    p = p.encode()
                elif not isinstance(p, bytes):
                    p = (json.dumps(p) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
                self.wfile.flush()
                if delay:
                    time.sleep(delay)
            if until is not None:
                until.wait(30)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True


class FakeUkd:
    def __init__(self, sock):
        self.sock = sock
        self.routes = []
        self.requests = []
        self.lock = threading.Lock()
        if os.path.exists(sock):
            os.unlink(sock)
        self.server = Server(sock, Handler)
        self.server.fake = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.routes = []
            self.requests = []

    def on(self, method, pattern, fn=None, status=200, body=None):
        """Route (method, path regex) to fn(req, handler), or to a fixed answer."""
        if fn is None:
            def fn(req, h, status=status, body=body):
                h.reply(status, body)
        with self.lock:
            self.routes.append((method, pattern, fn))

    def find(self, method, pattern):
        with self.lock:
            return [r for r in self.requests
                    if r.method == method and re.fullmatch(pattern, r.path)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
