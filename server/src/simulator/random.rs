//! Small sampling helpers on top of `rand` (no `rand_distr` needed).

use rand::Rng;

/// Poisson sample: Knuth's product method for small means, a rounded normal for large ones.
pub fn poisson(rng: &mut impl Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        let sample = mean + mean.sqrt() * standard_normal(rng);
        return sample.round().max(0.0) as u32;
    }
    let limit = (-mean).exp();
    let mut product: f64 = rng.random();
    let mut count = 0;
    while product > limit {
        count += 1;
        product *= rng.random::<f64>();
    }
    count
}

/// Standard normal via Box-Muller.
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log-normal with mean 1 and the given sigma of the underlying normal.
pub fn unit_lognormal(rng: &mut impl Rng, sigma: f64) -> f64 {
    (sigma * standard_normal(rng) - sigma * sigma / 2.0).exp()
}

/// A stable pseudo-random number in [0, 1) for a key: noise that depends only on
/// (seed, bucket), not on how generation was chunked.
pub fn hash_unit(seed: u64, key: i64) -> f64 {
    let mut z = seed ^ (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable standard normal for a key (see [`hash_unit`]).
pub fn hash_normal(seed: u64, key: i64) -> f64 {
    let u1 = hash_unit(seed, key).max(f64::EPSILON);
    let u2 = hash_unit(seed ^ 0x5555_5555, key);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn poisson_mean_is_right() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for mean in [0.2, 3.0, 50.0] {
            let n = 20_000;
            let total: u64 = (0..n).map(|_| u64::from(poisson(&mut rng, mean))).sum();
            let observed = total as f64 / n as f64;
            assert!(
                (observed - mean).abs() < mean * 0.05 + 0.01,
                "{mean}: {observed}"
            );
        }
    }
}
