//! How busy the app is at a given moment: daily and weekly cycles, growth, noise.

use super::random::hash_normal;

/// Relative activity by local hour: trough around 4:00, peak around 21:00.
const HOURLY: [f64; 24] = [
    0.55, 0.38, 0.25, 0.17, 0.13, 0.15, 0.25, 0.42, 0.55, 0.62, 0.66, 0.68, //
    0.72, 0.72, 0.70, 0.70, 0.72, 0.76, 0.82, 0.90, 0.97, 1.00, 0.92, 0.75,
];

/// Feed growth per day (compounded): slow, like a healthy product.
pub const DAILY_GROWTH: f64 = 0.004;

/// Daily-cycle factor at unix time `t` for a place `utc_offset_hours` from UTC,
/// interpolated between hours. Weekends start about 1.5 hours later.
pub fn daily(t: i64, utc_offset_hours: i64) -> f64 {
    let local = t + utc_offset_hours * 3600;
    let shift = if is_weekend(t, utc_offset_hours) {
        1.5
    } else {
        0.0
    };
    let hour = (local.rem_euclid(86_400) as f64 / 3600.0 - shift).rem_euclid(24.0);
    let low = hour.floor() as usize % 24;
    let high = (low + 1) % 24;
    let fraction = hour - hour.floor();
    HOURLY[low] * (1.0 - fraction) + HOURLY[high] * fraction
}

/// Saturday or Sunday in local time (1970-01-01 was a Thursday).
pub fn is_weekend(t: i64, utc_offset_hours: i64) -> bool {
    let day = (t + utc_offset_hours * 3600).div_euclid(86_400);
    let weekday = (day + 3).rem_euclid(7); // 0 = Monday
    weekday >= 5
}

/// Weekly factor: more feed on weekends, slightly fewer messages.
pub fn weekly_feed(t: i64, utc_offset_hours: i64) -> f64 {
    if is_weekend(t, utc_offset_hours) {
        1.12
    } else {
        1.0
    }
}

pub fn weekly_messages(t: i64, utc_offset_hours: i64) -> f64 {
    if is_weekend(t, utc_offset_hours) {
        0.93
    } else {
        1.0
    }
}

/// Growth factor: 1 at `anchor`, smaller before it.
pub fn growth(t: i64, anchor: i64) -> f64 {
    (DAILY_GROWTH * (t - anchor) as f64 / 86_400.0).exp()
}

/// Market-wide noise for one 15-minute bucket: ~5%, independent of chunking.
pub fn bucket_noise(seed: u64, bucket_start: i64) -> f64 {
    (0.05 * hash_normal(seed, bucket_start)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn night_is_quieter_than_evening() {
        // 2024-01-03 is a Wednesday; 01:00 UTC = 04:00 in Moscow, 18:00 UTC = 21:00.
        let midnight = 1_704_240_000;
        assert!(daily(midnight + 3600, 3) < 0.2);
        assert!((daily(midnight + 18 * 3600, 3) - 1.0).abs() < 1e-9);
        assert!(!is_weekend(midnight, 3));
        assert!(is_weekend(midnight + 3 * 86_400, 3));
    }
}
