//! Tests every state implementation runs. Each takes a [`Backend`] (every
//! `open` is another handle on the same state: a restart, or a second vigil
//! instance) and asserts what the traits promise, so SQLite and PostgreSQL
//! are held to the same semantics by the same code. [`all_store_tests`]
//! declares them as `#[test]`s for one backend.

pub mod alerts;
pub mod concerns;
pub mod late_rows;
pub mod leases;
pub mod property;
pub mod reports;

use crate::state::StateStore;

/// One state to test on.
pub trait Backend {
    /// Another handle on this state.
    fn open(&self) -> Box<dyn StateStore>;
    /// A new, empty state of the same kind.
    fn fresh(&self) -> Box<dyn Backend>;
}

/// Declares every shared store test as a `#[test]` on the backend that
/// `$backend` (an expression of type `Option<impl Backend>`, `None` to skip)
/// gives, with `$cases` cases of the property test.
macro_rules! all_store_tests {
    ($backend:expr, $cases:expr) => {
        $crate::state::store_tests::all_store_tests!(@each $backend;
            alerts::restart_neither_repeats_nor_skips,
            alerts::an_anomaly_soon_after_resolution_reopens_the_alert_across_a_restart,
            alerts::crash_before_mark_sent_loses_nothing_and_sends_once,
            alerts::failures_back_off_on_schedule_and_honour_retry_after,
            alerts::telegram_down_for_an_hour_then_queued_alerts_arrive_in_order,
            alerts::silence_mutes_and_labels_are_recorded,
            alerts::gap_does_nothing_in_the_store,
            alerts::history_shows_each_alerts_delivery_status,
            alerts::configured_silences_are_added_once,
            alerts::an_item_that_failed_then_went_through_counts_as_sent,
            alerts::a_started_check_stays_unfinished_across_a_restart_until_recorded_ok,
            concerns::an_empty_store_has_no_latest_evaluation,
            concerns::keeps_the_newest_whole_metric_evaluation_across_a_restart,
            concerns::a_recheck_of_an_older_bucket_does_not_replace_the_newest,
            concerns::one_stale_alert_per_table_apart_from_the_source_alert,
            concerns::labels_survive_reopening_and_removal_hides_them,
            concerns::applied_settings_override_the_config_until_reverted_and_keep_a_history,
            late_rows::checked_inputs_are_kept_for_their_window_and_rechecked_once,
            late_rows::an_alert_on_data_that_arrived_late_is_withdrawn,
            late_rows::an_anomaly_the_late_rows_show_opens_late,
            leases::one_leader_at_a_time,
            leases::an_outbox_item_is_claimed_by_one_sender,
            leases::unsent_claims_of_a_failed_batch_are_released,
            reports::a_report_is_created_once_per_date_and_chat,
            reports::a_report_is_claimed_by_one_sender,
        );

        #[test]
        fn duplicates_and_restarts_give_the_clean_history() {
            if let Some(backend) = $backend {
                $crate::state::store_tests::property::duplicates_and_restarts_give_the_clean_history(
                    &backend, $cases,
                );
            }
        }
    };
    (@each $backend:expr; $($module:ident::$test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                if let Some(backend) = $backend {
                    $crate::state::store_tests::$module::$test(&backend);
                }
            }
        )*
    };
}
pub(crate) use all_store_tests;
