//! One value per bucket, each present or absent, in 4 bytes while every
//! value is a whole number and in 8 after the first that is not.
//!
//! Counts and distinct counts, four of the five kinds of series a check of
//! city slices caches, are whole numbers: as `u32` they take half the
//! memory of `f64` (about 30 MB of a 10,000-series check). A ratio, or a
//! count past `u32`'s range, turns the whole series into `f64` once, so a
//! value read back is always exactly the value stored.

/// Marks an absent whole number: no count reaches it (it is one above the
/// largest stored, see [`whole`]).
const ABSENT: u32 = u32::MAX;

#[derive(Clone, Debug, PartialEq)]
pub enum Cells {
    Whole(Vec<u32>),
    /// NaN where absent (query values are never NaN).
    Real(Vec<f64>),
}

impl Default for Cells {
    fn default() -> Self {
        Cells::Whole(Vec::new())
    }
}

/// `value` as a stored whole number, when it is one.
fn whole(value: f64) -> Option<u32> {
    (value >= 0.0 && value < f64::from(ABSENT) && value.fract() == 0.0).then_some(value as u32)
}

impl Cells {
    pub fn len(&self) -> usize {
        match self {
            Cells::Whole(v) => v.len(),
            Cells::Real(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        match self {
            Cells::Whole(v) => v.capacity(),
            Cells::Real(v) => v.capacity(),
        }
    }

    /// The value at `index`; NaN when absent. Panics past the end, like a
    /// slice (callers index within `len`).
    pub fn get(&self, index: usize) -> f64 {
        match self {
            Cells::Whole(v) if v[index] == ABSENT => f64::NAN,
            Cells::Whole(v) => f64::from(v[index]),
            Cells::Real(v) => v[index],
        }
    }

    pub fn is_present(&self, index: usize) -> bool {
        !self.get(index).is_nan()
    }

    /// Sets the value at `index` (NaN: absent), widening to `f64` first
    /// when it is not a whole number.
    pub fn set(&mut self, index: usize, value: f64) {
        if let Cells::Whole(v) = self {
            match whole(value) {
                Some(n) => {
                    v[index] = n;
                    return;
                }
                None if value.is_nan() => {
                    v[index] = ABSENT;
                    return;
                }
                None => self.widen(),
            }
        }
        if let Cells::Real(v) = self {
            v[index] = value;
        }
    }

    fn widen(&mut self) {
        if let Cells::Whole(v) = self {
            let mut real = Vec::with_capacity(v.capacity());
            real.extend(
                v.iter()
                    .map(|&n| if n == ABSENT { f64::NAN } else { f64::from(n) }),
            );
            *self = Cells::Real(real);
        }
    }

    /// The values in order, NaN where absent.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = f64> + ExactSizeIterator + '_ {
        (0..self.len()).map(|index| self.get(index))
    }

    /// Grows or shrinks to `len`, new cells absent.
    pub fn resize(&mut self, len: usize) {
        match self {
            Cells::Whole(v) => v.resize(len, ABSENT),
            Cells::Real(v) => v.resize(len, f64::NAN),
        }
    }

    /// Inserts `count` absent cells before the first.
    pub fn prepend_absent(&mut self, count: usize) {
        // One allocation of the final size: `splice` grows by doubling.
        match self {
            Cells::Whole(v) => prepend(v, count, ABSENT),
            Cells::Real(v) => prepend(v, count, f64::NAN),
        }
    }

    pub fn truncate(&mut self, len: usize) {
        match self {
            Cells::Whole(v) => v.truncate(len),
            Cells::Real(v) => v.truncate(len),
        }
    }

    /// Removes the first `count` cells.
    pub fn drop_front(&mut self, count: usize) {
        match self {
            Cells::Whole(v) => drop(v.drain(..count)),
            Cells::Real(v) => drop(v.drain(..count)),
        }
    }

    pub fn clear(&mut self) {
        *self = Cells::default();
    }

    pub fn reserve_exact(&mut self, additional: usize) {
        match self {
            Cells::Whole(v) => v.reserve_exact(additional),
            Cells::Real(v) => v.reserve_exact(additional),
        }
    }

    pub fn shrink_to_fit(&mut self) {
        match self {
            Cells::Whole(v) => v.shrink_to_fit(),
            Cells::Real(v) => v.shrink_to_fit(),
        }
    }
}

fn prepend<T: Copy>(values: &mut Vec<T>, count: usize, fill: T) {
    let mut grown = Vec::with_capacity(values.len() + count);
    grown.resize(count, fill);
    grown.extend_from_slice(values);
    *values = grown;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_take_four_bytes_until_one_is_not() {
        let mut cells = Cells::default();
        cells.resize(4);
        cells.set(0, 3.0);
        cells.set(2, 4_294_967_294.0);
        assert!(matches!(cells, Cells::Whole(_)));
        assert_eq!(cells.get(0), 3.0);
        assert!(cells.get(1).is_nan() && !cells.is_present(1));
        assert_eq!(cells.get(2), 4_294_967_294.0);
        cells.set(3, 0.25);
        assert!(matches!(cells, Cells::Real(_)));
        let read: Vec<f64> = cells.iter().collect();
        assert_eq!(read[0], 3.0);
        assert!(read[1].is_nan());
        assert_eq!(&read[2..], &[4_294_967_294.0, 0.25]);
    }

    #[test]
    fn what_a_u32_cannot_hold_exactly_widens_the_series() {
        for value in [-1.0, 4_294_967_295.0, 1e12, 0.5] {
            let mut cells = Cells::default();
            cells.resize(1);
            cells.set(0, value);
            assert!(matches!(cells, Cells::Real(_)), "{value}");
            assert_eq!(cells.get(0), value);
        }
        let mut cells = Cells::default();
        cells.resize(1);
        cells.set(0, 7.0);
        cells.set(0, f64::NAN);
        assert!(matches!(cells, Cells::Whole(_)) && !cells.is_present(0));
    }

    #[test]
    fn cells_are_prepended_and_dropped_absent_and_in_order() {
        let mut cells = Cells::default();
        cells.resize(2);
        cells.set(0, 1.0);
        cells.set(1, 2.0);
        cells.prepend_absent(3);
        assert_eq!(cells.len(), 5);
        assert_eq!(cells.capacity(), 5);
        assert!(!cells.is_present(2));
        cells.drop_front(3);
        assert_eq!(cells.iter().collect::<Vec<_>>(), vec![1.0, 2.0]);
    }
}
