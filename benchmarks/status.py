"""What the daemon's STATUS= line costs with a large outbox.

    .venv/bin/python benchmarks/status.py [--open 100000] [--settled 200000] [--runs 30]

Every 2 s (cometwatch.daemon.STATUS_EVERY) a running daemon tells systemd how many deliveries
are pending. A state with `--open` open deliveries and `--settled` settled ones (the rows of
benchmarks/metrics.py) is counted both ways, in the same run: the GROUP BY over every delivery
that `Store.counts()` is (what the line used), and the partial-index count `Store.open_total()`
(what it uses now). Prints the median and the worst of `--runs` each, the CPU share of a core
at one count every 2 s, and checks both give the same number.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from metrics import fill

from cometwatch.daemon import STATUS_EVERY
from cometwatch.outbox import DeliveryStatus
from cometwatch.store import Store

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def timed(count: Callable[[], int], runs: int) -> tuple[list[float], int]:
    count()  # the pages in the cache, as a daemon's second count finds them
    took, result = [], 0
    for _ in range(runs):
        started = time.process_time()
        result = count()
        took.append(time.process_time() - started)
    return took, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--settled", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state.db"
        fill(state, args.open, args.settled)
        with Store.open(state) as store:
            def grouped() -> int:
                return sum(n for per_hook in store.counts().values()
                           for status, n in per_hook.items() if status in OPEN)

            before, old = timed(grouped, args.runs)
            after, new = timed(store.open_total, args.runs)
    assert old == new == args.open, (old, new)
    print(f"status    {args.open:,} open + {args.settled:,} settled deliveries; "
          f"{args.runs} counts each (CPU time)")
    for name, took in (("counts()", before), ("open_total()", after)):
        median = statistics.median(took)
        print(f"{name:<13} median {median * 1000:7.2f} ms, worst {max(took) * 1000:7.2f} ms; "
              f"{median / STATUS_EVERY * 100:.3f} % of a core at one count every "
              f"{STATUS_EVERY:g} s")
    print(f"speedup   {statistics.median(before) / statistics.median(after):.0f}x")


if __name__ == "__main__":
    main()
