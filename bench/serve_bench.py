#!/usr/bin/python3
"""nmt serve under load, against `nmt translate` on the same sentences (one run, one machine).

The server (1 intra-op thread) and wrk (1 thread) are pinned to separate cores with taskset.
Measured: `nmt translate` sentences/s on the file and the time of one sentence alone; wrk at each
--ladder concurrency for --seconds (requests/s, p50/p90/p99, non-2xx, the batch-size histogram
from /metrics); an overload of --overload connections with a queue limit; how many sentences the
server translates differently from `nmt translate` when they arrive concurrently; peak RSS.
Prints one JSON line per measurement, then a summary table.
"""
import argparse
import gzip
import json
import os
import re
import signal
import statistics
import subprocess
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


def wrk(server, connections, seconds, sentences_file, target, core):
    env = dict(os.environ, SENTENCES=sentences_file, TARGET=target)
    out = subprocess.run(["taskset", "-c", core, "wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                          "--timeout", "30s", "-s", os.path.join(ROOT, "bench/serve_post.lua"), server.url("/")],
                         capture_output=True, text=True, env=env, check=True).stdout

    def latency_ms(label):
        match = re.search(r"\s%s%%\s+([0-9.]+)(us|ms|s)" % label, out)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"connections": connections, "requests_per_s": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
            "p50_ms": latency_ms("50"), "p90_ms": latency_ms("90"), "p99_ms": latency_ms("99"),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--sentences", default=os.path.join(ROOT, "downloads/multi30k/tok/test_2016_flickr.lc.norm.tok.de.gz"))
    parser.add_argument("--target", default="en")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--ladder", default="1,8,32")
    parser.add_argument("--overload", type=int, default=200)
    parser.add_argument("--queue-limit", type=int, default=64)
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    args = parser.parse_args()
    results = []

    def report(record):
        results.append(record)
        print(json.dumps(record), flush=True)

    work = tempfile.mkdtemp(prefix="nmt-serve-bench-")
    sentences = read_lines(args.sentences, args.limit)
    sentences_file = os.path.join(work, "sentences.txt")
    with open(sentences_file, "w") as f:
        f.write("\n".join(sentences) + "\n")
    expected, file_seconds = translate_seconds(args.model, sentences_file, args.server_core)
    report({"what": "nmt translate, the file", "sentences": len(sentences), "seconds": file_seconds,
            "sentences_per_s": len(sentences) / file_seconds})
    # One sentence of median length, alone, five times.
    lengths = sorted(range(len(sentences)), key=lambda i: len(sentences[i].split()))
    one_file = os.path.join(work, "one.txt")
    with open(one_file, "w") as f:
        f.write(sentences[lengths[len(lengths) // 2]] + "\n")
    alone = statistics.median(translate_seconds(args.model, one_file, args.server_core)[1] for _ in range(5))
    report({"what": "nmt translate, one median sentence alone", "ms": alone * 1000})

    server = Server(args.model, args.server_core, ["serve.queue_limit=%d" % args.queue_limit])
    try:
        measure_server(server, args, sentences, sentences_file, expected, file_seconds, report)
    except BaseException:
        server.process.kill()
        raise
    report({"what": "server peak RSS", "mb": server.peak_rss_mb(), "exit": server.stop()})

    print("\n| connections | requests/s | share of translate's sentences/s | p50 ms | p90 ms | p99 ms | non-2xx |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        if "connections" in r and "statuses" not in r:
            print("| %d | %.1f | %.0f%% | %.1f | %.1f | %.1f | %d |" % (r["connections"], r["requests_per_s"],
                  100 * r["share_of_translate"], r["p50_ms"], r["p90_ms"], r["p99_ms"], r["non_2xx"]))


def measure_server(server, args, sentences, sentences_file, expected, file_seconds, report):
    # Every sentence once, from up to 32 clients at a time: does batching with others change any?
    answers = [None] * len(sentences)
    clients = min(32, args.queue_limit)

    def client(start):
        for i in range(start, len(sentences), clients):
            answers[i] = server.translate(sentences[i], args.target)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    differing = sum(a != e for a, e in zip(answers, expected))
    report({"what": "translations that differ from nmt translate's (concurrent requests)", "differing": differing,
            "sentences": len(sentences)})
    for connections in [int(c) for c in args.ladder.split(",")]:
        before = server.metrics()
        record = wrk(server, connections, args.seconds, sentences_file, args.target, args.load_core)
        record["batch_histogram"] = batch_histogram(before, server.metrics())
        record["share_of_translate"] = record["requests_per_s"] / (len(sentences) / file_seconds)
        report(record)
    before = server.metrics()
    record = wrk(server, args.overload, args.seconds, sentences_file, args.target, args.load_core)
    statuses_before, statuses_after = counter(before, "nmt_requests_total"), counter(server.metrics(), "nmt_requests_total")
    record["statuses"] = {s: int(n - statuses_before.get(s, 0)) for s, n in statuses_after.items() if n - statuses_before.get(s, 0)}
    record["what"] = "overload, queue limit %d" % args.queue_limit
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
    main()
