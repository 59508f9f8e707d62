//! [`Layers`]: a network's layout as the user writes it, `784-500-250-10`.

use std::fmt;
use std::str::FromStr;

use dtp_core::conv::{ConvShape, LayerSpec};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A network's layout from input to output, e.g. `784-500-250-10`: the input, one or more
/// hidden layers, the output. The input and the output may be `auto`, taken from the data (the
/// number of features; the number of classes for a classifier, of features for an
/// auto-encoder).
///
/// Convolutions: an image input `CxHxW` (channels, height, width: `1x28x28`) may be followed
/// by convolutions `c{channels}k{kernel}` with an optional stride `s{s}` (default 1) and zero
/// padding `p{p}` (default 0), before the dense layers: `1x28x28-c32k3s2-c64k3s2-1024-10`
/// (Bartunov et al. 2018's MNIST net), `1x8x8-c8k3s1p1-64-10` (the 8×8 digits). Each
/// convolution's inverse is a transposed convolution with its own weights
/// ([`dtp_core::conv`]); continuous units only. A locally connected layer (a convolution's
/// geometry without weight sharing: every output position has its own weights) is written
/// the same way with `l` for `c`: `1x28x28-l32k3s2p1-l64k3s2p1-1024-10` (Bartunov et al.'s
/// LC net); the two may be mixed.
///
/// Depth: DTP's difference targets `ĥ_{i-1} = h_{i-1} + g_i(ĥ_i) − g_i(h_i)` need two hidden
/// layers or more (one inverse per hidden layer after the first). With one hidden layer there
/// is no inverse: the top target `ĥ_1 = h_1 − η̂ ∂L/∂h_1` is placed on that layer directly
/// and it learns from its local loss — a rescaled gradient step, i.e. shallow backprop.
///
/// # Example
/// ```
/// use dtp_std::layers::Layers;
///
/// let l: Layers = "auto-500-250-auto".parse().unwrap();
/// assert_eq!(l.resolve(784, 10), [784, 500, 250, 10]); // MNIST: 784 features, 10 classes
/// assert_eq!(l.to_string(), "auto-500-250-auto");
/// assert!("784-10".parse::<Layers>().is_err()); // no hidden layer
///
/// let c: Layers = "1x28x28-c32k3s2-c64k3s2-1024-10".parse().unwrap();
/// assert_eq!(c.resolve(784, 10), [784, 32 * 13 * 13, 64 * 6 * 6, 1024, 10]);
/// assert_eq!(c.to_string(), "1x28x28-c32k3s2-c64k3s2-1024-10");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layers {
    /// Input width; `None` is `auto`.
    pub input: Option<usize>,
    /// The input as an image `(C, H, W)`, when written `CxHxW` (then `input` is `C·H·W`).
    pub image: Option<(usize, usize, usize)>,
    /// Convolutions after the input, before the dense hidden layers (an image input only).
    pub convs: Vec<Conv>,
    /// Dense hidden widths (at least one hidden layer in all, convolution or dense).
    pub hidden: Vec<usize>,
    /// Output width; `None` is `auto`.
    pub output: Option<usize>,
}

/// One convolution of a layout, `c{channels}k{kernel}s{stride}p{padding}`, or one locally
/// connected layer of that geometry, `l{channels}k{kernel}s{stride}p{padding}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    /// Whether the weights are per position (a locally connected layer, `l…`) rather than
    /// shared by every position (a convolution, `c…`).
    pub local: bool,
    /// Output channels.
    pub channels: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
}

impl Conv {
    /// The core's description of this convolution or locally connected layer.
    pub fn spec(&self) -> LayerSpec {
        let (channels, kernel, stride, padding) =
            (self.channels, self.kernel, self.stride, self.padding);
        if self.local {
            LayerSpec::Local {
                channels,
                kernel,
                stride,
                padding,
            }
        } else {
            LayerSpec::Conv {
                channels,
                kernel,
                stride,
                padding,
            }
        }
    }
}

impl fmt::Display for Conv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = if self.local { 'l' } else { 'c' };
        write!(f, "{letter}{}k{}", self.channels, self.kernel)?;
        if self.stride != 1 {
            write!(f, "s{}", self.stride)?;
        }
        if self.padding != 0 {
            write!(f, "p{}", self.padding)?;
        }
        Ok(())
    }
}

impl FromStr for Conv {
    type Err = String;

    /// `c32k3`, `c32k3s2`, `c8k3s1p1` (or `l…` for a locally connected layer): the letters in
    /// this order, each followed by a whole number (`c`/`l`, `k` and `s` positive).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}`: a convolution is c{{channels}}k{{kernel}}[s{{stride}}][p{{padding}}], \
                 e.g. c32k3s2 or c8k3s1p1 (l for c: locally connected, e.g. l32k3s2p1)"
            )
        };
        let local = s.starts_with('l');
        let first = if local { 'l' } else { 'c' };
        let mut values = [None; 4];
        let mut rest = s;
        for (slot, letter) in values.iter_mut().zip([first, 'k', 's', 'p']) {
            if let Some(tail) = rest.strip_prefix(letter) {
                let end = tail
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(tail.len());
                *slot = Some(tail[..end].parse::<usize>().map_err(|_| bad())?);
                rest = &tail[end..];
            }
        }
        let [Some(channels), Some(kernel), stride, padding] = values else {
            return Err(bad());
        };
        let (stride, padding) = (stride.unwrap_or(1), padding.unwrap_or(0));
        if !rest.is_empty() || channels == 0 || kernel == 0 || stride == 0 {
            return Err(bad());
        }
        Ok(Conv {
            local,
            channels,
            kernel,
            stride,
            padding,
        })
    }
}

impl Layers {
    /// Fixed widths `[w_0, …, w_M]` (at least 3).
    pub fn fixed(widths: &[usize]) -> Self {
        Layers {
            input: widths.first().copied(),
            image: None,
            convs: Vec::new(),
            hidden: widths[1..widths.len().saturating_sub(1)].to_vec(),
            output: widths.last().copied(),
        }
    }

    /// Number of hidden layers, convolutions and dense (`M − 1`).
    pub fn hidden_layers(&self) -> usize {
        self.convs.len() + self.hidden.len()
    }

    /// The geometry of each convolution, in order (an image input; empty otherwise).
    pub fn conv_shapes(&self) -> Vec<ConvShape> {
        let Some((mut c, mut h, mut w)) = self.image else {
            return Vec::new();
        };
        let mut shapes = Vec::with_capacity(self.convs.len());
        for conv in &self.convs {
            let shape = ConvShape {
                channels_in: c,
                height: h,
                width: w,
                channels_out: conv.channels,
                kernel: conv.kernel,
                stride: conv.stride,
                padding: conv.padding,
            };
            (c, h, w) = (conv.channels, shape.out_height(), shape.out_width());
            shapes.push(shape);
        }
        shapes
    }

    /// The widths with `auto` filled in from the data (a convolution's width is its output's
    /// `C'·H'·W'`).
    pub fn resolve(&self, inputs: usize, outputs: usize) -> Vec<usize> {
        let mut w = vec![self.input.unwrap_or(inputs)];
        w.extend(self.conv_shapes().iter().map(ConvShape::outputs));
        w.extend(&self.hidden);
        w.push(self.output.unwrap_or(outputs));
        w
    }

    /// The core's description of a layout with convolutions: the input image and every
    /// forward layer (`outputs` fills an `auto` output); `None` without convolutions.
    pub fn conv_specs(&self, outputs: usize) -> Option<((usize, usize, usize), Vec<LayerSpec>)> {
        let image = self.image.filter(|_| !self.convs.is_empty())?;
        let mut specs: Vec<LayerSpec> = self.convs.iter().map(Conv::spec).collect();
        specs.extend(self.hidden.iter().map(|&h| LayerSpec::Dense(h)));
        specs.push(LayerSpec::Dense(self.output.unwrap_or(outputs)));
        Some((image, specs))
    }
}

impl fmt::Display for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = |v: Option<usize>| v.map_or_else(|| "auto".to_string(), |v| v.to_string());
        match self.image {
            Some((c, h, wd)) => write!(f, "{c}x{h}x{wd}")?,
            None => write!(f, "{}", w(self.input))?,
        }
        for c in &self.convs {
            write!(f, "-{c}")?;
        }
        for h in &self.hidden {
            write!(f, "-{h}")?;
        }
        write!(f, "-{}", w(self.output))
    }
}

/// `CxHxW` with three positive whole numbers.
fn parse_image(p: &str) -> Option<(usize, usize, usize)> {
    let dims: Vec<usize> = p
        .split('x')
        .map(|d| d.parse::<usize>().ok().filter(|&d| d > 0))
        .collect::<Option<_>>()?;
    match dims[..] {
        [c, h, w] => Some((c, h, w)),
        _ => None,
    }
}

impl FromStr for Layers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('-').map(str::trim).collect();
        if parts.len() < 3 {
            return Err(format!(
                "`{s}`: a layout is input-hidden…-output with at least one hidden layer, e.g. \
                 784-500-250-10, auto-64-32-auto or 1x28x28-c32k3s2-c64k3s2-1024-10"
            ));
        }
        let last = parts.len() - 1;
        let image = if parts[0].contains('x') {
            Some(parse_image(parts[0]).ok_or_else(|| {
                format!(
                    "`{s}`: input `{}` is not channels x height x width (e.g. 1x28x28)",
                    parts[0]
                )
            })?)
        } else {
            None
        };
        let mut convs = Vec::new();
        let mut first_dense = 1;
        let is_conv = |p: &str| p.starts_with('c') || p.starts_with('l');
        while first_dense < last && is_conv(parts[first_dense]) {
            if image.is_none() {
                return Err(format!(
                    "`{s}`: convolution `{}` needs an image input, channels x height x width \
                     (e.g. 1x28x28-{}-…)",
                    parts[first_dense], parts[first_dense]
                ));
            }
            convs.push(parts[first_dense].parse::<Conv>()?);
            first_dense += 1;
        }
        let mut widths = Vec::with_capacity(parts.len());
        for (i, p) in parts.iter().enumerate() {
            if (i == 0 && image.is_some()) || (1..first_dense).contains(&i) {
                widths.push(None);
                continue;
            }
            let width = if *p == "auto" && (i == 0 || i == last) {
                None
            } else {
                match p.parse::<usize>() {
                    Ok(0) | Err(_) => {
                        let which = if i == 0 || i == last {
                            "a positive whole number or `auto`"
                        } else if is_conv(p) {
                            "a positive whole number: convolutions come first, after an image \
                             input"
                        } else {
                            "a positive whole number (`auto` only for the input and output)"
                        };
                        return Err(format!("`{s}`: width {} is `{p}`, expected {which}", i + 1));
                    }
                    Ok(n) => Some(n),
                }
            };
            widths.push(width);
        }
        let layers = Layers {
            input: image.map_or(widths[0], |(c, h, w)| Some(c * h * w)),
            image,
            convs,
            hidden: widths[first_dense..last]
                .iter()
                .map(|w| w.unwrap_or(0))
                .collect(),
            output: widths[last],
        };
        for (k, shape) in layers.conv_shapes().iter().enumerate() {
            shape.check().map_err(|e| {
                format!("`{s}`: convolution {} (`{}`): {e}", k + 1, layers.convs[k])
            })?;
        }
        Ok(layers)
    }
}

impl Serialize for Layers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Layers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Forward layers by number, as the user writes them, `1,2` (`--freeze`): hidden layers
/// `1 … M−1`, the output layer `M`. A list in TOML and JSON (`freeze = [1, 2]`); the core's
/// [`LayerSet`](dtp_core::LayerSet) once checked against a layout
/// ([`Hyper::validate_run`](crate::config::Hyper::validate_run)).
///
/// ```
/// use dtp_std::layers::LayerNumbers;
///
/// let l: LayerNumbers = "1, 3".parse().unwrap();
/// assert_eq!(l.0, [1, 3]);
/// assert_eq!(l.to_string(), "1,3");
/// assert!("".parse::<LayerNumbers>().unwrap().0.is_empty());
/// assert!("1-2".parse::<LayerNumbers>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LayerNumbers(pub Vec<u32>);

impl LayerNumbers {
    /// The core's set of these layers; numbers outside `1 … 32` are left out.
    pub fn to_set(&self) -> dtp_core::LayerSet {
        self.0
            .iter()
            .filter(|&&i| (1..=32).contains(&i))
            .fold(dtp_core::LayerSet::NONE, |set, &i| set.with(i as usize))
    }

    /// The numbers of the layers in `set`, increasing.
    pub fn from_set(set: dtp_core::LayerSet) -> Self {
        LayerNumbers(
            (1..=32)
                .filter(|&i| set.contains(i))
                .map(|i| i as u32)
                .collect(),
        )
    }
}

impl fmt::Display for LayerNumbers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        write!(f, "{}", parts.join(","))
    }
}

impl FromStr for LayerNumbers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<u32>()
                    .map_err(|_| format!("`{s}`: `{p}` is not a layer number (e.g. 1,2)"))
            })
            .collect::<Result<_, _>>()
            .map(LayerNumbers)
    }
}

/// `64-48-24-10` from widths.
pub fn widths_string(widths: &[usize]) -> String {
    widths
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prints_and_resolves() {
        let l: Layers = "784-500-250-10".parse().unwrap();
        assert_eq!(l.to_string(), "784-500-250-10");
        assert_eq!(l.resolve(1, 2), vec![784, 500, 250, 10]);
        let a: Layers = "auto-32-auto".parse().unwrap();
        assert_eq!(a.to_string(), "auto-32-auto");
        assert_eq!(a.resolve(20, 4), vec![20, 32, 4]);
        for bad in ["784-10", "784", "7-0-3", "7-auto-3", "7-x-3", ""] {
            assert!(bad.parse::<Layers>().is_err(), "{bad}");
        }
        let e = "50-auto-10".parse::<Layers>().unwrap_err();
        assert!(e.contains("width 2"), "{e}");
    }

    #[test]
    fn parses_prints_and_resolves_convolutions() {
        let l: Layers = "1x8x8-c8k3s1p1-64-10".parse().unwrap();
        assert_eq!(l.to_string(), "1x8x8-c8k3p1-64-10");
        assert_eq!(l.resolve(64, 10), vec![64, 8 * 8 * 8, 64, 10]);
        assert_eq!(l.hidden_layers(), 2);
        let ((c, h, w), specs) = l.conv_specs(10).unwrap();
        assert_eq!((c, h, w), (1, 8, 8));
        let conv = LayerSpec::Conv {
            channels: 8,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        assert_eq!(specs, [conv, LayerSpec::Dense(64), LayerSpec::Dense(10)]);
        let b: Layers = "3x32x32-c16k5s2p2-c32k3s2-auto".parse().unwrap();
        assert_eq!(
            b.resolve(3072, 10),
            vec![3072, 16 * 16 * 16, 32 * 7 * 7, 10]
        );
        assert_eq!(b.to_string(), "3x32x32-c16k5s2p2-c32k3s2-auto");
        // An image input without convolutions is a dense layout of C·H·W inputs.
        let d: Layers = "1x8x8-32-10".parse().unwrap();
        assert_eq!(
            (d.resolve(1, 1), d.conv_specs(10)),
            (vec![64, 32, 10], None)
        );
        for bad in [
            "64-c8k3-10",         // a convolution needs an image input
            "1x8x8-c8-10",        // no kernel
            "1x8x8-c8k3q1-10",    // unknown letter
            "1x8x8-c0k3-10",      // no channels
            "1x8x8-c8k3s0-10",    // no stride
            "1x8x8-32-c8k3-10",   // a convolution after a dense layer
            "1x8x8-c8k9-10",      // the kernel does not fit
            "1x8-c8k3-10",        // two dimensions
            "1x8x8-c8k3-auto-10", // auto inside
        ] {
            assert!(bad.parse::<Layers>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_prints_and_resolves_locally_connected_layers() {
        let l: Layers = "1x28x28-l32k3s2p1-c64k3s2p1-1024-10".parse().unwrap();
        assert_eq!(l.to_string(), "1x28x28-l32k3s2p1-c64k3s2p1-1024-10");
        assert_eq!(
            l.resolve(784, 10),
            vec![784, 32 * 14 * 14, 64 * 7 * 7, 1024, 10]
        );
        let (_, specs) = l.conv_specs(10).unwrap();
        let geometry = |channels| (channels, 3, 2, 1);
        assert!(
            matches!(specs[0], LayerSpec::Local { channels, kernel, stride, padding }
            if (channels, kernel, stride, padding) == geometry(32))
        );
        assert!(
            matches!(specs[1], LayerSpec::Conv { channels, kernel, stride, padding }
            if (channels, kernel, stride, padding) == geometry(64))
        );
        for (bad, part) in [
            ("64-l8k3-10", "l8k3"),       // needs an image input
            ("1x8x8-l8-10", "l8"),        // no kernel
            ("1x8x8-l0k3-10", "l0k3"),    // no channels
            ("1x8x8-32-l8k3-10", "l8k3"), // after a dense layer
            ("1x8x8-lc8k3-10", "lc8k3"),  // two kinds
            ("1x8x8-l8k9-10", "kernel"),  // the kernel does not fit
        ] {
            let e = bad.parse::<Layers>().unwrap_err();
            assert!(e.contains(part), "{bad}: {e}");
        }
    }
}
