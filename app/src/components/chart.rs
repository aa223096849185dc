//! The metric chart: a `<canvas>` redrawn by plotters whenever the detection,
//! the visible range, the replay cursor or the focused bucket changes, with
//! range presets, zoom and pan (buttons, wheel, drag, arrow keys), axis
//! labels as HTML over it, and a tooltip for the bucket under the pointer
//! (hover, tap, or Shift+arrows). Drawing exists only in the browser; the
//! server renders the empty canvas and the controls around it.

#[cfg(feature = "hydrate")]
mod draw;
pub mod scale;
mod tip;

pub use scale::band;

use detect::eval::{IncidentSpan, LabelledSeries};
use detect::Detection;
use leptos::prelude::*;

use crate::format::Quantity;
use scale::Axes;

/// A shaded stretch of the chart: a labelled span, coloured by how it counts
/// (an incident, a neutral span, a false alarm).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shade {
    pub span: IncidentSpan,
    pub role: crate::api::LabelRole,
}

/// What one redraw needs besides the series and detection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// Visible buckets `[from, to)`.
    pub view: (usize, usize),
    /// Replay: draw only buckets up to and including this one.
    pub cursor: Option<usize>,
    /// A bucket to mark with a vertical line.
    pub focus: Option<usize>,
}

/// Fewest buckets a zoom shows (four hours of 15-minute buckets).
const MIN_VISIBLE: usize = 16;

/// `view` zoomed by `factor` (< 1 zooms in) around bucket `center`, clamped to `len`.
pub fn zoom(view: (usize, usize), len: usize, factor: f64, center: usize) -> (usize, usize) {
    let (from, to) = view;
    let width = (to - from).max(1) as f64;
    let new_width = ((width * factor).round() as usize).clamp(MIN_VISIBLE.min(len), len.max(1));
    let share = (center.clamp(from, to) - from) as f64 / width;
    let new_from = (center as f64 - share * new_width as f64).round().max(0.0) as usize;
    let new_from = new_from.min(len.saturating_sub(new_width));
    (new_from, (new_from + new_width).min(len))
}

/// `view` moved by `shift` buckets (negative: back in time), clamped to `len`.
pub fn pan(view: (usize, usize), len: usize, shift: i64) -> (usize, usize) {
    let width = view.1 - view.0;
    let from = (view.0 as i64 + shift).clamp(0, len.saturating_sub(width) as i64) as usize;
    (from, from + width)
}

#[component]
pub fn DetectionChart(
    case: StoredValue<LabelledSeries>,
    detection: RwSignal<Detection>,
    shades: StoredValue<Vec<Shade>>,
    view: RwSignal<(usize, usize)>,
    cursor: RwSignal<Option<usize>>,
    focus: RwSignal<Option<usize>>,
    quantity: Quantity,
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let len = case.with_value(|c| c.series.len());
    let per_day = case.with_value(|c| (86_400 / c.series.step.max(1)) as usize);
    // Bumped on window resize so the canvas is redrawn at its new size.
    let resized = RwSignal::new(0u32);
    // The axes of the last drawing (for the labels and the pointer), and the
    // bucket the tooltip tells about.
    let axes = RwSignal::new(None::<Axes>);
    let hover = RwSignal::new(None::<usize>);

    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::resize, move |_| {
            resized.update(|n| *n = n.wrapping_add(1))
        });
        on_cleanup(move || handle.remove());
        Effect::new(move |_| {
            resized.track();
            let Some(canvas) = canvas_ref.get() else {
                return;
            };
            let frame = Frame {
                view: view.get(),
                cursor: cursor.get(),
                focus: focus.get(),
            };
            let plot = scale::Plot {
                width: f64::from(canvas.client_width()),
                height: f64::from(canvas.client_height()),
            };
            let drawn = detection.with(|detection| {
                case.with_value(|case| {
                    let series = &case.series;
                    let (from, to) = frame.view;
                    let to = to.min(series.len()).min(detection.len());
                    let points: Vec<_> = (from.min(to)..to).map(|i| detection.point(i)).collect();
                    let span = (
                        series.timestamp(from),
                        series.timestamp(to.max(from + 1) - 1) + series.step,
                    );
                    let drawn = Axes::new(plot, span, &points, quantity);
                    shades.with_value(|shades| {
                        let out =
                            draw::draw(&canvas, series, detection, shades, frame, &drawn, quantity);
                        if let Err(error) = out {
                            leptos::logging::error!("chart: {error}");
                        }
                    });
                    drawn
                })
            });
            axes.set(Some(drawn));
            crate::components::perf::finish(
                crate::components::perf::UPDATE_MEASURE,
                crate::components::perf::CHANGE_MARK,
            );
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (shades, cursor, resized);

    let preset = move |days: Option<usize>| {
        focus.set(None);
        view.set(match days {
            Some(d) => (len.saturating_sub(d * per_day), len),
            None => (0, len),
        });
    };
    // Exactly one preset reads as pressed: a preset at least as long as the
    // history shows all of it, which is "all"'s.
    let is_preset = move |days: Option<usize>| {
        let want = days.map_or(Some(len), |d| Some(d * per_day).filter(|&w| w < len));
        move || {
            let (from, to) = view.get();
            (to == len && Some(to - from) == want).to_string()
        }
    };
    let center = move || {
        let (from, to) = view.get_untracked();
        (from + to) / 2
    };
    let zoom_by = move |factor: f64, at: usize| view.update(|v| *v = zoom(*v, len, factor, at));
    let pan_by = move |fraction: f64| {
        view.update(|v| {
            let shift = ((v.1 - v.0) as f64 * fraction).round() as i64;
            *v = pan(*v, len, shift)
        })
    };
    // Shift+arrows step the tooltip through the visible buckets.
    let step_hover = move |by: i64| {
        let (from, to) = view.get_untracked();
        let at = hover.get_untracked().unwrap_or(to.saturating_sub(1)) as i64 + by;
        hover.set(Some(
            (at.max(from as i64) as usize).min(to.saturating_sub(1)),
        ));
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let handled = match ev.key().as_str() {
            "ArrowLeft" if ev.shift_key() => {
                step_hover(-1);
                true
            }
            "ArrowRight" if ev.shift_key() => {
                step_hover(1);
                true
            }
            "Escape" => {
                hover.set(None);
                true
            }
            "ArrowLeft" => {
                pan_by(-0.25);
                true
            }
            "ArrowRight" => {
                pan_by(0.25);
                true
            }
            "+" | "=" | "ArrowUp" => {
                zoom_by(0.5, center());
                true
            }
            "-" | "ArrowDown" => {
                zoom_by(2.0, center());
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    };
    // The bucket under a pointer at `offset_x` CSS pixels of a canvas `width` wide.
    let bucket_at = move |offset_x: f64, width: f64| {
        let (from, to) = view.get_untracked();
        let share = (offset_x / width.max(1.0)).clamp(0.0, 1.0);
        from + ((to - from) as f64 * share) as usize
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        let width = canvas_ref
            .get_untracked()
            .map_or(1.0, |c| f64::from(c.client_width()));
        let at = bucket_at(f64::from(ev.offset_x()), width);
        zoom_by(if ev.delta_y() < 0.0 { 0.8 } else { 1.25 }, at);
    };
    // Drag to pan: where the pointer went down, and the view then.
    let drag = StoredValue::new(None::<(i32, (usize, usize))>);
    // The bucket under the pointer, told by the tooltip (a tap shows it too).
    let point_at = move |ev: &leptos::ev::PointerEvent| {
        let (from, to) = view.get_untracked();
        let t = axes.with_untracked(|a| a.as_ref()?.time_at(f64::from(ev.offset_x())))?;
        let i = case.with_value(|c| (t - c.series.start).div_euclid(c.series.step.max(1)));
        usize::try_from(i).ok().filter(|i| (from..to).contains(i))
    };
    let on_down = move |ev: leptos::ev::PointerEvent| {
        drag.set_value(Some((ev.client_x(), view.get_untracked())));
        hover.set(point_at(&ev));
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some((x0, start)) = drag.get_value() else {
            hover.set(point_at(&ev));
            return;
        };
        if ev.client_x() != x0 {
            hover.set(None);
        }
        let width = canvas_ref
            .get_untracked()
            .map_or(1.0, |c| f64::from(c.client_width()));
        let buckets = (start.1 - start.0) as f64 * f64::from(x0 - ev.client_x()) / width.max(1.0);
        view.set(pan(start, len, buckets.round() as i64));
    };
    let on_up = move |_| drag.set_value(None);
    // A mouse leaving takes its tooltip along; a finger lifted leaves it.
    let on_leave = move |ev: leptos::ev::PointerEvent| {
        drag.set_value(None);
        if ev.pointer_type() == "mouse" {
            hover.set(None);
        }
    };
    // The axes' labels, `y` the value axis, placed in the canvas's CSS pixels.
    let labels = move |y: bool| {
        let (class, side) = if y {
            ("tick tick-y", "top")
        } else {
            ("tick tick-x", "left")
        };
        move || {
            axes.with(|a| a.as_ref().map(|a| a.labels(y)))
                .unwrap_or_default()
                .into_iter()
                .map(|(px, text)| {
                    view! { <span class=class style=format!("{side}: {px:.1}px")>{text}</span> }
                })
                .collect_view()
        }
    };

    view! {
        <figure class="chart">
            <div class="chart-tools" role="toolbar" aria-label="Chart range">
                <button type="button" aria-pressed=is_preset(Some(1)) on:click=move |_| preset(Some(1))>"1d"</button>
                <button type="button" aria-pressed=is_preset(Some(7)) on:click=move |_| preset(Some(7))>"7d"</button>
                <button type="button" aria-pressed=is_preset(Some(30)) on:click=move |_| preset(Some(30))>"30d"</button>
                <button type="button" aria-pressed=is_preset(None) on:click=move |_| preset(None)>"all"</button>
                <span class="sep"></span>
                <button type="button" aria-label="Zoom in" on:click=move |_| zoom_by(0.5, center())>"+"</button>
                <button type="button" aria-label="Zoom out" on:click=move |_| zoom_by(2.0, center())>"−"</button>
                <button type="button" aria-label="Earlier" on:click=move |_| pan_by(-0.25)>"←"</button>
                <button type="button" aria-label="Later" on:click=move |_| pan_by(0.25)>"→"</button>
            </div>
            <div class="chart-plot">
            <canvas
                node_ref=canvas_ref
                width="960"
                height="360"
                tabindex="0"
                data-testid="metric-chart"
                role="img"
                aria-label="Metric value over time with the expected band; anomalies marked with triangles, labelled incidents shaded. Arrow keys pan, plus and minus zoom, Shift with arrows steps through the buckets' values."
                on:keydown=on_key
                on:wheel=on_wheel
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=on_up
                on:pointerleave=on_leave
            ></canvas>
            <div class="chart-axis" aria-hidden="true" data-testid="chart-x-axis">{labels(false)}</div>
            <div class="chart-axis" aria-hidden="true" data-testid="chart-y-axis">{labels(true)}</div>
            <tip::Tip case detection axes hover quantity/>
            </div>
            <figcaption class="legend">
                <span class="key key-value">"value"</span>
                <span class="key key-band">"expected band"</span>
                <span class="key key-anomaly">"▲ anomaly"</span>
                <span class="key key-label">"labelled incident"</span>
                <span class="key key-neutral">"slice incident or expected"</span>
                <span class="key key-false-alarm">"false alarm"</span>
            </figcaption>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_and_pan_stay_inside() {
        assert_eq!(zoom((0, 100), 100, 0.5, 50), (25, 75));
        assert_eq!(zoom((0, 100), 100, 4.0, 50), (0, 100));
        // Never narrower than MIN_VISIBLE.
        assert_eq!(
            zoom((40, 60), 100, 0.1, 50).1 - zoom((40, 60), 100, 0.1, 50).0,
            16
        );
        // Zooming at the edge keeps the edge.
        assert_eq!(zoom((0, 100), 100, 0.5, 0), (0, 50));
        assert_eq!(pan((10, 30), 100, -50), (0, 20));
        assert_eq!(pan((10, 30), 100, 500), (80, 100));
        assert_eq!(pan((0, 100), 100, 5), (0, 100));
    }
}
