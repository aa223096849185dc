//! The few distribution functions the experiment tests need, written out so
//! the crate stays dependency-light and identical on wasm32: the log-gamma
//! function, the regularized upper incomplete gamma (chi-square tail and,
//! through `erfc(x) = Q(1/2, x²)`, the normal tail) and the normal quantile.

use std::f64::consts::PI;

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine terms: ~15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (index, coefficient) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += coefficient / (x + index as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularized upper incomplete gamma `Q(a, x) = Γ(a, x) / Γ(a)` for `a > 0`,
/// `x >= 0`: a series below `a + 1`, a continued fraction above (Numerical
/// Recipes' `gammq`), so the far tail keeps its relative precision.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let log_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut denominator = a;
        for _ in 0..1_000 {
            denominator += 1.0;
            term *= x / denominator;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (1.0 - sum * log_prefix.exp()).clamp(0.0, 1.0)
    } else {
        // Modified Lentz evaluation of the continued fraction.
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (log_prefix.exp() * h).clamp(0.0, 1.0)
    }
}

/// `P(X > statistic)` for a chi-square variable with `df` degrees of freedom.
pub fn chi_square_sf(statistic: f64, df: f64) -> f64 {
    gamma_q(df / 2.0, statistic.max(0.0) / 2.0)
}

/// Two-sided normal p-value `P(|Z| > |z|) = erfc(|z| / √2)`.
pub fn two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    gamma_q(0.5, z * z / 2.0)
}

/// Standard normal CDF.
pub fn normal_cdf(z: f64) -> f64 {
    let tail = two_sided_p(z) / 2.0;
    if z < 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// Standard normal quantile for `p` in (0, 1): Acklam's rational
/// approximation refined by one Halley step (error ~1e-15).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if p.is_nan() || p <= 0.0 || p >= 1.0 {
        return if p >= 1.0 {
            f64::INFINITY
        } else if p <= 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::NAN
        };
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let error = normal_cdf(x) - p;
    let u = error * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, relative: f64) {
        assert!(
            (actual - expected).abs() <= relative * expected.abs(),
            "{actual} vs {expected}"
        );
    }

    #[test]
    fn ln_gamma_matches_factorials_and_sqrt_pi() {
        // Γ(n) = (n-1)!, Γ(1/2) = √π; Γ(100.5) from python3 math.lgamma(100.5).
        close(ln_gamma(5.0), 24f64.ln(), 1e-14);
        close(ln_gamma(0.5), PI.sqrt().ln(), 1e-14);
        close(ln_gamma(100.5), 361.4355404677776, 1e-13);
        close(ln_gamma(1e6), 12815504.569147612, 1e-13);
    }

    #[test]
    fn tails_match_closed_forms() {
        // Reference values from python3: math.erfc(1.959963984540054 / math.sqrt(2))
        // = 0.05, math.erfc(6 / math.sqrt(2)) = 1.9731752900754024e-09.
        close(two_sided_p(1.959963984540054), 0.05, 1e-12);
        close(two_sided_p(-6.0), 1.9731752900754024e-09, 1e-10);
        close(normal_cdf(1.0), 0.8413447460685429, 1e-14);
        // Chi-square with 2 df: exp(-x/2); with 4 df: exp(-x/2)(1 + x/2);
        // with 1 df: erfc(sqrt(x/2)) (python3: math.erfc(math.sqrt(3.84/2)));
        // with 3 df: erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2).
        close(chi_square_sf(10.0, 2.0), (-5.0f64).exp(), 1e-13);
        close(chi_square_sf(30.0, 4.0), (-15.0f64).exp() * 16.0, 1e-12);
        close(chi_square_sf(3.84, 1.0), 0.05004352124870509, 1e-12);
        close(chi_square_sf(0.5, 3.0), 0.9188914116546758, 1e-12);
        assert_eq!(chi_square_sf(0.0, 3.0), 1.0);
    }

    #[test]
    fn quantile_inverts_the_cdf() {
        close(normal_quantile(0.975), 1.959963984540054, 1e-13);
        close(normal_quantile(0.0005), -3.290526731491926, 1e-12);
        for p in [1e-9, 0.01, 0.3, 0.5001, 0.9, 0.999_999] {
            close(normal_cdf(normal_quantile(p)), p, 1e-11);
        }
        assert!(normal_quantile(0.0).is_infinite() && normal_quantile(f64::NAN).is_nan());
    }
}
