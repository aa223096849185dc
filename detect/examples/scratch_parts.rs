#[path = "../benches/common/mod.rs"]
mod common;
use std::time::Instant;
use detect::window::{SortedBlocks, RollingWindow, SortedVec, OrderStatistics};
fn best<F: FnMut() -> f64>(mut f: F) -> f64 { let mut b = f64::INFINITY; let mut acc=0.0; for _ in 0..5 { let t=Instant::now(); acc += f(); b=b.min(t.elapsed().as_secs_f64()); } std::hint::black_box(acc); b }
fn main() {
    let xs = common::daily_cycle(1_000_000, 42);
    sort_cost(&xs);
    for n in [5usize, 96, 672] {
        let ranks = [ (n-1)/4, (n-1)/2, 3*(n-1)/4 ];
        let t = best(|| { let mut s=0.0; for r in SortedBlocks::new(&xs, n, ranks) { s += r[0].0 + r[1].1 + r[2].0; } s });
        let t2 = best(|| { let mut w: RollingWindow<SortedVec> = RollingWindow::new(n); let mut s=0.0; for &x in &xs { w.push(x); if w.is_full() { let st=w.stats(); s += st.select(ranks[0]).unwrap()+st.select(ranks[1]+1).unwrap()+st.select(ranks[2]).unwrap(); } } s });
        let t3 = best(|| { let mut v = vec![0.0f64; xs.len()]; for (i,&x) in xs.iter().enumerate() { v[i]=x*2.0; } v[7] });
        println!("n={n} blocks={:.1}ns/pt sortedvec={:.1}ns/pt fresh8B={:.1}ns/pt", t*1e3, t2*1e3, t3*1e3);
    }
}
#[allow(dead_code)]
pub fn sort_cost(xs: &[f64]) {
    for n in [5usize, 96, 672] {
        let mut keys: Vec<(u64, u32)> = Vec::with_capacity(n);
        let t = best(|| { let mut s = 0u64; for ch in xs.chunks(n) { keys.clear(); keys.extend(ch.iter().enumerate().map(|(i,&x)| (x.to_bits() | (1<<63), i as u32))); keys.sort_unstable(); s += keys[0].0; } s as f64 });
        let mut k2: Vec<u64> = Vec::with_capacity(n);
        let t2 = best(|| { let mut s = 0u64; for ch in xs.chunks(n) { k2.clear(); k2.extend(ch.iter().map(|&x| x.to_bits() | (1<<63))); k2.sort_unstable(); s += k2[0]; } s as f64 });
        println!("n={n} sort tuples={:.1}ns/pt u64={:.1}ns/pt", t*1e3, t2*1e3);
    }
}
