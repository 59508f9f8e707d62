//! [`Layers`]: a network's layout as the user writes it, `784-500-250-10`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Layer widths from input to output, e.g. `784-500-250-10`: the input, one or more hidden
/// layers, the output. The input and the output may be `auto`, taken from the data (the
/// number of features; the number of classes for a classifier, of features for an
/// auto-encoder).
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
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layers {
    /// Input width; `None` is `auto`.
    pub input: Option<usize>,
    /// Hidden widths (at least one).
    pub hidden: Vec<usize>,
    /// Output width; `None` is `auto`.
    pub output: Option<usize>,
}

impl Layers {
    /// Fixed widths `[w_0, …, w_M]` (at least 3).
    pub fn fixed(widths: &[usize]) -> Self {
        Layers {
            input: widths.first().copied(),
            hidden: widths[1..widths.len().saturating_sub(1)].to_vec(),
            output: widths.last().copied(),
        }
    }

    /// The widths with `auto` filled in from the data.
    pub fn resolve(&self, inputs: usize, outputs: usize) -> Vec<usize> {
        let mut w = vec![self.input.unwrap_or(inputs)];
        w.extend(&self.hidden);
        w.push(self.output.unwrap_or(outputs));
        w
    }
}

impl fmt::Display for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = |v: Option<usize>| v.map_or_else(|| "auto".to_string(), |v| v.to_string());
        write!(f, "{}", w(self.input))?;
        for h in &self.hidden {
            write!(f, "-{h}")?;
        }
        write!(f, "-{}", w(self.output))
    }
}

impl FromStr for Layers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('-').map(str::trim).collect();
        if parts.len() < 3 {
            return Err(format!(
                "`{s}`: a layout is input-hidden…-output with at least one hidden layer, e.g. \
                 784-500-250-10 or auto-64-32-auto"
            ));
        }
        let last = parts.len() - 1;
        let mut widths = Vec::with_capacity(parts.len());
        for (i, p) in parts.iter().enumerate() {
            let width = if *p == "auto" && (i == 0 || i == last) {
                None
            } else {
                match p.parse::<usize>() {
                    Ok(0) | Err(_) => {
                        let which = if i == 0 || i == last {
                            "a positive whole number or `auto`"
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
        Ok(Layers {
            input: widths[0],
            hidden: widths[1..last].iter().map(|w| w.unwrap_or(0)).collect(),
            output: widths[last],
        })
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
}
