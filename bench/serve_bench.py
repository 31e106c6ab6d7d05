#!/usr/bin/python3
"""nmt serve under load, against `nmt translate` on the same sentences (one run, one machine).

The server (1 intra-op thread) and wrk (1 thread) are pinned to separate cores with taskset.
Measured: `nmt translate` sentences/s on the file and the time of one sentence alone; every
sentence sent once by --clients concurrent clients that open a new connection per request (as
urllib does), counting translations that differ from `nmt translate`'s apart from requests that
failed; wrk at each --ladder concurrency for --seconds, once with keep-alive connections and once
with a new connection per request (`Connection: close`): requests/s, p50/p90/p99, the answers by
status from /metrics, socket errors (lost requests) and the batch-size histogram; an overload of
--overload connections with a queue limit; peak RSS. Prints one JSON line per measurement, then a
summary that states every lost request.
"""
import argparse
import gzip
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NMT = os.path.join(ROOT, "build/nmt")


def read_lines(path, limit):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for _, line in zip(range(limit), f)]


def translate_seconds(model, path, core, extra=()):
    """`nmt translate` on `path`: (output lines, seconds of translation, model loading excluded)."""
    out = subprocess.run(["taskset", "-c", core, NMT, "--threads", "1", "translate", "--model", model, "--input", path,
                          *extra], capture_output=True, text=True, check=True)
    match = re.search(r"translated (\d+) lines in [0-9.]+ s \(([0-9.]+) lines/s", out.stderr)
    return out.stdout.splitlines(), int(match.group(1)) / float(match.group(2))


class Server:
    def __init__(self, model, core, sets):
        args = ["taskset", "-c", core, NMT, "--threads", "1", "serve", "--model", model, "--port", "0"]
        for s in sets:
            args += ["--set", s]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        for line in self.process.stdout:
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if match:
                self.port = int(match.group(1))
                break
        if not self.port:
            raise RuntimeError("the server did not start")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()
        for _ in range(600):
            try:
                if urllib.request.urlopen(self.url("/health"), timeout=2).status == 200:
                    return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the server never became ready")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def metrics(self):
        return urllib.request.urlopen(self.url("/metrics"), timeout=10).read().decode()

    def peak_rss_mb(self):
        with open("/proc/%d/status" % self.process.pid) as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) / 1024

    def translate(self, sentence, target):
        body = json.dumps({"q": sentence, "source": "auto", "target": target}).encode()
        request = urllib.request.Request(self.url("/translate"), body, {"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(request, timeout=120).read())["translatedText"]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def counter(metrics, name):
    return {m.group(1): float(m.group(2)) for m in re.finditer(name + r'\{(?:status|le)="([^"]+)"\} ([0-9.e+]+)', metrics)}


def batch_histogram(before, after):
    b, a = counter(before, "nmt_batch_sentences_bucket"), counter(after, "nmt_batch_sentences_bucket")
    return {le: int(a[le] - b.get(le, 0)) for le in a}


def wrk(server, connections, seconds, sentences_file, target, core, fresh_connections=False):
    env = dict(os.environ, SENTENCES=sentences_file, TARGET=target, CONNECTION_CLOSE="1" if fresh_connections else "")
    out = subprocess.run(["taskset", "-c", core, "wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                          "--timeout", "30s", "-s", os.path.join(ROOT, "bench/serve_post.lua"), server.url("/")],
                         capture_output=True, text=True, env=env, check=True).stdout

    def latency_ms(label):
        match = re.search(r"\s%s%%\s+([0-9.]+)(us|ms|s)" % label, out)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()))) if errors else {}
    return {"connections": connections, "mode": "new connection per request" if fresh_connections else "keep-alive",
            "requests_per_s": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
            "p50_ms": latency_ms("50"), "p90_ms": latency_ms("90"), "p99_ms": latency_ms("99"),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0, "socket_errors": socket_errors,
            "lost": sum(socket_errors.values())}


def main():
    global NMT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--sentences", default=os.path.join(ROOT, "downloads/multi30k/tok/test_2016_flickr.lc.norm.tok.de.gz"))
    parser.add_argument("--target", default="en")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--ladder", default="1,8,32,128,256")
    parser.add_argument("--clients", type=int, default=32, help="clients of the every-sentence-once check")
    parser.add_argument("--overload", type=int, default=200)
    parser.add_argument("--queue-limit", type=int, default=64)
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    parser.add_argument("--nmt", default=NMT, help="the nmt binary (default: build/nmt)")
    parser.add_argument("--set", action="append", default=[],
                        help="KEY=VALUE for translate and serve alike (e.g. decoding.precision=int8)")
    args = parser.parse_args()
    NMT = args.nmt  # translate_seconds and Server run this binary
    results = []

    def report(record):
        results.append(record)
        print(json.dumps(record), flush=True)

    work = tempfile.mkdtemp(prefix="nmt-serve-bench-")
    sentences = read_lines(args.sentences, args.limit)
    sentences_file = os.path.join(work, "sentences.txt")
    with open(sentences_file, "w") as f:
        f.write("\n".join(sentences) + "\n")
    sets = [x for s in args.set for x in ("--set", s)]
    expected, file_seconds = translate_seconds(args.model, sentences_file, args.server_core, sets)
    report({"what": "nmt translate, the file", "sentences": len(sentences), "seconds": file_seconds,
            "sentences_per_s": len(sentences) / file_seconds})
    # One sentence of median length, alone, five times.
    lengths = sorted(range(len(sentences)), key=lambda i: len(sentences[i].split()))
    one_file = os.path.join(work, "one.txt")
    with open(one_file, "w") as f:
        f.write(sentences[lengths[len(lengths) // 2]] + "\n")
    alone = statistics.median(translate_seconds(args.model, one_file, args.server_core, sets)[1] for _ in range(5))
    report({"what": "nmt translate, one median sentence alone", "ms": alone * 1000})

    # The ladder's server queues as many requests as the largest rung has connections, so every
    # rung measures answers; the overload's queues --queue-limit, fewer than its connections.
    rungs = [int(c) for c in args.ladder.split(",")]
    for queue_limit, measure in ((max(rungs + [args.clients]), measure_ladder), (args.queue_limit, measure_overload)):
        server = Server(args.model, args.server_core, ["serve.queue_limit=%d" % queue_limit] + args.set)
        try:
            measure(server, args, sentences, sentences_file, expected, file_seconds, report)
        except BaseException:
            server.process.kill()
            raise
        report({"what": "server peak RSS, queue limit %d" % queue_limit, "mb": server.peak_rss_mb(),
                "exit": server.stop()})

    print("\n| clients | connections | answers/s | share of translate's sentences/s | p50 ms | p90 ms | p99 ms "
          "| 200 | 503 | other | lost |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        if "mode" in r:
            other = sum(n for status, n in r["statuses"].items() if status not in ("200", "503"))
            print("| %d | %s | %.1f | %.0f%% | %.1f | %.1f | %.1f | %d | %d | %d | %d |" % (
                r["connections"], r["mode"], r["translated_per_s"], 100 * r["share_of_translate"], r["p50_ms"],
                r["p90_ms"], r["p99_ms"], r["statuses"].get("200", 0), r["statuses"].get("503", 0), other, r["lost"]))
    lost = sum(r.get("lost", 0) for r in results)
    if lost:
        print("\nERRORS: %d requests were lost (reset, refused or unanswered); see the JSON lines above" % lost)
        return 1
    print("\nNo request was lost.")
    return 0


def statuses_between(before, after):
    b, a = counter(before, "nmt_requests_total"), counter(after, "nmt_requests_total")
    return {s: int(n - b.get(s, 0)) for s, n in a.items() if n - b.get(s, 0)}


def wait_for_empty_queue(server):
    """The previous load's last requests leave the queue before the next load starts."""
    for _ in range(600):
        if re.search(r"^nmt_queue_depth 0(\.0)?$", server.metrics(), re.M):
            return
        time.sleep(0.1)


def measure_ladder(server, args, sentences, sentences_file, expected, file_seconds, report):
    # Every sentence once, from --clients clients at a time, each request on a new connection:
    # does batching with others change any? A failed request is an error, not a differing one.
    answers = [None] * len(sentences)
    failures = {}
    lock = threading.Lock()

    def client(start):
        for i in range(start, len(sentences), args.clients):
            try:
                answers[i] = server.translate(sentences[i], args.target)
            except Exception as error:  # counted and reported: the request was lost or refused
                with lock:
                    key = "%s: %s" % (type(error).__name__, error)
                    failures[key] = failures.get(key, 0) + 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = [(a, e) for a, e in zip(answers, expected) if a is not None]
    report({"what": "every sentence once from %d clients, a new connection per request" % args.clients,
            "sentences": len(sentences), "answered": len(answered),
            "differing_from_nmt_translate": sum(a != e for a, e in answered), "errors": failures,
            "lost": len(sentences) - len(answered)})
    for fresh in (False, True):
        for connections in [int(c) for c in args.ladder.split(",")]:
            before = server.metrics()
            record = wrk(server, connections, args.seconds, sentences_file, args.target, args.load_core, fresh)
            after = server.metrics()
            wait_for_empty_queue(server)
            record["statuses"] = statuses_between(before, after)
            record["batch_histogram"] = batch_histogram(before, after)
            record["translated_per_s"] = record["statuses"].get("200", 0) / args.seconds
            record["share_of_translate"] = record["translated_per_s"] / (len(sentences) / file_seconds)
            report(record)


def measure_overload(server, args, sentences, sentences_file, expected, file_seconds, report):
    before = server.metrics()
    record = wrk(server, args.overload, args.seconds, sentences_file, args.target, args.load_core)
    record["statuses"] = statuses_between(before, server.metrics())
    record["what"] = "overload, queue limit %d" % args.queue_limit
    del record["mode"]  # not a rung of the ladder
    for _ in range(300):  # wrk's last requests may still fill the queue
        try:
            record["serves_normally_after"] = server.translate(sentences[0], args.target) == expected[0]
            break
        except urllib.error.HTTPError as error:
            if error.code != 503:
                raise
            time.sleep(0.1)
    report(record)


if __name__ == "__main__":
    sys.exit(main())
