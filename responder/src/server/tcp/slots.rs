//! Fixed-index storage for open connections: a connection's index is its
//! poll token, so it must not move while the connection lives.

pub(super) struct Slots<T> {
    entries: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Slots<T> {
    pub(super) fn new() -> Slots<T> {
        Slots { entries: Vec::new(), free: Vec::new(), len: 0 }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Where the next [`insert`](Self::insert) will put its value.
    pub(super) fn next_index(&self) -> usize {
        self.free.last().copied().unwrap_or(self.entries.len())
    }

    pub(super) fn insert(&mut self, value: T) -> usize {
        let index = self.next_index();
        if index == self.entries.len() {
            self.entries.push(Some(value));
        } else {
            self.free.pop();
            self.entries[index] = Some(value);
        }
        self.len += 1;
        index
    }

    pub(super) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.entries.get_mut(index)?.as_mut()
    }

    pub(super) fn remove(&mut self, index: usize) -> Option<T> {
        let value = self.entries.get_mut(index)?.take()?;
        self.free.push(index);
        self.len -= 1;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_stable_and_reused_after_removal() {
        let mut slots = Slots::new();
        assert_eq!(slots.next_index(), 0);
        let a = slots.insert("a");
        let b = slots.insert("b");
        let c = slots.insert("c");
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(slots.remove(b), Some("b"));
        assert_eq!(slots.remove(b), None, "double removal");
        assert_eq!(slots.len(), 2);
        assert_eq!(slots.get_mut(c).copied(), Some("c"));
        assert_eq!(slots.next_index(), b);
        assert_eq!(slots.insert("d"), b);
        assert_eq!(slots.get_mut(b).copied(), Some("d"));
        assert_eq!(slots.get_mut(7), None);
        assert_eq!(slots.remove(7), None);
    }
}
