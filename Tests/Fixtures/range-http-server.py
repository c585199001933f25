#!/usr/bin/env python3
"""A file server with HTTP Range support, for the download tests.

Usage: range-http-server.py DIRECTORY PORT_FILE [--drop-after N] [--fail-first K]

Serves the files in DIRECTORY on 127.0.0.1 on a free port (written to PORT_FILE once bound),
answering `Range: bytes=N-` with 206 Partial Content (or 416 when N is past the end).
Every request is printed as one line: `GET /path range=<Range header or ->`.

Special paths:
  /norange/NAME       serves NAME whole (200), ignoring any Range header
  /redirect/K/NAME    redirects K times (302, relative Location) before serving NAME
  /elsewhere          redirects to file:///etc/passwd
  /status/CODE        answers with that status and no body

--drop-after N   the first file response sends its headers and only N bytes of the body, then
                 closes the connection (once)
--fail-first K   the first K requests are answered 503
"""
import argparse
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("directory")
parser.add_argument("port_file")
parser.add_argument("--drop-after", type=int, default=None)
parser.add_argument("--fail-first", type=int, default=0)
options = parser.parse_args()
root = os.path.realpath(options.directory)
state = {"drop": options.drop_after, "failures": options.fail_first}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        print(f"GET {self.path} range={self.headers.get('Range', '-')}", flush=True)
        with lock:
            failing = state["failures"] > 0
            if failing:
                state["failures"] -= 1
        if failing:
            return self.empty(503)
        parts = self.path.split("/")
        if self.path == "/elsewhere":
            return self.redirect("file:///etc/passwd")
        if len(parts) >= 3 and parts[1] == "status":
            return self.empty(int(parts[2]))
        if len(parts) >= 4 and parts[1] == "redirect":
            count, rest = int(parts[2]), "/".join(parts[3:])
            return self.redirect(f"/redirect/{count - 1}/{rest}" if count > 1 else f"/{rest}")
        if len(parts) >= 3 and parts[1] == "norange":
            return self.serve("/".join(parts[2:]), ranged=False)
        return self.serve(self.path.lstrip("/"), ranged=True)

    def serve(self, name, ranged):
        path = os.path.realpath(os.path.join(root, name))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            return self.empty(404)
        with open(path, "rb") as source:
            data = source.read()
        start = 0
        header = self.headers.get("Range")
        if ranged and header and header.startswith("bytes=") and header.endswith("-"):
            start = int(header[len("bytes="):-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with lock:
            drop, state["drop"] = state["drop"], None
        if drop is not None:
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def empty(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(options.port_file + ".tmp", "w", encoding="utf-8") as out:
    out.write(str(server.server_address[1]))
os.rename(options.port_file + ".tmp", options.port_file)
sys.stdout.flush()
server.serve_forever()
