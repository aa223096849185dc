//! Judging many series over the machine's cores: the detectors are pure
//! functions of one series each, so a check with thousands of slices splits
//! them into one contiguous chunk per thread and joins the results in order,
//! identical to a serial run (see the test).

/// Below this many series per thread, spawning costs more than it saves
/// (a detector judges one series in tens of microseconds).
const MIN_PER_THREAD: usize = 64;

/// The threads a check may use: the machine's cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// `items` mapped by `f`, in order, over at most `threads` threads (fewer
/// when there are few items; serial for one).
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.min(items.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            // A detector that panics would have panicked serially too.
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect::{DetectorSpec, Ensemble, IqrParams};

    #[test]
    fn parallel_judgments_equal_the_serial_ones() {
        // 500 series of 200 buckets, each with its own level and noise, a
        // tenth ending in a drop; judged by the IQR rule in newest-point mode.
        let detector = Ensemble::single(DetectorSpec::Iqr(IqrParams::default()));
        let series: Vec<Vec<Option<f64>>> = (0..500u32)
            .map(|s| {
                (0..200u32)
                    .map(|k| {
                        let noise = f64::from((s * 7919 + k * 104_729) % 97) / 97.0;
                        let drop = s % 10 == 0 && k == 199;
                        let level = 100.0 + f64::from(s) + 20.0 * noise;
                        Some(if drop { level * 0.2 } else { level })
                    })
                    .collect()
            })
            .collect();
        let judge = |values: &Vec<Option<f64>>| {
            let mut values = values.clone();
            let clock = detect::Clock::new(0, 900);
            let masked = detect::alerting::Masked::default();
            detect::alerting::newest_judgment(&detector, &mut values, clock, &masked, 96)
                .expect("judges")
                .point
        };
        let serial = map(&series, 1, judge);
        let parallel = map(&series, 4, judge);
        assert_eq!(serial.len(), 500);
        assert_eq!(parallel, serial);
        assert!(
            serial.iter().step_by(10).all(|p| p.is_anomaly),
            "every drop is judged an anomaly"
        );
    }
}
