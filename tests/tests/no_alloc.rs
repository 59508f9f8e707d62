//! Zero allocations: training steps, epochs, evaluation and backprop never touch the
//! allocator (a counting `#[global_allocator]`; this file holds one test so no other test
//! thread allocates meanwhile).

use dtp_core::noise::uniform;
use dtp_core::{Config, FixedTrainer, Gradient, Init, Mat};
use rand_pcg::Pcg32;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with its caller's arguments unchanged, so it
// upholds `GlobalAlloc`'s contract exactly as `System` does; counting touches only an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller's guarantees for this method are passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller's guarantees for this method are passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller's guarantees for this method are passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees for this method are passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Synthetic(Pcg32);

impl<const IN: usize, const OUT: usize, const B: usize>
    dtp_core::Batches<dtp_core::Const<IN>, dtp_core::Const<OUT>, dtp_core::Const<B>> for Synthetic
{
    fn batches(&self) -> usize {
        5
    }
    fn fill(&mut self, index: usize, x: &mut Mat<IN, B>, t: &mut Mat<OUT, B>) {
        x.iter_mut().for_each(|v| *v = uniform(&mut self.0));
        t.fill(0.0);
        for b in 0..B {
            t[((index + b) % OUT, b)] = 1.0;
        }
    }
}

fn exercise<const IN: usize, const H: usize, const OUT: usize, const R: usize, const B: usize>(
    trainer: &mut FixedTrainer<IN, H, OUT, R, B>,
    rng: &mut Pcg32,
) {
    let mut data = Synthetic(Pcg32::new(5, 5));
    trainer.train_epoch(&mut data, rng).unwrap();
    trainer
        .backprop_epoch(&mut data, Gradient::StraightThrough, rng)
        .unwrap();
    trainer.step(rng).unwrap();
    trainer.evaluate(rng).unwrap();
    let mut blob = [0u8; 4096];
    let n = trainer
        .net
        .write_blob(&trainer.config().units, &mut blob)
        .unwrap();
    trainer.net.read_blob(&blob[..n]).unwrap();
}

#[test]
fn training_never_allocates() {
    let mut rng = Pcg32::new(1, 1);
    // Built (and boxed) before counting starts.
    let mut per_sample = Box::new(
        FixedTrainer::<16, 12, 4, 1, 1>::new(Config::DISCRETE, Init::Orthogonal, &mut rng).unwrap(),
    );
    let mut minibatch: Box<FixedTrainer<16, 12, 4, 2, 8>> = bytemuck::zeroed_box();
    minibatch
        .init(Config::STOCHASTIC, Init::Uniform, &mut rng)
        .unwrap();
    let mut continuous: Box<FixedTrainer<16, 12, 4, 2, 8>> = bytemuck::zeroed_box();
    continuous
        .init(Config::CONTINUOUS, Init::Orthogonal, &mut rng)
        .unwrap();

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    exercise(&mut per_sample, &mut rng);
    exercise(&mut minibatch, &mut rng);
    exercise(&mut continuous, &mut rng);
    continuous
        .init(Config::CONTINUOUS, Init::Orthogonal, &mut rng)
        .unwrap();
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(
        after - before,
        0,
        "training allocated {} times",
        after - before
    );

    // The counter does count: a Vec allocates.
    let v = vec![1u8; 10];
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > after, "{v:?}");
}
