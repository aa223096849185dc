//! Least-recently-used eviction for the sources' in-memory caches (the
//! embedded store's and ClickHouse's bucket caches), so both evict by one
//! rule.

use std::collections::HashMap;
use std::hash::Hash;

/// Removes the least recently used entries of `entries` until at most `max`
/// remain; `used` reads an entry's use counter (higher = more recent).
pub(crate) fn keep_most_recent<K, V>(
    entries: &mut HashMap<K, V>,
    max: usize,
    used: impl Fn(&V) -> u64,
) where
    K: Eq + Hash + Clone,
{
    while entries.len() > max {
        let Some(oldest) = entries
            .iter()
            .min_by_key(|(_, entry)| used(entry))
            .map(|(key, _)| key.clone())
        else {
            break;
        };
        entries.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first() {
        let mut entries: HashMap<&str, u64> = [("a", 3), ("b", 1), ("c", 5), ("d", 2)].into();
        keep_most_recent(&mut entries, 2, |used| *used);
        let mut kept: Vec<&str> = entries.keys().copied().collect();
        kept.sort();
        assert_eq!(kept, ["a", "c"]);
        keep_most_recent(&mut entries, 5, |used| *used);
        assert_eq!(entries.len(), 2, "within the limit: nothing goes");
    }
}
