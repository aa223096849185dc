//! Deterministic synthetic metric shared by the bench and the throughput
//! example: a daily cycle of 15-minute buckets (96 per day) plus noise, with
//! rare spikes. No `rand` dependency: splitmix64. Also the examples'
//! positional arguments ([`Args`]).

/// splitmix64: tiny, fast, deterministic.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `len` buckets of "active users": 10k +- 4k daily cycle, ~3 % noise,
/// one spike in ~5000 buckets.
pub fn daily_cycle(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64(seed);
    (0..len)
        .map(|i| {
            let phase = (i % 96) as f64 / 96.0 * core::f64::consts::TAU;
            let base = 10_000.0 + 4_000.0 * phase.sin();
            let noise = (rng.next_f64() - 0.5) * 600.0;
            let spike = if rng.next_u64().is_multiple_of(5000) {
                8_000.0
            } else {
                0.0
            };
            (base + noise + spike).round()
        })
        .collect()
}

/// The examples' positional command-line arguments, each with a default
/// (absent or unparsable: the default).
pub struct Args(std::iter::Skip<std::env::Args>);

// Not every program including this module reads arguments (the bench).
#[allow(dead_code)]
impl Args {
    pub fn new() -> Self {
        Args(std::env::args().skip(1))
    }

    /// The next argument parsed, if given and parsable.
    pub fn next_opt<T: std::str::FromStr>(&mut self) -> Option<T> {
        self.0.next().and_then(|s| s.parse().ok())
    }

    /// The next argument parsed, or `default`.
    pub fn next_or<T: std::str::FromStr>(&mut self, default: T) -> T {
        self.next_opt().unwrap_or(default)
    }

    /// The next argument as a comma-separated list, or `default`.
    pub fn list_or<T: std::str::FromStr>(&mut self, default: Vec<T>) -> Vec<T> {
        self.0
            .next()
            .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or(default)
    }
}
