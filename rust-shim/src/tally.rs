//! A bounded tally of distinct things in the order they first occurred: how each mechanism
//! counts its `denied` records, so that whatever the child does, a launch itemizes a fixed
//! number of distinct denials and only counts the rest.

/// The most distinct denials a mechanism itemizes per launch. Two mechanisms' records,
/// with their counting records, stay well under the 100 `denied` records transcript
/// verification accepts.
pub const DISTINCT_MAX: usize = 32;

/// Distinct items with their counts, at most [`DISTINCT_MAX`], and the count of the rest.
#[derive(Debug, Clone)]
pub struct Tally<T> {
    items: Vec<(T, u64)>,
    omitted: u64,
}

impl<T> Default for Tally<T> {
    fn default() -> Tally<T> {
        Tally {
            items: Vec::new(),
            omitted: 0,
        }
    }
}

impl<T> Tally<T> {
    /// Counts one occurrence: of the item `same` finds, else of a new item made by `first`
    /// (while fewer than [`DISTINCT_MAX`] are itemized), else of the rest.
    pub fn note(&mut self, same: impl Fn(&T) -> bool, first: impl FnOnce() -> T) {
        if let Some((_, count)) = self.items.iter_mut().find(|(item, _)| same(item)) {
            *count += 1;
        } else if self.items.len() < DISTINCT_MAX {
            self.items.push((first(), 1));
        } else {
            self.omitted += 1;
        }
    }

    /// The itemized ones with their counts, in order of first occurrence.
    pub fn items(&self) -> &[(T, u64)] {
        &self.items
    }

    /// How many occurrences were not itemized.
    pub fn omitted(&self) -> u64 {
        self.omitted
    }

    /// Every count at its largest (for tests of the records' worst-case size).
    #[cfg(test)]
    pub fn saturate(&mut self) {
        for (_, count) in &mut self.items {
            *count = u64::MAX;
        }
        self.omitted = u64::MAX;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_itemizes_a_bounded_number_of_distinct_items_and_counts_the_rest() {
        let mut tally = Tally::default();
        for n in 0..1000 {
            for _ in 0..3 {
                tally.note(|&item| item == n, || n);
            }
        }
        assert_eq!(tally.items().len(), DISTINCT_MAX);
        assert!(tally.items().iter().all(|&(_, count)| count == 3));
        assert_eq!(tally.items()[5], (5, 3));
        assert_eq!(tally.omitted(), 3 * (1000 - DISTINCT_MAX as u64));
    }
}
