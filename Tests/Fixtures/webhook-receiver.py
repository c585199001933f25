#!/usr/bin/env python3
"""A webhook receiver for the integration tests.

Usage: webhook-receiver.py RECEIVED_FILE PORT_FILE
Listens on 127.0.0.1 on a free port (written to PORT_FILE once bound) and
appends every POST as one JSON line {"path": ..., "body": <parsed JSON>} to
RECEIVED_FILE. Answers 200 to everything it can parse, 400 otherwise.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

received_path, port_path = sys.argv[1], sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            self.send_response(400)
            self.end_headers()
            return
        with open(received_path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"path": self.path, "body": body}) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_path + ".tmp", "w", encoding="utf-8") as out:
    out.write(str(server.server_address[1]))
import os
os.rename(port_path + ".tmp", port_path)
server.serve_forever()
