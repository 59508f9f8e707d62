//! The output layer's activation and the global loss `L`, averaged over the minibatch.

use crate::config::Output;
use crate::mat::OMat;
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};

/// Column-wise softmax in place, shifted by the column maximum so it never overflows.
pub fn softmax_columns<N: Dim, B: Dim>(z: &mut OMat<N, B>)
where
    DefaultAllocator: Allocator<N, B>,
{
    for mut column in z.column_iter_mut() {
        let max = column.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in column.iter_mut() {
            *v = libm::expf(*v - max);
            sum += *v;
        }
        column /= sum;
    }
}

/// Turns the output pre-activation `z` into the output `p` in place (softmax, or `s(z)`).
pub fn output_activation<N: Dim, B: Dim>(output: Output, z: &mut OMat<N, B>)
where
    DefaultAllocator: Allocator<N, B>,
{
    match output {
        Output::SoftmaxNll => softmax_columns(z),
        Output::Mse(activation) => activation.apply_slice(z.as_mut_slice()),
    }
}

/// The global loss `L` of outputs `p` against targets `t`, averaged over the batch:
/// `−(1/B) Σ t log p` for softmax, `(1/B) Σ ‖p − t‖²` for MSE.
pub fn loss<N: Dim, B: Dim>(output: Output, p: &OMat<N, B>, t: &OMat<N, B>) -> f32
where
    DefaultAllocator: Allocator<N, B>,
{
    loss_over(output, p, t, p.ncols() as f32)
}

/// [`loss`] summed over the columns of `p` and divided by `batch` instead of the column
/// count: one chunk's share of the loss of a minibatch of `batch` samples.
pub fn loss_over<N: Dim, B: Dim>(output: Output, p: &OMat<N, B>, t: &OMat<N, B>, batch: f32) -> f32
where
    DefaultAllocator: Allocator<N, B>,
{
    let sum: f32 = match output {
        Output::SoftmaxNll => p
            .iter()
            .zip(t.iter())
            .filter(|&(_, &t)| t != 0.0)
            .map(|(&p, &t)| -t * libm::logf(clamp_positive(p)))
            .sum(),
        Output::Mse(_) => p
            .iter()
            .zip(t.iter())
            .map(|(&p, &t)| (p - t) * (p - t))
            .sum(),
    };
    sum / batch
}

/// `∂L/∂z` for the output pre-activation `z`, written into `delta`:
/// `(p Σ_k t_k − t)/B` for softmax + NLL (`(p − t)/B` for one-hot `t`),
/// `(2/B)(p − t) ⊙ s'(p)` for MSE.
pub fn output_delta<N: Dim, B: Dim>(
    output: Output,
    p: &OMat<N, B>,
    t: &OMat<N, B>,
    delta: &mut OMat<N, B>,
) where
    DefaultAllocator: Allocator<N, B>,
{
    output_delta_over(output, p, t, delta, p.ncols() as f32);
}

/// [`output_delta`] with `B = batch` instead of the column count of `p`: one chunk's columns
/// of `∂L/∂z` for a minibatch of `batch` samples.
pub fn output_delta_over<N: Dim, B: Dim>(
    output: Output,
    p: &OMat<N, B>,
    t: &OMat<N, B>,
    delta: &mut OMat<N, B>,
    batch: f32,
) where
    DefaultAllocator: Allocator<N, B>,
{
    let inv_b = 1.0 / batch;
    match output {
        Output::SoftmaxNll => {
            for ((mut d, p), t) in delta
                .column_iter_mut()
                .zip(p.column_iter())
                .zip(t.column_iter())
            {
                let mass = t.sum();
                for ((d, &p), &t) in d.iter_mut().zip(p.iter()).zip(t.iter()) {
                    *d = (p * mass - t) * inv_b;
                }
            }
        }
        Output::Mse(activation) => {
            for ((d, &p), &t) in delta.iter_mut().zip(p.iter()).zip(t.iter()) {
                *d = 2.0 * inv_b * (p - t) * activation.derivative_from_output(p);
            }
        }
    }
}

/// The number of columns whose largest output is at the same row as the largest target
/// (classification accuracy for one-hot targets). NaN outputs never count as correct.
pub fn correct<N: Dim, B: Dim>(p: &OMat<N, B>, t: &OMat<N, B>) -> u32
where
    DefaultAllocator: Allocator<N, B>,
{
    p.column_iter()
        .zip(t.column_iter())
        .filter(|(p, t)| argmax(p.iter()) == argmax(t.iter()) && p.iter().all(|v| v.is_finite()))
        .count() as u32
}

/// Index of the largest value (the first on ties); 0 for an empty or all-NaN input.
pub fn argmax<'a>(values: impl Iterator<Item = &'a f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// `p` raised to the smallest positive normal `f32` so `log` stays finite; NaN stays NaN.
fn clamp_positive(p: f32) -> f32 {
    if p < f32::MIN_POSITIVE {
        f32::MIN_POSITIVE
    } else {
        p
    }
}
