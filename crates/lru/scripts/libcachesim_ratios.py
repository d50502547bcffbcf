#!/usr/bin/env python3
"""Reference hit ratios from libCacheSim (PyPI `libcachesim`) for the ARC traces.

Usage: libcachesim_ratios.py TRACE_DIR

Prints one line per (trace, policy, capacity): `TRACE POLICY CAPACITY HITS REQUESTS`.
Every object has size 1, so capacity is an object count, as in byo-lru's count-bounded caches.
The figures in tests/it/hit_ratio.rs were produced by this script; CI runs it again and the
test compares against its output when BYO_LIBCACHESIM_RATIOS names the file.
"""
import subprocess
import sys

import libcachesim as lcs

POLICIES = {"lru": lcs.LRU, "sieve": lcs.Sieve, "s3fifo": lcs.S3FIFO}
CAPACITIES = (100, 1000, 10000)


def accesses(path):
    """Expand `start count 0 0` lines into block numbers, in order."""
    text = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        start, count = int(fields[0]), int(fields[1])
        yield from range(start, start + count)


def main():
    trace_dir = sys.argv[1]
    for trace in ("OLTP", "P3"):
        blocks = list(accesses(f"{trace_dir}/{trace}.lis.zst"))
        for name, policy in POLICIES.items():
            for capacity in CAPACITIES:
                cache = policy(capacity)
                req = lcs.Request()
                req.obj_size = 1
                hits = 0
                for block in blocks:
                    req.obj_id = block
                    hits += cache.get(req)
                print(trace, name, capacity, hits, len(blocks), flush=True)


if __name__ == "__main__":
    main()
