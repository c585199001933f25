#!/usr/bin/env python3
"""Sends Varlink calls to the broker as whichever user runs it, and prints each reply's error.

usage: varlink-calls.py BROKER_SOCKET UPLOAD_SOCKET CALLS.json
CALLS.json is a list of {"method", "parameters", "more"?, "upload"?, "handOut"?}; "upload" calls go
to the upload socket with an open file attached (SCM_RIGHTS), as `hv iso add` sends them: the file
at "upload" when it is a path, opened read-only by whoever runs this, else an empty one. "handOut"
calls go to the upload socket alone and take the descriptor their reply brings (`hv console`,
`hv vnc`), which is closed at once; one that comes with an error reply is reported as the client
error "descriptor with an error". Prints a
JSON list of {"error": NAME or null, "reason": TEXT or null}, one per call, in order.
"""
import json
import os
import socket
import sys
import tempfile


def receive(connection):
    data = b""
    while not data.endswith(b"\0"):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return json.loads(data[:-1].split(b"\0")[0])


def hand_out(path, message):
    """Sends the call alone; returns the reply and whether a descriptor came with it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(300)
        connection.connect(path)
        try:
            connection.sendall(json.dumps(message).encode() + b"\0")
        except (BrokenPipeError, ConnectionResetError):
            # Refused at the door (a per-user or server bound): the server wrote why, then closed.
            return receive(connection), False
        data, descriptors, _, _ = socket.recv_fds(connection, 65536, 1)
        for descriptor in descriptors:
            os.close(descriptor)
        while not data.endswith(b"\0"):
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            data += chunk
        return json.loads(data[:-1]), bool(descriptors)


def call(path, message, descriptor=None):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(300)
        connection.connect(path)
        payload = json.dumps(message).encode() + b"\0"
        try:
            if descriptor is None:
                connection.sendall(payload)
            else:
                socket.send_fds(connection, [payload], [descriptor])
        except (BrokenPipeError, ConnectionResetError):
            # Refused at the door (a per-user or server bound): the server wrote why, then closed.
            pass
        return receive(connection)


def main():
    broker, upload, calls_path = sys.argv[1:4]
    with open(calls_path) as handle:
        calls = json.load(handle)
    results = []
    with tempfile.TemporaryFile() as empty:
        for item in calls:
            message = {"method": item["method"], "parameters": item.get("parameters", {})}
            if item.get("more"):
                message["more"] = True
            try:
                if item.get("handOut"):
                    reply, descriptor = hand_out(upload, message)
                    if descriptor and reply.get("error"):
                        raise ValueError("descriptor with an error: " + reply["error"])
                elif isinstance(item.get("upload"), str):
                    with open(item["upload"], "rb") as image:
                        reply = call(upload, message, image.fileno())
                elif item.get("upload"):
                    reply = call(upload, message, empty.fileno())
                else:
                    reply = call(broker, message)
                parameters = reply.get("parameters") or {}
                results.append({"error": reply.get("error"), "reason": parameters.get("reason")})
            except (OSError, ValueError) as failure:
                results.append({"error": "client: " + str(failure), "reason": None})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
