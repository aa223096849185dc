//! What the pages ask the server for: plain data types and the server functions
//! that return them. The server functions only declare the contract; the server
//! binary supplies a [`backend::Backend`] through Leptos context, so this crate
//! never depends on a database or a config file.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A metric as the pages list it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    pub name: String,
    pub title: String,
}

/// A metric's recent history at a fixed step; `None` marks a bucket with no data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricHistory {
    pub name: String,
    pub title: String,
    /// Unix seconds of the first bucket.
    pub start: i64,
    /// Seconds between buckets.
    pub step: i64,
    pub values: Vec<Option<f64>>,
}

impl MetricHistory {
    /// The history as the detection crate's series type.
    pub fn to_series(&self) -> Result<detect::Series, detect::DetectError> {
        detect::Series::new(self.start, self.step, self.values.clone())
    }
}

/// Days of history the metric page loads.
pub const HISTORY_DAYS: u32 = 14;

#[server]
pub async fn fetch_metrics() -> Result<Vec<MetricSummary>, ServerFnError> {
    let backend = backend::from_context()?;
    Ok(backend.metrics())
}

#[server]
pub async fn fetch_metric_history(name: String, days: u32) -> Result<MetricHistory, ServerFnError> {
    let backend = backend::from_context()?;
    // One month is the longest history a page asks for; bound it so a crafted
    // request cannot make the server read years of events.
    let days = days.clamp(1, 31);
    backend
        .history(&name, days)
        .await
        .map_err(ServerFnError::new)
}

/// The server side of the contract, implemented by the `vigil` binary.
#[cfg(feature = "ssr")]
pub mod backend {
    use super::{MetricHistory, MetricSummary};
    use leptos::prelude::*;
    use std::{future::Future, pin::Pin, sync::Arc};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Data access for the pages. Errors are messages fit to show a user: they
    /// must never contain secrets.
    pub trait Backend: Send + Sync + 'static {
        fn metrics(&self) -> Vec<MetricSummary>;
        fn history<'a>(
            &'a self,
            name: &'a str,
            days: u32,
        ) -> BoxFuture<'a, Result<MetricHistory, String>>;
    }

    /// Cheap to clone; provided as Leptos context for rendering and server functions.
    #[derive(Clone)]
    pub struct BackendHandle(pub Arc<dyn Backend>);

    pub fn from_context() -> Result<Arc<dyn Backend>, ServerFnError> {
        use_context::<BackendHandle>()
            .map(|handle| handle.0)
            .ok_or_else(|| ServerFnError::new("vigil backend missing from context"))
    }
}
