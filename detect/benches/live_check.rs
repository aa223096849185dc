//! Criterion bench: what a live check pays per series, the newest point of
//! the history the server reads for it (its [`detect::Reach`] and the
//! newest) for each built-in detector with its defaults.
//! A check of 10,000 city slices pays it 10,000 times (over the cores).
//!
//! `cargo bench -p detect --bench live_check` (about 20 s).

mod common;

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use detect::{Clock, DetectorSpec, Ensemble};

fn bench_newest_point(c: &mut Criterion) {
    let clock = Clock::new(1_700_000_000, 900);
    let mut g = c.benchmark_group("newest_point");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for name in ["learned", "iqr", "seasonal"] {
        let detector = Ensemble::single(DetectorSpec::default_for(name).expect("built in"));
        // What the server reads: the reach, plus the newest.
        let values: Vec<Option<f64>> = common::daily_cycle(detector.reach().buckets() + 1, 7)
            .into_iter()
            .map(Some)
            .collect();
        g.bench_with_input(BenchmarkId::from_parameter(name), &detector, |b, d| {
            b.iter(|| {
                d.newest_point(black_box(&values).iter().copied(), clock)
                    .expect("judged")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_newest_point);
criterion_main!(benches);
