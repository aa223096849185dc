#!/usr/bin/env python3
"""The seed pandas IQR rule as a whole program, CSV in and CSV out: what
`vigil detect --detector iqr` does, for the end-to-end comparison in
`scripts/bench_detect_csv_vs_pandas.sh`.

    python3 scripts/bench_pandas_csv.py generate LEN OUT.csv
        writes LEN quarter-hours from 2024-01-01 00:00:00 (`YYYY-MM-DD HH:MM:SS`)
        of the benchmark series (`daily_cycle` of bench_pandas_iqr.py, the same
        values as detect/benches/common/mod.rs), every 1000th value empty (a gap)
    python3 scripts/bench_pandas_csv.py detect IN.csv OUT.csv [N [A]]
        reads IN.csv, runs the seed rule (n = 96, a = 4 by default: shift(1),
        rolling quantiles, centered mean of the bounds) and writes
        timestamp,value,lower,upper,is_anomaly
"""

import sys

import numpy as np
import pandas as pd

from bench_pandas_iqr import daily_cycle, seed_rule


def generate(length, out):
    values = daily_cycle(length)
    values[::1000] = np.nan
    index = pd.date_range("2024-01-01", periods=length, freq="15min")
    frame = pd.DataFrame({"timestamp": index, "value": values})
    frame.to_csv(out, index=False, date_format="%Y-%m-%d %H:%M:%S")


def detect(path, out, n, a):
    frame = pd.read_csv(path, parse_dates=["timestamp"], date_format="%Y-%m-%d %H:%M:%S")
    s = frame["value"]
    shifted = s.shift(1)
    q25 = shifted.rolling(n).quantile(0.25)
    q75 = shifted.rolling(n).quantile(0.75)
    iqr = q75 - q25
    frame["lower"] = (q25 - a * iqr).rolling(n, center=True, min_periods=1).mean()
    frame["upper"] = (q75 + a * iqr).rolling(n, center=True, min_periods=1).mean()
    frame["is_anomaly"] = ((s < frame["lower"]) | (s > frame["upper"])).astype(int)
    frame.to_csv(out, index=False, date_format="%Y-%m-%d %H:%M:%S")


def main():
    cmd = sys.argv[1]
    if cmd == "generate":
        generate(int(sys.argv[2]), sys.argv[3])
    elif cmd == "detect":
        n = int(sys.argv[4]) if len(sys.argv) > 4 else 96
        a = float(sys.argv[5]) if len(sys.argv) > 5 else 4.0
        detect(sys.argv[2], sys.argv[3], n, a)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
