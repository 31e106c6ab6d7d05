#!/usr/bin/python3
"""How many slow connections it takes before a normal client of `nmt serve` waits, and how long.

Each slow connection holds one of the server's HTTP worker threads (serve.threads) while it sends
its request head. Two kinds: "idle" connections send half a request line and then nothing (the
worker gives up after the 5 s read time-out), "trickling" ones send one byte every --trickle
seconds (each read succeeds, so the worker stays). For each count in --counts the script opens
that many slow connections, then times one normal request on a new connection (the whole answer,
with --timeout as its limit), and closes them all. All traffic goes to 127.0.0.1.

    python3 bench/slow_clients.py --url http://127.0.0.1:5000 --threads 256 --counts 250,256,300
"""
import argparse
import json
import socket
import threading
import time
import urllib.request


def normal_request(url, timeout):
    """Seconds until a one-sentence POST /translate is answered, or None after `timeout`."""
    body = json.dumps({"q": "ein hund ."}).encode()
    request = urllib.request.Request(url + "/translate", body, {"Content-Type": "application/json"})
    start = time.monotonic()
    try:
        urllib.request.urlopen(request, timeout=timeout).read()
    except Exception:
        return None
    return time.monotonic() - start


def slow_connections(host, port, count, trickle, stop):
    sockets = []
    for _ in range(count):
        s = socket.create_connection((host, port))
        s.sendall(b"POST /translate HTTP/1.1\r\nHost: x\r\n")
        sockets.append(s)

    def keep_trickling():
        while not stop.wait(trickle):
            for s in sockets:
                try:
                    s.sendall(b"X")  # one more byte of a header line that never ends
                except OSError:
                    pass

    thread = threading.Thread(target=keep_trickling, daemon=True) if trickle else None
    if thread:
        thread.start()
    return sockets, thread


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of a running nmt serve (loopback only)")
    parser.add_argument("--counts", default="0,128,255,256,300")
    parser.add_argument("--trickle", type=float, default=2.0, help="seconds between the bytes of a trickling client")
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args()
    host, port = args.url.split("//")[1].split(":")
    if host not in ("127.0.0.1", "localhost"):
        parser.error("only loopback addresses")
    for kind in ("idle", "trickling"):
        for count in [int(c) for c in args.counts.split(",")]:
            stop = threading.Event()
            sockets, thread = slow_connections(host, int(port), count, args.trickle if kind == "trickling" else 0, stop)
            time.sleep(0.5)  # the workers pick the slow connections up first
            waited = normal_request(args.url, args.timeout)
            stop.set()
            if thread:
                thread.join()
            for s in sockets:
                s.close()
            print(json.dumps({"slow connections": count, "kind": kind,
                              "normal request seconds": round(waited, 3) if waited is not None else
                              "no answer within %g s" % args.timeout}), flush=True)
            time.sleep(6)  # the server drops what is left of the slow connections


if __name__ == "__main__":
    main()
