//! Arena-allocated treap with subtree sizes: O(log n) expected order
//! statistics.

use super::OrderStatistics;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    key: f64,
    prio: u32,
    left: u32,
    right: u32,
    size: u32,
}

/// A treap (binary search tree by key, heap by random priority) whose nodes
/// live in one `Vec` and are linked by `u32` indices; freed slots are reused,
/// so a rolling window allocates nothing once warm. Insert, remove and select
/// are O(log n) expected (depth is O(log n) with high probability). Priorities
/// come from a fixed-seed xorshift, so the shape, and the results, are
/// deterministic.
#[derive(Debug, Clone)]
pub struct Treap {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    rng: u32,
}

impl Default for Treap {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl Treap {
    #[inline]
    fn size(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size
        }
    }

    #[inline]
    fn update(&mut self, t: u32) {
        let n = self.nodes[t as usize];
        self.nodes[t as usize].size = 1 + self.size(n.left) + self.size(n.right);
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift32
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    fn alloc(&mut self, key: f64) -> u32 {
        let node = Node {
            key,
            prio: self.next_prio(),
            left: NIL,
            right: NIL,
            size: 1,
        };
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = node;
            i
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    /// Splits `t` into (keys < x, keys >= x).
    fn split(&mut self, t: u32, x: f64) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let node = self.nodes[t as usize];
        if node.key < x {
            let (a, b) = self.split(node.right, x);
            self.nodes[t as usize].right = a;
            self.update(t);
            (t, b)
        } else {
            let (a, b) = self.split(node.left, x);
            self.nodes[t as usize].left = b;
            self.update(t);
            (a, t)
        }
    }

    /// Joins two treaps where every key of `a` is <= every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.nodes[a as usize].right;
            let m = self.merge(r, b);
            self.nodes[a as usize].right = m;
            self.update(a);
            a
        } else {
            let l = self.nodes[b as usize].left;
            let m = self.merge(a, l);
            self.nodes[b as usize].left = m;
            self.update(b);
            b
        }
    }

    /// Removes one node with key `x` from `t`; returns the new root and
    /// whether a node was removed.
    fn erase(&mut self, t: u32, x: f64) -> (u32, bool) {
        if t == NIL {
            return (NIL, false);
        }
        let node = self.nodes[t as usize];
        if node.key == x {
            self.free.push(t);
            return (self.merge(node.left, node.right), true);
        }
        if x < node.key {
            let (l, found) = self.erase(node.left, x);
            self.nodes[t as usize].left = l;
            if found {
                self.nodes[t as usize].size -= 1;
            }
            (t, found)
        } else {
            let (r, found) = self.erase(node.right, x);
            self.nodes[t as usize].right = r;
            if found {
                self.nodes[t as usize].size -= 1;
            }
            (t, found)
        }
    }
}

impl OrderStatistics for Treap {
    fn with_capacity(capacity: usize) -> Self {
        Treap {
            nodes: Vec::with_capacity(capacity),
            free: Vec::new(),
            root: NIL,
            rng: 0x9E37_79B9,
        }
    }

    fn insert(&mut self, x: f64) {
        if x.is_nan() || self.len() >= (NIL - 1) as usize {
            return;
        }
        let node = self.alloc(x);
        let (l, r) = self.split(self.root, x);
        let l = self.merge(l, node);
        self.root = self.merge(l, r);
    }

    fn remove(&mut self, x: f64) -> bool {
        if x.is_nan() {
            return false;
        }
        let (root, found) = self.erase(self.root, x);
        self.root = root;
        found
    }

    fn select(&self, mut k: usize) -> Option<f64> {
        let mut t = self.root;
        while t != NIL {
            let node = &self.nodes[t as usize];
            let ls = self.size(node.left) as usize;
            if k < ls {
                t = node.left;
            } else if k == ls {
                return Some(node.key);
            } else {
                k -= ls + 1;
                t = node.right;
            }
        }
        None
    }

    fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    fn clear(&mut self) {
        self.nodes.clear();
        self.free.clear();
        self.root = NIL;
    }
}
