//! A heatmap of F1 or alerts per week over a 10 × 10 grid of the detector's
//! two main parameters. Computed one row per task, yielding to the browser in
//! between (a zero-delay timeout), so the page stays responsive and shows
//! progress; a newer run or a detector change abandons an older one. Clicking
//! a cell applies its parameters. The grid is one tab stop (a roving
//! tabindex): arrow keys, Home and End move between cells, Enter applies.

use detect::eval::{score, tuning, DEFAULT_TOLERANCE};
use detect::{Detection, DetectorSpec};
use leptos::prelude::*;

use super::state::Lab;
use crate::components::perf;

/// Cells per axis.
pub const GRID: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub x: f64,
    pub y: f64,
    pub f1: Option<f64>,
    pub per_week: f64,
}

/// Runs `spec` with parameters (x, y) and scores it; `None` when that setting
/// is invalid.
fn evaluate(lab: Lab, spec: &DetectorSpec, x: f64, y: f64, out: &mut Detection) -> Option<Cell> {
    let knobs = tuning::knobs(spec);
    let mut spec = spec.clone();
    tuning::set(&mut spec, knobs[0].key, x);
    tuning::set(&mut spec, knobs[1].key, y);
    lab.case.with_value(|case| {
        spec.run_into(&case.series, out).ok()?;
        let s = score(out, case, DEFAULT_TOLERANCE);
        let events = s.true_events + s.false_events + s.neutral_events;
        Some(Cell {
            x,
            y,
            f1: s.f1(),
            per_week: tuning::per_week(events, case.series.len(), case.series.step),
        })
    })
}

/// Cell colour: light (bad) to dark blue (good); F1 high is good, alerts per
/// week low is good (on a log scale up to `max`). The text is black or white,
/// whichever contrasts more with the cell: at least 4.6:1 on every shade.
fn shade(cell: &Cell, show_f1: bool, max_per_week: f64) -> String {
    let goodness = if show_f1 {
        cell.f1.unwrap_or(0.0)
    } else {
        1.0 - (1.0 + cell.per_week).ln() / (1.0 + max_per_week).ln().max(1e-9)
    };
    let lightness = 95.0 - 55.0 * goodness.clamp(0.0, 1.0);
    format!(
        "background: hsl({HUE}, {SATURATION}%, {lightness:.0}%); color: {}",
        text_on(lightness.round())
    )
}

const HUE: f64 = 212.0;
const SATURATION: f64 = 60.0;

/// Black or white text, whichever contrasts more with the cell's blue of
/// `lightness` percent (WCAG contrast: the lighter luminance plus 0.05 over
/// the darker plus 0.05).
fn text_on(lightness: f64) -> &'static str {
    let background = luminance(lightness);
    if 1.05 / (background + 0.05) >= (background + 0.05) / 0.05 {
        "#fff"
    } else {
        "#000"
    }
}

/// WCAG relative luminance of hsl(HUE, SATURATION%, `lightness`%).
fn luminance(lightness: f64) -> f64 {
    let (s, l) = (SATURATION / 100.0, lightness / 100.0);
    let a = s * l.min(1.0 - l);
    let channel = |n: f64| {
        let k = (n + HUE / 30.0) % 12.0;
        let c = l - a * (k - 3.0).min(9.0 - k).clamp(-1.0, 1.0);
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0.0) + 0.7152 * channel(8.0) + 0.0722 * channel(4.0)
}

#[component]
pub fn Heatmap(lab: Lab) -> impl IntoView {
    let cells = RwSignal::new(Vec::<Option<Cell>>::new());
    let rows_done = RwSignal::new(0usize);
    let running = RwSignal::new(false);
    let show_f1 = RwSignal::new(true);
    let allow_slow = RwSignal::new(false);
    let elapsed = RwSignal::new(None::<f64>);
    // The cell that takes the grid's one tab stop; `None` until the keyboard
    // or a click picks one (then the applied cell, else the first, has it).
    let active = RwSignal::new(None::<usize>);
    // Identifies the current run; a stale row task sees a newer one and stops.
    let generation = StoredValue::new(0u64);
    let name = Memo::new(move |_| lab.spec.with(|s| s.name()));
    let is_slow = move || lab.spec.with(|s| s.is_slow());
    // A new detector invalidates the old map.
    Effect::new(move |previous: Option<&'static str>| {
        let now = name.get();
        if previous.is_some_and(|p| p != now) {
            generation.update_value(|g| *g += 1);
            cells.set(Vec::new());
            rows_done.set(0);
            running.set(false);
            elapsed.set(None);
        }
        now
    });

    let start = move |_| {
        let spec = lab.spec.get_untracked();
        if lab.error.get_untracked().is_some() {
            return;
        }
        let knobs = tuning::knobs(&spec);
        let xs = tuning::grid(&knobs[0], GRID);
        let ys = tuning::grid(&knobs[1], GRID);
        generation.update_value(|g| *g += 1);
        let run = generation.get_value();
        cells.set(Vec::with_capacity(xs.len() * ys.len()));
        active.set(None);
        rows_done.set(0);
        running.set(true);
        elapsed.set(None);
        perf::mark(perf::HEATMAP_MARK);
        let started = now_ms();
        let scratch = StoredValue::new(Detection::new());
        step_rows(
            lab,
            spec,
            xs,
            ys,
            0,
            run,
            generation,
            cells,
            rows_done,
            running,
            scratch,
            move || {
                perf::measure(perf::HEATMAP_MEASURE, perf::HEATMAP_MARK);
                elapsed.set(Some(now_ms() - started));
            },
        );
    };

    let apply = move |cell: Cell, index: usize| {
        let mut spec = lab.spec.get_untracked();
        let knobs = tuning::knobs(&spec);
        tuning::set(&mut spec, knobs[0].key, cell.x);
        tuning::set(&mut spec, knobs[1].key, cell.y);
        active.set(Some(index));
        lab.apply(spec);
        // Applying redraws the grid (the selected cell moves); the keyboard
        // stays on the cell it applied.
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                focus_cell(index);
            },
            std::time::Duration::ZERO,
        );
    };
    let axes = move || {
        let spec = DetectorSpec::default_for(name.get()).ok()?;
        let k = tuning::knobs(&spec);
        Some((k[0], k[1]))
    };
    let current = move || {
        lab.spec.with(|s| {
            let k = tuning::knobs(s);
            (tuning::get(s, k[0].key), tuning::get(s, k[1].key))
        })
    };

    view! {
        <section class="heatmap" aria-labelledby="heatmap-title">
            <h2 id="heatmap-title">"Parameter heatmap"</h2>
            <div class="row">
                <fieldset class="toggle">
                    <legend>"Show"</legend>
                    <label><input type="radio" name="heatmap-metric" prop:checked=move || show_f1.get() on:change=move |_| show_f1.set(true)/>"F1"</label>
                    <label><input type="radio" name="heatmap-metric" id="heatmap-per-week" prop:checked=move || !show_f1.get() on:change=move |_| show_f1.set(false)/>"alerts / week"</label>
                </fieldset>
                {move || is_slow().then(|| view! {
                    <label class="slow">
                        <input type="checkbox" prop:checked=move || allow_slow.get() on:change=move |ev| allow_slow.set(event_target_checked(&ev))/>
                        "run the forecast 100 times (slow: minutes)"
                    </label>
                })}
                <button
                    type="button"
                    data-testid="heatmap-run"
                    disabled=move || running.get() || (is_slow() && !allow_slow.get())
                    on:click=start
                >"Compute heatmap"</button>
                <span role="status" data-testid="heatmap-status">
                    {move || {
                        if running.get() {
                            format!("computing… row {} of {GRID}", rows_done.get())
                        } else if let Some(ms) = elapsed.get() {
                            format!("done in {ms:.0} ms")
                        } else if is_slow() {
                            "the forecast is slow: not run by default".to_string()
                        } else {
                            String::new()
                        }
                    }}
                </span>
            </div>
            {move || {
                let (kx, ky) = axes()?;
                let all = cells.get();
                if all.is_empty() {
                    return None;
                }
                let max_per_week = all.iter().flatten().map(|c| c.per_week).fold(1.0, f64::max);
                let f1 = show_f1.get();
                let (cx, cy) = current();
                let ys = tuning::grid(&ky, GRID);
                let xs = tuning::grid(&kx, GRID);
                let (columns, rows) = (xs.len(), ys.len());
                // Without a pick yet, the applied cell (else the first) is the tab stop.
                let resting = all
                    .iter()
                    .position(|c| c.is_some_and(|c| cx == Some(c.x) && cy == Some(c.y)))
                    .unwrap_or(0);
                let on_key = move |ev: leptos::ev::KeyboardEvent, index: usize| {
                    if let Some(next) = neighbour(&ev.key(), index, columns, rows) {
                        ev.prevent_default();
                        if focus_cell(next) {
                            active.set(Some(next));
                        }
                    }
                };
                Some(view! {
                    <p class="hint" id="heatmap-keys">"Arrow keys move between cells; Enter applies one."</p>
                    <div class="heatmap-scroll">
                        <table data-testid="heatmap" role="grid" aria-describedby="heatmap-keys">
                            <caption>{format!("{} across, {} down", kx.label, ky.label)}</caption>
                            <thead><tr><th scope="col">{format!("{} \\ {}", ky.key, kx.key)}</th>
                                {xs.iter().map(|x| view! { <th scope="col">{x.to_string()}</th> }).collect_view()}
                            </tr></thead>
                            <tbody>
                                {ys.iter().enumerate().map(|(row, y)| {
                                    let y = *y;
                                    view! {
                                        <tr>
                                            <th scope="row">{y.to_string()}</th>
                                            {(0..xs.len()).map(|col| {
                                                let index = row * xs.len() + col;
                                                let cell = all.get(index).copied().flatten();
                                                match cell {
                                                    Some(cell) => {
                                                        let text = if f1 { cell.f1.map_or("–".to_string(), |v| format!("{v:.2}")) } else { format!("{:.1}", cell.per_week) };
                                                        let label = format!("{}={}, {}={}: F1 {}, {:.1} alerts per week", kx.key, cell.x, ky.key, cell.y, cell.f1.map_or("undefined".to_string(), |v| format!("{v:.2}")), cell.per_week);
                                                        let selected = cx == Some(cell.x) && cy == Some(cell.y);
                                                        let tab_stop = move || if active.get().unwrap_or(resting) == index { 0 } else { -1 };
                                                        view! {
                                                            <td aria-selected=selected.to_string()>
                                                                <button
                                                                    type="button"
                                                                    class="cell"
                                                                    id=cell_id(index)
                                                                    class:selected=selected
                                                                    tabindex=tab_stop
                                                                    style=shade(&cell, f1, max_per_week)
                                                                    aria-label=label
                                                                    on:keydown=move |ev| on_key(ev, index)
                                                                    on:click=move |_| apply(cell, index)
                                                                >{text}</button>
                                                            </td>
                                                        }.into_any()
                                                    }
                                                    None => view! { <td class="pending">""</td> }.into_any(),
                                                }
                                            }).collect_view()}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                })
            }}
        </section>
    }
    .into_any()
}

/// The cell `key` moves to from `index` in a grid `columns` wide and `rows`
/// high; `None` for other keys and at the grid's edges.
fn neighbour(key: &str, index: usize, columns: usize, rows: usize) -> Option<usize> {
    let (row, col) = (index / columns.max(1), index % columns.max(1));
    match key {
        "ArrowRight" if col + 1 < columns => Some(index + 1),
        "ArrowLeft" if col > 0 => Some(index - 1),
        "ArrowDown" if row + 1 < rows => Some(index + columns),
        "ArrowUp" if row > 0 => Some(index - columns),
        "Home" => Some(row * columns),
        "End" => Some(row * columns + columns.saturating_sub(1)),
        _ => None,
    }
}

fn cell_id(index: usize) -> String {
    format!("heatmap-cell-{index}")
}

/// Moves the keyboard to cell `index`; false when it is not there (not
/// computed yet, or an invalid setting).
fn focus_cell(index: usize) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        document()
            .get_element_by_id(&cell_id(index))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            .is_some_and(|e| e.focus().is_ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = index;
        false
    }
}

/// Milliseconds from the page's time origin (0 on the server).
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Computes row `row` of the grid, then schedules the next one after a yield.
#[allow(clippy::too_many_arguments)]
fn step_rows(
    lab: Lab,
    spec: DetectorSpec,
    xs: Vec<f64>,
    ys: Vec<f64>,
    row: usize,
    run: u64,
    generation: StoredValue<u64>,
    cells: RwSignal<Vec<Option<Cell>>>,
    rows_done: RwSignal<usize>,
    running: RwSignal<bool>,
    scratch: StoredValue<Detection>,
    done: impl FnOnce() + Send + Sync + 'static,
) {
    if generation.get_value() != run {
        return;
    }
    if row >= ys.len() {
        running.set(false);
        done();
        return;
    }
    let y = ys[row];
    let computed: Vec<Option<Cell>> = scratch
        .try_update_value(|out| {
            xs.iter()
                .map(|&x| evaluate(lab, &spec, x, y, out))
                .collect()
        })
        .unwrap_or_default();
    cells.update(|c| c.extend(computed));
    rows_done.set(row + 1);
    let next = move || {
        step_rows(
            lab,
            spec,
            xs,
            ys,
            row + 1,
            run,
            generation,
            cells,
            rows_done,
            running,
            scratch,
            done,
        )
    };
    #[cfg(feature = "hydrate")]
    set_timeout(next, std::time::Duration::ZERO);
    #[cfg(not(feature = "hydrate"))]
    next();
}

#[cfg(test)]
mod tests {
    use super::{luminance, neighbour, text_on};

    #[test]
    fn cell_text_contrasts_at_least_4_5_to_1_on_every_shade() {
        for lightness in 40..=95 {
            let background = luminance(f64::from(lightness));
            let text = if text_on(f64::from(lightness)) == "#fff" {
                1.0
            } else {
                0.0
            };
            let (hi, lo) = (background.max(text), background.min(text));
            let ratio = (hi + 0.05) / (lo + 0.05);
            assert!(ratio >= 4.5, "{lightness}%: {ratio:.2}:1");
        }
        // The shade the issue measured: white on mid-blue was 3.3:1.
        assert_eq!(text_on(58.0), "#000");
        assert_eq!(text_on(40.0), "#fff");
    }

    #[test]
    fn arrow_keys_stop_at_the_grid_edges() {
        assert_eq!(neighbour("ArrowRight", 0, 10, 10), Some(1));
        assert_eq!(neighbour("ArrowRight", 9, 10, 10), None);
        assert_eq!(neighbour("ArrowLeft", 10, 10, 10), None);
        assert_eq!(neighbour("ArrowDown", 5, 10, 10), Some(15));
        assert_eq!(neighbour("ArrowDown", 95, 10, 10), None);
        assert_eq!(neighbour("ArrowUp", 15, 10, 10), Some(5));
        assert_eq!(neighbour("ArrowUp", 5, 10, 10), None);
        assert_eq!(neighbour("Home", 37, 10, 10), Some(30));
        assert_eq!(neighbour("End", 30, 10, 10), Some(39));
        assert_eq!(neighbour("Enter", 30, 10, 10), None);
    }
}
