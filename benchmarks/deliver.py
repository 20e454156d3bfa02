"""Delivery throughput and memory, against a baseline measured in the same run.

    .venv/bin/python benchmarks/deliver.py [--events 5000] [--backlog 100000]

1. Throughput: N events to a loopback receiver (a separate process answering 204), sent by
   cometwatch's Dispatcher (SQLite outbox, per-entry order, every attempt recorded), against a
   bare httpx.Client POST loop to the same receiver. Prints both rates and the ratio
   (target: at least 0.85x). For context, the bare loop split over 4 threads (the
   dispatcher's default max_in_flight): on a loopback with few cores, parallel requests cost
   CPU rather than save waiting, so this is the fairer floor.
2. Memory: a backlog of B pending deliveries stored, then dispatched for a few seconds, in a
   fresh process; prints its peak RSS (target: under 150 MB).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SECRET = "benchmark-secret"
SERVER_READY = "listening on "


class _Quick(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quick)
    server.daemon_threads = True
    print(f"{SERVER_READY}{server.server_address[1]}", flush=True)
    server.serve_forever()


def start_receiver() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(SERVER_READY):
        proc.kill()
        raise SystemExit("the receiver did not start")
    return proc, int(line[len(SERVER_READY):])


def config_for(port: int, state: Path):  # type: ignore[no-untyped-def]
    from cometwatch.config import parse_config_text

    return parse_config_text(
        f'[state]\npath = "{state}"\n'
        f'[[webhooks]]\nname = "bench"\nurl = "http://127.0.0.1:{port}/hook"\n'
        f'secret = "{SECRET}"\n', state.parent / "webhooks.toml")


def store_backlog(state: Path, count: int, entries: int, hooks: tuple[str, ...]) -> None:
    """`count` events over `entries` entries, one delivery each per webhook, as scans store
    them (in steps of 10,000 events, one transaction each)."""
    from cometwatch.payload import ContentEvent
    from cometwatch.store import Store

    names = ("content.created", "content.updated", "content.published")
    with Store.open(state) as store:
        for start in range(0, count, 10_000):
            events = [ContentEvent(f"evt_bench_{n}", names[n % 3], 1_750_000_000 + n, "posts",
                                   f"entry{n % entries}", f"post-{n % entries}", f"c{n}",
                                   f"posts/post-{n % entries}.md")
                      for n in range(start, min(start + 10_000, count))]
            cursor = store.cursor("main")
            store.save_scan("main", cursor.generation if cursor else None, "tip", None, None,
                            events, [(e.event_id, h) for e in events for h in hooks], {},
                            time.time())


def bare_loop(port: int, count: int, threads: int = 1) -> tuple[float, float]:
    """A plain httpx.Client POST loop (split over `threads` threads sharing the client):
    requests per second, and CPU seconds of this process per request."""
    import threading

    import httpx

    from cometwatch.payload import ContentEvent, body, cometcms_signature

    url = f"http://127.0.0.1:{port}/hook"

    def post(client: httpx.Client, numbers: range) -> None:
        for n in numbers:
            raw = body(ContentEvent(f"evt_{n}", "content.updated", 1_750_000_000 + n, "posts",
                                    f"entry{n}", f"post-{n}", "c", "p"))
            answer = client.post(url, content=raw, headers={
                "Content-Type": "application/json",
                "X-CometCMS-Signature": cometcms_signature(raw, SECRET),
                "X-CometCMS-Event": "content.updated", "X-CometCMS-Event-Id": f"evt_{n}"})
            assert answer.status_code == 204

    started, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(timeout=15.0) as client:
        parts = [threading.Thread(target=post, args=(client, range(k, count, threads)))
                 for k in range(threads)]
        for part in parts:
            part.start()
        for part in parts:
            part.join()
    return count / (time.perf_counter() - started), (time.process_time() - cpu) / count


def dispatcher_run(port: int, count: int, folder: Path) -> tuple[float, float]:
    from cometwatch.delivery import Sender
    from cometwatch.dispatcher import Dispatcher
    from cometwatch.store import DeliveryStatus, Store

    state = folder / "throughput.db"
    store_backlog(state, count, entries=count // 5, hooks=("bench",))
    sender = Sender()
    dispatcher = Dispatcher(config_for(port, state), state, sender)
    started, cpu = time.perf_counter(), time.process_time()
    sent = dispatcher.send_due_once()
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    dispatcher.close()
    sender.close()
    with Store.open(state) as store:
        ok = store.counts()["bench"].get(DeliveryStatus.OK, 0)
    if sent != count or ok != count:
        raise SystemExit(f"the dispatcher sent {sent} of {count} ({ok} ok)")
    return count / elapsed, used / count


def memory_run(port: int, backlog: int, seconds: float, folder: Path) -> None:
    """In a fresh process: store the backlog, dispatch for `seconds`, report peak RSS."""
    from cometwatch.delivery import Sender
    from cometwatch.dispatcher import Dispatcher

    state = folder / "backlog.db"
    started = time.perf_counter()
    store_backlog(state, backlog, entries=backlog // 4, hooks=("bench",))
    stored_in = time.perf_counter() - started
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sender = Sender()
    dispatcher = Dispatcher(config_for(port, state), state, sender)
    sent = dispatcher.drain(seconds)
    dispatcher.close(5.0)  # the requests in flight are answered, not cut
    sender.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backlog   {backlog} pending deliveries stored in {stored_in:.1f} s; peak RSS "
          f"{before:.0f} MB after storing, {peak:.0f} MB after dispatching {sent} of them for "
          f"{seconds:.0f} s (target < 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="how long the backlog is dispatched")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.memory_port:
        memory_run(args.memory_port, args.backlog, args.seconds, Path(args.folder))
        return
    receiver, port = start_receiver()
    try:
        with tempfile.TemporaryDirectory(prefix="cometwatch-bench-") as tmp:
            folder = Path(tmp)
            bare_loop(port, 200)  # warm both ends up
            bare, bare_cpu = bare_loop(port, args.events)
            ours, our_cpu = dispatcher_run(port, args.events, folder)
            parallel, _ = bare_loop(port, args.events, threads=4)
            print(f"deliver   {args.events} events to a loopback receiver "
                  f"({os.cpu_count()} CPUs)")
            print(f"baseline  bare httpx.Client POST loop   {bare:8.0f} requests/s")
            print(f"dispatch  cometwatch Dispatcher         {ours:8.0f} deliveries/s "
                  f"({ours / bare:.2f}x the baseline; target >= 0.85x)")
            print(f"context   the same loop in 4 threads    {parallel:8.0f} requests/s "
                  f"(the dispatcher's 4 in flight: {ours / parallel:.2f}x of it)")
            # CPU per request holds under load, where the rates swing with what else runs.
            print(f"cpu       {bare_cpu * 1e6:.0f} us per bare request, {our_cpu * 1e6:.0f} us "
                  f"per delivery ({bare_cpu / our_cpu:.2f}x the bare loop's efficiency)")
            subprocess.run([sys.executable, __file__, "--memory-port", str(port), "--folder",
                            str(folder), "--backlog", str(args.backlog), "--seconds",
                            str(args.seconds)], check=True)
    finally:
        receiver.kill()
        receiver.wait()


if __name__ == "__main__":
    main()
