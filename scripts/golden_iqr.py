#!/usr/bin/env python3
"""Writes the golden fixtures of the IQR rule into detect/tests/golden/.

The reference is the seed pandas rule:

    q25 = s.shift(1).rolling(n).quantile(0.25); q75 = ...quantile(0.75)
    iqr = q75 - q25; up = q75 + a*iqr; low = q25 - a*iqr
    up = up.rolling(n, center=True, min_periods=1).mean(); low likewise
    alert when value < low or value > up

with vigil's documented handling of gaps (missing buckets are skipped, not
counted: the window is the n most recent *observed* values before t):

    obs = s.dropna(); q = obs.rolling(n).quantile(p)
    q = q.reindex(s.index).ffill().shift(1)

which equals the seed exactly on series without gaps (asserted below), and
the three smoothings: centered (the seed), asof (the centered mean evaluated
at the newest point: mean over positions [t - n//2, t]) and none.

Deterministic: fixed data (no RNG), floats written with repr (shortest
round-trip), fixed row order. Usage: python3 scripts/golden_iqr.py [OUT_DIR]
"""

import math
import os
import sys

import numpy as np
import pandas as pd

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "detect", "tests", "golden")

NAN = float("nan")


def lcg_noise(count, seed):
    """Deterministic noise in [-0.5, 0.5) from an integer LCG (no RNG state)."""
    x = seed
    out = []
    for _ in range(count):
        x = (1103515245 * x + 12345) % (1 << 31)
        out.append(x / float(1 << 31) - 0.5)
    return out


def series_daily_spike():
    # Hourly buckets over 4 days: daily cycle + noise, a spike and a drop.
    noise = lcg_noise(96, 7)
    vals = []
    for i in range(96):
        base = 1000.0 + 400.0 * math.sin(2.0 * math.pi * (i % 24) / 24.0)
        vals.append(round(base + 60.0 * noise[i], 1))
    vals[60] += 900.0  # spike
    vals[80] = round(vals[80] * 0.3, 1)  # drop
    return vals


def series_constant():
    vals = [100.0] * 30
    vals[20] = 130.0  # one bump on a flat history: iqr = 0, eps score
    return vals


def series_gaps():
    noise = lcg_noise(80, 11)
    vals = [round(50.0 + 10.0 * math.sin(i / 5.0) + 4.0 * noise[i], 2) for i in range(80)]
    for i in [0, 1, 2]:  # gap at the start
        vals[i] = NAN
    for i in [9, 14, 15]:  # short gaps
        vals[i] = NAN
    for i in range(30, 45):  # a long gap
        vals[i] = NAN
    vals[50] = 140.0  # spike right after the long gap
    vals[79] = NAN  # gap at the end
    return vals


def series_short():
    return [3.0, 5.0, 4.0, 40.0]


def series_counts():
    # Small integer counts: ties, zeros (expected 0 -> no deviation), bursts.
    noise = lcg_noise(50, 3)
    vals = [float(int(3 + 6 * (noise[i] + 0.5)) if i % 7 else 0) for i in range(50)]
    vals[12] = 0.0
    vals[13] = 0.0
    vals[33] = 25.0
    return vals


SERIES = [
    ("daily_spike", series_daily_spike()),
    ("constant", series_constant()),
    ("gaps", series_gaps()),
    ("short", series_short()),
    ("counts", series_counts()),
]

COMBOS = [
    (2, 1.5, "asof"),
    (3, 3.0, "none"),
    (4, 4.0, "centered"),
    (5, 4.0, "asof"),
    (5, 4.0, "centered"),
    (5, 4.0, "none"),
    (24, 2.0, "asof"),
    (24, 3.0, "centered"),
]


def quantiles(s, n, p):
    obs = s.dropna()
    q = obs.rolling(n).quantile(p).reindex(s.index).ffill().shift(1)
    if not s.isna().any():
        seed = s.shift(1).rolling(n).quantile(p)
        assert np.array_equal(q.to_numpy(), seed.to_numpy(), equal_nan=True)
    return q


def reference(values, n, a, smooth):
    s = pd.Series(values, dtype="float64")
    q25, q50, q75 = (quantiles(s, n, p) for p in (0.25, 0.5, 0.75))
    iqr = q75 - q25
    up = q75 + a * iqr
    low = q25 - a * iqr
    if smooth == "centered":
        up_s = up.rolling(n, center=True, min_periods=1).mean()
        low_s = low.rolling(n, center=True, min_periods=1).mean()
    elif smooth == "asof":
        up_s = up.rolling(n // 2 + 1, min_periods=1).mean()
        low_s = low.rolling(n // 2 + 1, min_periods=1).mean()
        # asof is the centered mean evaluated at the newest point.
        for t in range(len(s)):
            c = up.iloc[: t + 1].rolling(n, center=True, min_periods=1).mean().iloc[-1]
            u = up_s.iloc[t]
            assert (math.isnan(c) and math.isnan(u)) or abs(c - u) <= 1e-9 * max(1.0, abs(u))
    elif smooth == "none":
        up_s, low_s = up, low
    else:
        raise ValueError(smooth)

    rows = []
    for t in range(len(s)):
        v, lo, hi, e, spread = s.iloc[t], low_s.iloc[t], up_s.iloc[t], q50.iloc[t], iqr.iloc[t]
        band = not (math.isnan(lo) or math.isnan(hi))
        anomaly, score = 0, 0.0
        if band and not math.isnan(v):
            beyond = v - hi if v > hi else (lo - v if v < lo else 0.0)
            if beyond > 0.0:
                anomaly = 1
                eps = 1e-9 * (1.0 if math.isnan(e) else max(abs(e), 1.0))
                if math.isnan(spread):
                    spread = (hi - lo) / (1.0 + 2.0 * a)
                score = beyond / max(spread, eps)
        dev = NAN
        if not math.isnan(v) and not math.isnan(e) and e != 0.0:
            dev = (v - e) / abs(e)
        rows.append((t, v, lo, hi, e, anomaly, score, dev))
    return rows


def fmt(x):
    x = float(x)
    return "" if math.isnan(x) else repr(x)


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = ["file,series,n,a,smooth"]
    for name, values in SERIES:
        for n, a, smooth in COMBOS:
            fname = f"{name}__n{n}_a{fmt(a)}_{smooth}.csv"
            lines = ["i,value,lower,upper,expected,is_anomaly,score,deviation"]
            for t, v, lo, hi, e, anomaly, score, dev in reference(values, n, a, smooth):
                lines.append(",".join([str(t), fmt(v), fmt(lo), fmt(hi), fmt(e),
                                       str(anomaly), fmt(score), fmt(dev)]))
            with open(os.path.join(OUT, fname), "w", newline="\n") as f:
                f.write("\n".join(lines) + "\n")
            manifest.append(f"{fname},{name},{n},{fmt(a)},{smooth}")
    with open(os.path.join(OUT, "manifest.csv"), "w", newline="\n") as f:
        f.write("\n".join(manifest) + "\n")
    print(f"wrote {len(manifest) - 1} fixtures to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
