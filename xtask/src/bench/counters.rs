//! A fixed set of kernel or server counters, each possibly unknown (the
//! tool failed, the kernel lacks it, the server has no control socket).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters<const N: usize>(pub [Option<u64>; N]);

impl<const N: usize> Default for Counters<N> {
    fn default() -> Self {
        Counters([None; N])
    }
}

impl<const N: usize> Counters<N> {
    pub fn get(&self, i: usize) -> Option<u64> {
        self.0.get(i).copied().flatten()
    }

    /// Adds to counter `i` (a queue's share of a total); saturates, since
    /// the input is another program's text.
    pub fn add(&mut self, i: usize, value: u64) {
        if let Some(slot) = self.0.get_mut(i) {
            *slot = Some(slot.unwrap_or(0).saturating_add(value));
        }
    }

    /// The increase since `before`. Unknown on either side, or run
    /// backwards (a re-created interface, a restarted server), is unknown:
    /// a zero would claim nothing was dropped.
    pub fn since(&self, before: &Self) -> Self {
        Counters(std::array::from_fn(|i| self.0[i]?.checked_sub(before.0[i]?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increase_is_unknown_when_either_side_is_or_the_counter_ran_backwards() {
        let before = Counters([Some(10), Some(5), None, Some(7)]);
        let after = Counters([Some(25), Some(5), Some(3), Some(2)]);
        assert_eq!(after.since(&before), Counters([Some(15), Some(0), None, None]));
        assert_eq!(before.since(&Counters::default()), Counters::default());
    }

    #[test]
    fn adding_saturates_and_ignores_unknown_slots() {
        let mut c = Counters::<2>::default();
        c.add(0, 3);
        c.add(0, 4);
        c.add(1, u64::MAX);
        c.add(1, 1);
        c.add(9, 1);
        assert_eq!(c, Counters([Some(7), Some(u64::MAX)]));
        assert_eq!(c.get(9), None);
    }
}
