#!/usr/bin/env python3
"""Times the seed pandas IQR rule on a 1e6-point series shaped like the Rust
bench's (daily cycle of 96 buckets + noise + rare spikes), for n = 5, 96, 672.

Prints one line per n, `n=5 points/s=...`, like
`cargo run --release -p detect --example iqr_throughput`.

Usage: python3 scripts/bench_pandas_iqr.py [LEN] [REPEATS]
"""

import sys
import time

import numpy as np
import pandas as pd


def daily_cycle(length, seed=42):
    rng = np.random.default_rng(seed)
    i = np.arange(length)
    base = 10_000.0 + 4_000.0 * np.sin((i % 96) / 96.0 * 2.0 * np.pi)
    noise = (rng.random(length) - 0.5) * 600.0
    spikes = np.where(rng.integers(0, 5000, length) == 0, 8_000.0, 0.0)
    return pd.Series(np.round(base + noise + spikes))


def seed_rule(s, n, a):
    shifted = s.shift(1)
    q25 = shifted.rolling(n).quantile(0.25)
    q75 = shifted.rolling(n).quantile(0.75)
    iqr = q75 - q25
    up = (q75 + a * iqr).rolling(n, center=True, min_periods=1).mean()
    low = (q25 - a * iqr).rolling(n, center=True, min_periods=1).mean()
    return (s < low) | (s > up)


def main():
    length = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    s = daily_cycle(length)
    for n in (5, 96, 672):
        best = float("inf")
        anomalies = 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            flags = seed_rule(s, n, 4.0)
            best = min(best, time.perf_counter() - t0)
            anomalies = int(flags.sum())
        print(f"n={n} points/s={length / best:.0f} len={length} seconds={best:.4f} "
              f"anomalies={anomalies} pandas={pd.__version__}")


if __name__ == "__main__":
    main()
