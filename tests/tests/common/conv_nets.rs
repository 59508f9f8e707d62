//! The small convolutional net the conv tests train (`tests/tests/conv.rs`) and check against
//! PyTorch (`tests/tests/conv_parity.rs`): `1x6x6-c3k3s1p1-c4k3s2p1-12-5`, two tanh
//! convolutions (6×6 → 6×6×3 → 3×3×4), a dense layer of 12, 5 outputs.

use dtp_core::conv::LayerSpec;

/// Its input geometry `(C, H, W)`.
pub const SMALL_IMAGE: (usize, usize, usize) = (1, 6, 6);

/// Its layers.
pub const SMALL: [LayerSpec; 4] = [
    LayerSpec::Conv {
        channels: 3,
        kernel: 3,
        stride: 1,
        padding: 1,
    },
    LayerSpec::Conv {
        channels: 4,
        kernel: 3,
        stride: 2,
        padding: 1,
    },
    LayerSpec::Dense(12),
    LayerSpec::Dense(5),
];
