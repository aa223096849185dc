//! The metric chart: a `<canvas>` redrawn by plotters whenever the detection
//! result changes. Drawing exists only in the browser; the server renders the
//! empty canvas and the text around it.

#[cfg(feature = "hydrate")]
mod draw;

use detect::Series;
use leptos::prelude::*;

/// Detection output as the pages hold it: the points (as columns), or a
/// message for the user.
pub type Detection = Result<detect::Detection, String>;

#[component]
pub fn DetectionChart(series: StoredValue<Series>, detection: Memo<Detection>) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        detection.with(|result| {
            let Ok(detection) = result else { return };
            series.with_value(|series| {
                if let Err(error) = draw::draw(&canvas, series, detection) {
                    leptos::logging::error!("chart: {error}");
                }
            })
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (series, detection);

    view! {
        <figure class="chart">
            <canvas
                node_ref=canvas_ref
                width="960"
                height="360"
                data-testid="metric-chart"
                role="img"
                aria-label="Metric value over time with the expected band; anomalies marked with triangles"
            ></canvas>
            <figcaption class="legend">
                <span class="key key-value">"value"</span>
                <span class="key key-band">"expected band"</span>
                <span class="key key-anomaly">"▲ anomaly"</span>
            </figcaption>
        </figure>
    }
}
