//! The IQR rule's engines: how [`iqr`](crate::iqr) and
//! [`IqrState`](crate::IqrState) get each window's order statistics, fast.
//! The rule itself (quantiles, band, smoothing, assessment) is
//! `detectors/iqr.rs`; everything here returns the same order statistics
//! whichever engine runs, so the bands are bit-identical. See `README.md`
//! here for which engine runs when and why.
//!
//! * [`window`] — rolling order statistics (sorted array, treap, blocks,
//!   tracked ranks, sorting networks).
//! * `sources` — the providers the rule reads ranks and raw bands from.
//! * `iqr` — engine selection, the causal block pipeline and its SIMD dispatch.
//! * `prefetch` — the second thread that runs a provider ahead.

pub(crate) mod iqr;
pub(crate) mod prefetch;
pub(crate) mod sources;
pub mod window;

#[cfg(test)]
mod iqr_tests;
