//! Criterion benches: the IQR rule on 1e6 points for n = 5, 96, 672
//! (throughput in elements/s), and the window structures head to head
//! (the data behind `TREE_THRESHOLD`; `sorted_blocks` is the batch provider).
//!
//! `cargo bench -p detect` (about a minute; `-- iqr/` or `-- window/` for one group).

mod common;

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use detect::window::{OrderStatistics, QuantilePos, RollingWindow, SortedBlocks, SortedVec, Treap};
use detect::{iqr, iqr_into, Detection, IqrParams, IqrState, Series, Smoothing, Stream};

const LEN: usize = 1_000_000;

fn bench_iqr(c: &mut Criterion) {
    let series = Series::from_f64(1_700_000_000, 900, common::daily_cycle(LEN, 42)).unwrap();
    let mut g = c.benchmark_group("iqr");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(LEN as u64));
    for n in [5usize, 96, 672] {
        for smooth in [Smoothing::AsOf, Smoothing::Centered] {
            let params = IqrParams { n, a: 4.0, smooth };
            g.bench_with_input(
                BenchmarkId::new(format!("batch_{smooth}"), n),
                &params,
                |b, p| b.iter(|| iqr(black_box(&series), p).unwrap()),
            );
        }
        let params = IqrParams {
            n,
            a: 4.0,
            smooth: Smoothing::AsOf,
        };
        let mut buf = Detection::new();
        g.bench_with_input(BenchmarkId::new("batch_into_asof", n), &params, |b, p| {
            b.iter(|| iqr_into(black_box(&series), p, &mut buf).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("push_asof", n), &params, |b, p| {
            b.iter(|| {
                let mut st = IqrState::new(*p).unwrap();
                let mut acc = 0usize;
                for v in series.values() {
                    acc += st.push(v).is_anomaly as usize;
                }
                acc
            })
        });
    }
    g.finish();
}

fn roll<W: OrderStatistics>(values: &[f64], n: usize) -> f64 {
    let mut w: RollingWindow<W> = RollingWindow::new(n);
    let (q25, q75) = (QuantilePos::new(0.25, n), QuantilePos::new(0.75, n));
    let mut acc = 0.0;
    for &x in values {
        w.push(x);
        if w.is_full() {
            acc += q75.read(w.stats()).unwrap() - q25.read(w.stats()).unwrap();
        }
    }
    acc
}

fn roll_blocks(values: &[f64], n: usize) -> f64 {
    let (q25, q75) = (QuantilePos::new(0.25, n), QuantilePos::new(0.75, n));
    SortedBlocks::new(values, n, [q25.rank(), q75.rank()])
        .map(|[lo, hi]| q75.interpolate(hi.0, hi.1) - q25.interpolate(lo.0, lo.1))
        .sum()
}

fn bench_window(c: &mut Criterion) {
    const WLEN: usize = 200_000;
    let values = common::daily_cycle(WLEN, 7);
    let mut g = c.benchmark_group("window");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(WLEN as u64));
    for n in [96usize, 672, 2048, 8192, 32768] {
        g.bench_with_input(BenchmarkId::new("sorted_vec", n), &n, |b, &n| {
            b.iter(|| roll::<SortedVec>(black_box(&values), n))
        });
        g.bench_with_input(BenchmarkId::new("treap", n), &n, |b, &n| {
            b.iter(|| roll::<Treap>(black_box(&values), n))
        });
        // Batch only (needs the whole input): what iqr() uses from BLOCKS_THRESHOLD.
        g.bench_with_input(BenchmarkId::new("sorted_blocks", n), &n, |b, &n| {
            b.iter(|| roll_blocks(black_box(&values), n))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_iqr, bench_window);
criterion_main!(benches);
