//! Sorted contiguous array: binary search + one memmove per update.

use super::OrderStatistics;

/// Up to this many values, `replace` shifts element by element (insertion
/// sort step) instead of binary search + `memmove`.
const LINEAR_MAX: usize = 32;

/// A sorted `Vec<f64>`. Insert/remove O(log n) comparisons + O(n) moves (one
/// `memmove`); select O(1). See the module docs for when it is used.
#[derive(Debug, Clone, Default)]
pub struct SortedVec {
    v: Vec<f64>,
}

impl SortedVec {
    /// The values in ascending order.
    pub fn as_slice(&self) -> &[f64] {
        &self.v
    }

    #[inline]
    fn lower_bound(&self, x: f64) -> usize {
        self.v.partition_point(|&y| y < x)
    }
}

impl OrderStatistics for SortedVec {
    fn with_capacity(capacity: usize) -> Self {
        SortedVec {
            v: Vec::with_capacity(capacity),
        }
    }

    #[inline]
    fn insert(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        let i = self.lower_bound(x);
        self.v.insert(i, x);
    }

    #[inline]
    fn remove(&mut self, x: f64) -> bool {
        let i = self.lower_bound(x);
        if self.v.get(i) == Some(&x) {
            self.v.remove(i);
            true
        } else {
            false
        }
    }

    #[inline]
    fn select(&self, k: usize) -> Option<f64> {
        self.v.get(k).copied()
    }

    fn len(&self) -> usize {
        self.v.len()
    }

    fn clear(&mut self) {
        self.v.clear();
    }

    /// One pass: shifts only the elements between the old and the new slot.
    #[inline]
    fn replace(&mut self, old: f64, new: f64) {
        if new.is_nan() {
            self.remove(old);
            return;
        }
        let i = self.lower_bound(old);
        if self.v.get(i) != Some(&old) {
            self.insert(new);
            return;
        }
        let v = self.v.as_mut_slice();
        if v.len() <= LINEAR_MAX {
            let mut j = i;
            if new > old {
                while j + 1 < v.len() && v[j + 1] < new {
                    v[j] = v[j + 1];
                    j += 1;
                }
            } else {
                while j > 0 && v[j - 1] > new {
                    v[j] = v[j - 1];
                    j -= 1;
                }
            }
            v[j] = new;
        } else if new > old {
            // New slot: after every value < new, among v[i+1..]; shift left.
            let j = i + 1 + v[i + 1..].partition_point(|&y| y < new);
            v.copy_within(i + 1..j, i);
            v[j - 1] = new;
        } else {
            // New slot: first value >= new, among v[..i]; shift right.
            let j = v[..i].partition_point(|&y| y < new);
            v.copy_within(j..i, j + 1);
            v[j] = new;
        }
    }
}
