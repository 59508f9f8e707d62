//! The paper's large net (784-240×7-10, batch 100: ~21 MB with inverses, optimiser state and
//! buffers) goes on the heap without passing through the stack, and the desktop's blocked
//! GEMM computes the same step as the portable kernel.

use dtp_core::noise::uniform;
use dtp_core::{Blocked, Config, FixedTrainer, Init, Kernel, Portable};
use rand_pcg::Pcg32;

type Paper<K> = FixedTrainer<784, 240, 10, 6, 100, K>;

/// Runs in a thread with a 256 KiB stack: the trainer itself is ~80× larger, so any copy of
/// it through the stack would overflow.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn boxed<K: Kernel>(seed: u64) -> Box<Paper<K>> {
    let mut t: Box<Paper<K>> = bytemuck::zeroed_box();
    let mut rng = Pcg32::new(seed, 1);
    t.init(Config::CONTINUOUS, Init::Orthogonal, &mut rng)
        .unwrap();
    let (x, labels) = t.batch_mut();
    x.iter_mut().for_each(|v| *v = uniform(&mut rng));
    labels.fill(0.0);
    for b in 0..100 {
        labels[(b % 10, b)] = 1.0;
    }
    t
}

#[test]
fn paper_net_lives_on_the_heap_and_steps() {
    // About 17 MB (weights, both optimiser states, minibatch buffers): never on a stack.
    assert!(size_of::<Paper<Portable>>() > 15_000_000);
    let (loss, finite) = on_small_stack(|| {
        let mut t = boxed::<Blocked>(3);
        let stats = t.step(&mut Pcg32::new(9, 9)).unwrap();
        (stats.loss, t.net.is_finite())
    });
    assert!(finite);
    // Ten balanced classes at initialisation: L ≈ ln 10.
    assert!((loss - 10f32.ln()).abs() < 0.5, "loss {loss}");
}

#[test]
fn blocked_and_portable_kernels_agree() {
    on_small_stack(|| {
        let mut a = boxed::<Portable>(4);
        let mut b = boxed::<Blocked>(4);
        for _ in 0..2 {
            let sa = a.step(&mut Pcg32::new(9, 9)).unwrap();
            let sb = b.step(&mut Pcg32::new(9, 9)).unwrap();
            assert!((sa.loss - sb.loss).abs() < 1e-5);
        }
        let max_diff = |x: &[f32], y: &[f32]| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max)
        };
        assert!(max_diff(a.net.first.w.as_slice(), b.net.first.w.as_slice()) < 1e-4);
        assert!(max_diff(a.net.hidden[5].w.as_slice(), b.net.hidden[5].w.as_slice()) < 1e-4);
        assert!(max_diff(a.net.inverse[2].w.as_slice(), b.net.inverse[2].w.as_slice()) < 1e-4);
        assert!(max_diff(a.net.output.w.as_slice(), b.net.output.w.as_slice()) < 1e-4);
        assert!(max_diff(a.targets()[0].as_slice(), b.targets()[0].as_slice()) < 1e-4);
    });
}
