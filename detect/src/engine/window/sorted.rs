//! Sorted contiguous array: binary search + one memmove per update.

use super::OrderStatistics;

/// Up to this many values, `replace` rebuilds the array branch-free (see
/// [`replace_small`]) instead of binary search + `memmove`.
const LINEAR_MAX: usize = 32;

/// Replaces one copy of `old` by `new` in the sorted `v` (`len <= LINEAR_MAX`)
/// without data-dependent branches: on noisy data the slot of each value is
/// random, and a mispredicted branch costs more than a short pass of
/// conditional moves. Returns false (and leaves `v` alone) when `old` is
/// absent.
#[inline]
fn replace_small(v: &mut [f64], old: f64, new: f64) -> bool {
    let len = v.len();
    // Uninitialised would do (every read slot is written first), but zeroing
    // 256 bytes costs nothing measurable here.
    let mut tmp = [0.0; LINEAR_MAX];
    let i = v.iter().filter(|&&y| y < old).count();
    if v.get(i) != Some(&old) {
        return false;
    }
    // Without v[i]; q = slot of `new` among the rest.
    let mut q = 0;
    for j in 0..len - 1 {
        let x = if j < i { v[j] } else { v[j + 1] };
        tmp[j] = x;
        q += usize::from(x < new);
    }
    for (j, slot) in v.iter_mut().enumerate() {
        // j <= len - 1 < LINEAR_MAX; tmp[len - 1] is stale but then j >= q.
        let (kept, shifted) = (tmp[j], tmp[j.saturating_sub(1)]);
        *slot = if j < q {
            kept
        } else if j == q {
            new
        } else {
            shifted
        };
    }
    true
}

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
        let v = self.v.as_mut_slice();
        if v.len() <= LINEAR_MAX {
            if !replace_small(v, old, new) {
                self.insert(new);
            }
            return;
        }
        let i = v.partition_point(|&y| y < old);
        if v.get(i) != Some(&old) {
            self.insert(new);
            return;
        }
        if new > old {
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
