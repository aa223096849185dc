//! What the benchmark generators share ([`synthetic`](super::synthetic) and
//! [`families`](super::families)): a splitmix64 random source with the
//! distributions they draw noise from, and the shape of a day.
//!
//! Own code rather than a crate so that the same seed gives the same cases
//! on every platform, wasm included, whatever a dependency's version does.

/// splitmix64: tiny, fast, deterministic.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `lo..=hi` (`lo` when `hi < lo`, so a caller's
    /// empty range is not a panic).
    pub(crate) fn int(&mut self, lo: usize, hi: usize) -> usize {
        if hi < lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Poisson(mu): exact (Knuth) below 30, normal approximation above.
    pub(crate) fn poisson(&mut self, mu: f64) -> f64 {
        if mu.is_nan() || mu <= 0.0 {
            return 0.0;
        }
        if mu < 30.0 {
            let limit = (-mu).exp();
            let mut k = 0.0;
            let mut p = self.uniform();
            while p > limit {
                k += 1.0;
                p *= self.uniform();
            }
            k
        } else {
            (mu + mu.sqrt() * self.normal()).round().max(0.0)
        }
    }

    /// Gamma(shape, 1) for `shape >= 1` (Marsaglia–Tsang; smaller shapes
    /// are raised to 1, the generators never ask for them).
    pub(crate) fn gamma(&mut self, shape: f64) -> f64 {
        let d = shape.max(1.0) - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = 1.0 - self.uniform(); // (0, 1]: ln(u) is finite
            if u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
                return d * v;
            }
        }
    }

    /// Negative binomial with mean `mu` and variance `mu + mu²/r`: a Poisson
    /// whose rate is Gamma-distributed, the usual model of over-dispersed
    /// counts (bursty users, batchy jobs).
    pub(crate) fn neg_binomial(&mut self, mu: f64, r: f64) -> f64 {
        let r = r.max(1.0);
        let rate = mu * self.gamma(r) / r;
        self.poisson(rate)
    }
}

/// Shape of a day in [0, 1] at `hour` (0..24, fractional): trough at 04:00,
/// daytime plateau, evening peak around 20:00 of relative size `evening`.
pub(crate) fn daily_shape(hour: f64, evening: f64) -> f64 {
    let base = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * (hour - 4.0) / 24.0).cos();
    let d = (hour - 20.0 + 24.0) % 24.0;
    let d = d.min(24.0 - d);
    let bump = evening * (-(d * d) / 8.0).exp();
    (base + bump) / (1.0 + evening)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        (m, xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n)
    }

    #[test]
    fn negative_binomial_is_over_dispersed() {
        let mut rng = Rng(1);
        let xs: Vec<f64> = (0..20_000).map(|_| rng.neg_binomial(100.0, 4.0)).collect();
        let (m, v) = mean_var(&xs);
        // Mean 100, variance 100 + 100²/4 = 2600.
        assert!((m - 100.0).abs() < 3.0, "{m}");
        assert!((2200.0..3000.0).contains(&v), "{v}");
    }

    #[test]
    fn int_of_an_empty_range_is_its_start() {
        let mut rng = Rng(3);
        assert_eq!(rng.int(5, 2), 5);
        assert!((0..100).all(|_| rng.int(2, 4) <= 4));
    }
}
