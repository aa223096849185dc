//! The cells of a `vigil detect` CSV, read and written without chrono or
//! `fmt` on the common path: a million rows spent most of the command's time
//! in strftime, in `f64::to_string` and in one `String` per cell (issue 15).
//!
//! Every function here has a slow twin that is the reference: each fast path
//! takes only inputs for which it gives the twin's exact bytes (tests compare
//! them over many values) and hands every other input to the twin.

use std::io::Write;

use super::TimeFormat;

const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`; `month` in 1..=12).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The number in `bytes` (ASCII digits only).
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DDTHH:MM:SSZ` with valid fields, as
/// unix seconds and their family; `None` for anything else (which the chrono
/// parser then reads or rejects with its message).
pub fn parse_timestamp_fast(cell: &str) -> Option<(i64, TimeFormat)> {
    let b = cell.as_bytes();
    let format = match (b.len(), b.get(10)) {
        (19, Some(b' ')) => TimeFormat::Plain,
        (20, Some(b'T')) if b[19] == b'Z' => TimeFormat::Rfc3339,
        _ => return None,
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let secs = i64::from(hour * 3600 + minute * 60 + second);
    Some((
        days_from_civil(year, month, day) * SECS_PER_DAY + secs,
        format,
    ))
}

/// `00` to `99`, two bytes each.
const TWO_DIGITS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

fn two_digits(n: u32) -> [u8; 2] {
    let i = 2 * n as usize;
    [TWO_DIGITS[i], TWO_DIGITS[i + 1]]
}

/// Writes timestamps as [`TimeFormat::format`] does. Rows come in order, so
/// the date part is built once per day and reused.
pub struct TimestampWriter {
    format: TimeFormat,
    /// Day (since 1970-01-01) whose `YYYY-MM-DD` plus separator is in `date`.
    day: Option<i64>,
    date: [u8; 11],
}

/// The fast path covers the years chrono writes as four plain digits.
const FIRST_FAST_DAY: i64 = -719_528; // 0000-01-01
const END_FAST_DAY: i64 = 2_932_897; // 10000-01-01

impl TimestampWriter {
    pub fn new(format: TimeFormat) -> Self {
        TimestampWriter {
            format,
            day: None,
            date: [0; 11],
        }
    }

    pub fn write(&mut self, out: &mut Vec<u8>, secs: i64) {
        let day = secs.div_euclid(SECS_PER_DAY);
        if !(FIRST_FAST_DAY..END_FAST_DAY).contains(&day) {
            out.extend_from_slice(self.format.format(secs).as_bytes());
            return;
        }
        if self.day != Some(day) {
            let (year, month, d) = civil_from_days(day);
            let year = year as u32; // in 0..=9999 here
            let [y0, y1] = two_digits(year / 100);
            let [y2, y3] = two_digits(year % 100);
            let [m0, m1] = two_digits(month);
            let [d0, d1] = two_digits(d);
            let sep = match self.format {
                TimeFormat::Rfc3339 => b'T',
                TimeFormat::Plain => b' ',
            };
            self.date = [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, sep];
            self.day = Some(day);
        }
        let s = secs.rem_euclid(SECS_PER_DAY) as u32;
        let [h0, h1] = two_digits(s / 3600);
        let [m0, m1] = two_digits(s / 60 % 60);
        let [s0, s1] = two_digits(s % 60);
        out.extend_from_slice(&self.date);
        out.extend_from_slice(&[h0, h1, b':', m0, m1, b':', s0, s1]);
        if self.format == TimeFormat::Rfc3339 {
            out.push(b'Z');
        }
    }
}

/// Whether two shortest decimals of `x` may lie exactly as far from it, one
/// each side: Display then rounds up (away from zero), ryu to the even last
/// digit (`-1699035690989648.25`: `...648.3` against `...648.2`). A tie
/// between L-digit candidates needs x's exact decimal expansion to have
/// L + 1 digits, the last a 5, and the candidates to be within half an ulp,
/// which needs L >= 16: so an expansion of 17 or 18 significant digits.
/// `x` is finite and not zero. Whole numbers here (2^53 to 1e16) may tie.
fn may_tie(x: f64) -> bool {
    const LOG10_2: f64 = std::f64::consts::LOG10_2;
    const LOG10_5: f64 = 0.698_970_004_336_018_8;
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exp) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, biased - 1075)
    };
    let zeros = mantissa.trailing_zeros() as i32;
    // x = odd * 2^-f, so its expansion has the digits of odd * 5^f.
    let f = -(exp + zeros);
    if f <= 0 {
        return true;
    }
    let odd_bits = 64 - (mantissa >> zeros).leading_zeros() as i32;
    let most = f64::from(odd_bits) * LOG10_2 + f64::from(f) * LOG10_5; // log10 upper bound
    let least = most - LOG10_2; // log10 lower bound
    most > 15.99 && least < 18.01
}

/// Appends `x` exactly as `x.to_string()` writes it: the shortest digits that
/// read back as `x`, in plain decimal notation, `-0`, `inf`, `NaN`.
pub fn push_f64(out: &mut Vec<u8>, x: f64) {
    // Whole numbers below 2^53 in magnitude, as integers (`-0.0` excepted).
    if x.trunc() == x && x.abs() < 9_007_199_254_740_992.0 && !(x == 0.0 && x.is_sign_negative()) {
        out.extend_from_slice(itoa::Buffer::new().format(x as i64).as_bytes());
        return;
    }
    // ryu writes the same shortest digits, in plain notation from 1e-5 to
    // 1e16 (whole numbers with a `.0` that Display leaves out). Outside, it
    // writes an exponent that Display does not.
    if (1e-5..1e16).contains(&x.abs()) && !may_tie(x) {
        let mut buffer = ryu::Buffer::new();
        let text = buffer.format_finite(x).as_bytes();
        out.extend_from_slice(text.strip_suffix(b".0").unwrap_or(text));
        return;
    }
    // Exponents beyond ryu's plain range, infinities and NaN: rare.
    let _ = write!(out, "{x}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_series::parse_timestamp;

    /// splitmix64: many values without a dependency on rand's streams.
    fn random_bits(count: usize, seed: u64) -> impl Iterator<Item = u64> {
        let mut z = seed;
        (0..count).map(move |_| {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        })
    }

    fn assert_float_like_display(x: f64) {
        let mut out = Vec::new();
        push_f64(&mut out, x);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            x.to_string(),
            "bits {:#x}",
            x.to_bits()
        );
    }

    #[test]
    fn floats_match_display() {
        let special = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.5,
            1.5,
            -2.75,
            1e-5,
            1e-6,
            9.999e-6,
            9.999999999999999e-6,
            1e-5f64.next_up(),
            1e-5f64.next_down(),
            1e16f64.next_down(),
            9999999999999998.0,
            9999999999999999.0,
            1e16 - 2.0,
            -1_699_035_690_989_648.2,
            1_699_035_690_989_648.8,
            f64::from_bits(0xc318_250e_4b49_e141),
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e300,
            -1e-300,
            123456789.0,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_993.0,
            -9_007_199_254_740_992.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            -5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            14768.020833333334,
            0.30000000000000004,
        ];
        for x in special {
            assert_float_like_display(x);
        }
        // Every exponent: random bit patterns (NaNs and infinities included).
        for bits in random_bits(300_000, 1) {
            assert_float_like_display(f64::from_bits(bits));
        }
        // Magnitudes a metric has: random mantissas scaled by 10^-12..10^18,
        // rounded to a few decimals and whole, both signs.
        for (i, bits) in random_bits(300_000, 2).enumerate() {
            let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
            let scale = 10f64.powi((i % 31) as i32 - 12);
            let x = if i % 2 == 0 {
                unit * scale
            } else {
                -unit * scale
            };
            assert_float_like_display(x);
            assert_float_like_display(x.round());
            assert_float_like_display((x * 100.0).round() / 100.0);
        }
        // Short exact expansions, where ties are: odd numbers of 13 to 53
        // bits over powers of two up to 2^63.
        for (i, bits) in random_bits(300_000, 4).enumerate() {
            let odd = (bits >> (11 + i % 41)) | 1;
            let x = odd as f64 * 2f64.powi(-((i % 64) as i32));
            assert_float_like_display(x);
            assert_float_like_display(-x);
        }
        // Integers around powers of two and ten.
        for k in 0..64 {
            for d in [-2.0, -1.0, 0.0, 1.0, 2.0] {
                assert_float_like_display(2f64.powi(k) + d);
                assert_float_like_display(-(2f64.powi(k) + d));
                assert_float_like_display(10f64.powi(k % 23) + d);
            }
        }
    }

    /// The same over far more values: `cargo test --release -p server --lib
    /// floats_match_display_many -- --ignored` (100 million, about a minute).
    #[test]
    #[ignore]
    fn floats_match_display_many() {
        for (i, bits) in random_bits(100_000_000, 5).enumerate() {
            let x = match i % 4 {
                0 => f64::from_bits(bits),
                1 => ((bits >> (11 + i % 41)) | 1) as f64 * 2f64.powi(-((i / 4 % 64) as i32)),
                2 => {
                    (bits >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((i / 4 % 23) as i32 - 6)
                }
                _ => (bits >> 11) as f64 / 16.0,
            };
            assert_float_like_display(x);
        }
    }

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(0, 1, 1), FIRST_FAST_DAY);
        assert_eq!(days_from_civil(10000, 1, 1), END_FAST_DAY);
        for day in -800_000..3_000_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert!(d >= 1 && d <= days_in_month(y, m));
        }
    }

    fn assert_timestamps_like_chrono(format: TimeFormat, seconds: impl Iterator<Item = i64>) {
        let mut writer = TimestampWriter::new(format);
        let mut out = Vec::new();
        for secs in seconds {
            out.clear();
            writer.write(&mut out, secs);
            let text = std::str::from_utf8(&out).unwrap();
            assert_eq!(text, format.format(secs), "{secs}");
            // Read back: the fast parser agrees with chrono's.
            if let Some(fast) = parse_timestamp_fast(text) {
                assert_eq!(Ok(fast), parse_timestamp(text), "{text}");
                assert_eq!(fast, (secs, format));
            }
        }
    }

    #[test]
    fn timestamps_match_chrono() {
        for format in [TimeFormat::Rfc3339, TimeFormat::Plain] {
            // Quarter-hours across leap days and years (1896-2105: 1900 and
            // 2100 are not leap years, 2000 is), in order as the CLI writes them.
            let start = days_from_civil(1896, 2, 27) * SECS_PER_DAY;
            let end = days_from_civil(2105, 3, 2) * SECS_PER_DAY;
            assert_timestamps_like_chrono(format, (start..end).step_by(900 * 7 + 13));
            // Every minute around 2024-02-29 and 2000-02-29.
            for (y, m, d) in [(2024, 2, 28), (2000, 2, 28), (1900, 2, 28), (1969, 12, 31)] {
                let s = days_from_civil(y, m, d) * SECS_PER_DAY;
                assert_timestamps_like_chrono(format, (s..s + 3 * SECS_PER_DAY).step_by(59));
            }
            // The ends of the fast range, outside it (signed years, chrono's
            // limits, out of its range), random seconds in any order.
            let edges = [
                FIRST_FAST_DAY * SECS_PER_DAY - 1,
                FIRST_FAST_DAY * SECS_PER_DAY,
                END_FAST_DAY * SECS_PER_DAY - 1,
                END_FAST_DAY * SECS_PER_DAY,
                -1,
                0,
                i64::MIN,
                i64::MAX,
                8_210_298_412_799,
                8_210_298_412_800,
                -8_334_601_228_800,
                -8_334_601_228_801,
            ];
            assert_timestamps_like_chrono(format, edges.into_iter());
            let random =
                random_bits(200_000, 3).map(|b| (b % 700_000_000_000) as i64 - 350_000_000_000);
            assert_timestamps_like_chrono(format, random);
        }
    }

    #[test]
    fn fast_parse_matches_chrono_or_declines() {
        let cells = [
            "2024-02-29 12:00:00",
            "2023-02-29 12:00:00",
            "2024-02-29T12:00:00Z",
            "2024-13-01 00:00:00",
            "2024-00-01 00:00:00",
            "2024-01-00 00:00:00",
            "2024-04-31 00:00:00",
            "2024-01-01 24:00:00",
            "2024-01-01 23:60:00",
            "2024-01-01 23:59:60",
            "2024-01-01T23:59:60Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01t00:00:00z",
            "2024-01-01T00:00:00+00:00",
            "2024-1-01 00:00:00",
            "0000-01-01 00:00:00",
            "9999-12-31T23:59:59Z",
            "+202-01-01 00:00:00",
            "2024-01-01 0a:00:00",
            "2024/01/01 00:00:00",
        ];
        for cell in cells {
            if let Some(fast) = parse_timestamp_fast(cell) {
                assert_eq!(Ok(fast), parse_timestamp(cell), "{cell}");
            }
        }
        assert!(parse_timestamp_fast("2024-01-01 23:59:60").is_none());
        assert!(parse_timestamp_fast("2023-02-29 12:00:00").is_none());
    }
}
