//! A small inline-SVG line of a metric's recent buckets. It is rendered on
//! the server, so it shows before the wasm bundle loads and costs the browser
//! nothing to draw. Gaps break the line (no invented values); the newest
//! check's band is a shaded bar at its bucket, and an anomalous checked point
//! is a triangle, so it is marked by shape as well as color.

use leptos::prelude::*;

/// viewBox size; the SVG scales to its box (non-scaling strokes keep lines thin).
const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 56.0;
const PAD: f64 = 4.0;

/// The newest check's verdict, drawn over the line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SparkBand {
    /// Unix seconds of the checked bucket.
    pub bucket: i64,
    pub lower: f64,
    pub upper: f64,
    pub is_anomaly: bool,
}

/// Everything to draw, in viewBox coordinates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Geometry {
    /// `points` of each unbroken run of values.
    pub segments: Vec<String>,
    /// x, y, width, height of the band bar.
    pub band: Option<(f64, f64, f64, f64)>,
    /// The newest point with a value.
    pub newest: Option<(f64, f64)>,
    /// The checked point, when it was anomalous.
    pub anomaly: Option<(f64, f64)>,
}

/// Lays out `values` (one per `step` from `start`) and the optional band.
pub fn geometry(
    values: &[Option<f64>],
    start: i64,
    step: i64,
    band: Option<SparkBand>,
) -> Geometry {
    let finite = |v: &Option<f64>| v.filter(|v| v.is_finite());
    let n = values.len();
    if n == 0 || step <= 0 {
        return Geometry::default();
    }
    let slot_of = |bucket: i64| {
        let offset = bucket - start;
        (offset >= 0 && offset % step == 0)
            .then(|| (offset / step) as usize)
            .filter(|slot| *slot < n)
    };
    let band =
        band.filter(|b| b.lower.is_finite() && b.upper.is_finite() && slot_of(b.bucket).is_some());
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    for v in values.iter().filter_map(finite) {
        low = low.min(v);
        high = high.max(v);
    }
    if let Some(b) = band {
        low = low.min(b.lower);
        high = high.max(b.upper);
    }
    if !low.is_finite() {
        return Geometry::default();
    }
    if high - low < 1e-9 {
        // A flat line sits in the middle.
        low -= 1.0;
        high += 1.0;
    }
    let dx = if n > 1 {
        (WIDTH - 2.0 * PAD) / (n - 1) as f64
    } else {
        0.0
    };
    let x = |slot: usize| PAD + slot as f64 * dx;
    let y = |v: f64| PAD + (high - v) / (high - low) * (HEIGHT - 2.0 * PAD);
    let mut geometry = Geometry::default();
    let mut run = Vec::new();
    for (slot, value) in values.iter().enumerate() {
        match finite(value) {
            Some(v) => {
                run.push(format!("{:.1},{:.1}", x(slot), y(v)));
                geometry.newest = Some((x(slot), y(v)));
            }
            None => flush(&mut run, &mut geometry.segments),
        }
    }
    flush(&mut run, &mut geometry.segments);
    if let Some(b) = band {
        let slot = slot_of(b.bucket).unwrap_or(0);
        let half = dx.max(3.0);
        let top = y(b.upper);
        geometry.band = Some((x(slot) - half, top, 2.0 * half, (y(b.lower) - top).max(1.0)));
        if b.is_anomaly {
            geometry.anomaly = finite(&values[slot]).map(|v| (x(slot), y(v)));
        }
    }
    geometry
}

/// Ends a run: two or more points are a line, a lone point a dot-sized line.
fn flush(run: &mut Vec<String>, segments: &mut Vec<String>) {
    match run.len() {
        0 => {}
        1 => {
            let point = run[0].clone();
            segments.push(format!("{point} {point}"));
        }
        _ => segments.push(run.join(" ")),
    }
    run.clear();
}

/// The sparkline; `label` says what it shows (its accessible name).
#[component]
pub fn Sparkline(
    values: Vec<Option<f64>>,
    start: i64,
    step: i64,
    band: Option<SparkBand>,
    label: String,
) -> impl IntoView {
    let g = geometry(&values, start, step, band);
    let empty = g.segments.is_empty();
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    let title = label.clone();
    let triangle = g.anomaly.map(|(x, y)| {
        format!(
            "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
            x,
            y - 5.0,
            x - 4.5,
            y + 3.5,
            x + 4.5,
            y + 3.5
        )
    });
    view! {
        <svg
            class="sparkline"
            data-testid="sparkline"
            data-empty=empty.to_string()
            viewBox=view_box
            preserveAspectRatio="none"
            role="img"
            aria-label=label
        >
            <title>{title}</title>
            {g
                .band
                .map(|(x, y, w, h)| {
                    view! {
                        <rect
                            class="spark-band"
                            x=format!("{x:.1}")
                            y=format!("{y:.1}")
                            width=format!("{w:.1}")
                            height=format!("{h:.1}")
                        ></rect>
                    }
                })}
            {g
                .segments
                .into_iter()
                .map(|points| {
                    view! {
                        <polyline
                            class="spark-line"
                            points=points
                            vector-effect="non-scaling-stroke"
                        ></polyline>
                    }
                })
                .collect_view()}
            {g
                .newest
                .map(|(x, y)| {
                    view! {
                        <circle
                            class="spark-newest"
                            cx=format!("{x:.1}")
                            cy=format!("{y:.1}")
                            r="2.5"
                        ></circle>
                    }
                })}
            {triangle
                .map(|points| {
                    view! { <polygon class="spark-anomaly" points=points></polygon> }
                })}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_break_the_line_and_the_newest_point_is_the_last_value() {
        let values = [Some(1.0), Some(2.0), None, Some(3.0), Some(2.0), None];
        let g = geometry(&values, 0, 900, None);
        assert_eq!(g.segments.len(), 2, "{:?}", g.segments);
        assert_eq!(g.segments[0].split(' ').count(), 2);
        assert_eq!(g.segments[1].split(' ').count(), 2);
        let (x, y) = g.newest.unwrap();
        // Slot 4 of 6 over 232 units, value 2 of [1, 3].
        assert!((x - (PAD + 4.0 * (WIDTH - 2.0 * PAD) / 5.0)).abs() < 1e-9);
        assert!((y - HEIGHT / 2.0).abs() < 1e-9);
        assert_eq!(g.band, None);
    }

    #[test]
    fn nothing_to_draw_without_values() {
        assert_eq!(geometry(&[], 0, 900, None), Geometry::default());
        assert_eq!(geometry(&[None, None], 0, 900, None), Geometry::default());
    }

    #[test]
    fn the_band_widens_the_scale_and_an_anomaly_is_a_triangle() {
        let values = [Some(10.0), Some(10.0), Some(50.0)];
        let band = SparkBand {
            bucket: 1800,
            lower: 0.0,
            upper: 20.0,
            is_anomaly: true,
        };
        let g = geometry(&values, 0, 900, Some(band));
        let (_, top, _, height) = g.band.unwrap();
        assert!(top > PAD && top + height <= HEIGHT - PAD + 1e-9);
        assert_eq!(g.anomaly, g.newest);
        // A band outside the range is not drawn.
        let late = SparkBand {
            bucket: 2700,
            ..band
        };
        assert_eq!(geometry(&values, 0, 900, Some(late)).band, None);
    }
}
