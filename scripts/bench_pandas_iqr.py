#!/usr/bin/env python3
"""Times the seed pandas IQR rule on the same 1e6-point series as the Rust
throughput example (`detect/benches/common/mod.rs`: a daily cycle of 96
buckets + noise + rare spikes from splitmix64, seed 42), for n = 5, 96, 672.

The series is the same one, value for value: splitmix64 is reimplemented in
numpy below (checked by `--checksum` against the Rust example's `checksum=`).

Timed end to end, best of REPEATS: the seed rule as users wrote it,
shift(1).rolling(n).quantile(.25/.75), iqr, bounds, the centered rolling mean
(min_periods=1) of each bound, and the comparison that flags anomalies.

Prints one line per n, `n=5 points/s=... seconds=...`, like
`cargo run --release -p detect --example iqr_throughput`;
`scripts/bench_iqr_vs_pandas.sh` runs both and prints the ratios.

OFFSET (default 0) is added to every value: 0.1 makes every mantissa bit
vary, as in a ratio like CTR (the Rust example takes the same argument).

Usage: python3 scripts/bench_pandas_iqr.py [LEN [REPEATS [N,N,... [OFFSET]]]] [--checksum]
"""

import sys
import time

import numpy as np
import pandas as pd

GAMMA = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed, count):
    """The first `count` outputs of splitmix64 seeded with `seed` (wrapping u64)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + GAMMA * np.arange(1, count + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


def daily_cycle(length, seed=42):
    """`daily_cycle` of detect/benches/common/mod.rs: two draws per bucket
    (noise, then spike), rounded half away from zero like Rust's `round`."""
    draws = splitmix64(seed, 2 * length)
    noise_u = (draws[0::2] >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    spike_u = draws[1::2]
    i = np.arange(length)
    base = 10_000.0 + 4_000.0 * np.sin((i % 96) / 96.0 * (2.0 * np.pi))
    noise = (noise_u - 0.5) * 600.0
    spikes = np.where(spike_u % np.uint64(5000) == 0, 8_000.0, 0.0)
    x = base + noise + spikes
    return pd.Series(np.sign(x) * np.floor(np.abs(x) + 0.5))


def seed_rule(s, n, a):
    shifted = s.shift(1)
    q25 = shifted.rolling(n).quantile(0.25)
    q75 = shifted.rolling(n).quantile(0.75)
    iqr = q75 - q25
    up = (q75 + a * iqr).rolling(n, center=True, min_periods=1).mean()
    low = (q25 - a * iqr).rolling(n, center=True, min_periods=1).mean()
    return (s < low) | (s > up)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    length = int(args[0]) if len(args) > 0 else 1_000_000
    repeats = int(args[1]) if len(args) > 1 else 3
    windows = [int(n) for n in args[2].split(",")] if len(args) > 2 else [5, 96, 672]
    offset = float(args[3]) if len(args) > 3 else 0.0
    s = daily_cycle(length) + offset
    if "--checksum" in sys.argv:
        print(f"checksum={s.sum():.0f} first={s.iloc[:3].tolist()}")
    for n in windows:
        best = float("inf")
        anomalies = 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            flags = seed_rule(s, n, 4.0)
            best = min(best, time.perf_counter() - t0)
            anomalies = int(flags.sum())
        print(f"n={n} points/s={length / best:.0f} len={length} seconds={best:.4f} "
              f"anomalies={anomalies} pandas={pd.__version__} numpy={np.__version__}")


if __name__ == "__main__":
    main()
