//! An optimiser's settings as a user changes them: [`OptimiserPatch`], the keys of a
//! `[forward]` or `[inverse]` TOML table, applied to the core's [`Optimiser`] (which is itself
//! the setting, serialised by the core's `serde` feature); and, with the `cli` feature,
//! [`OptimiserFlags`], the flags that set both tables at once.

use dtp_core::{Optimiser, OptimiserKind};
use serde::Deserialize;

pub use crate::kinds::OptimiserName;

/// Partial [`Optimiser`]: the keys of a `[forward]` or `[inverse]` table (`rho` is RMSprop's,
/// `eps` RMSprop's or Adam's, `beta1`, `beta2`, `weight_decay` Adam's; SGD has none but
/// `momentum`, which Adam does not use).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimiserPatch {
    /// The rule.
    pub kind: Option<OptimiserName>,
    /// Learning rate.
    pub lr: Option<f32>,
    /// Momentum μ in [0, 1).
    pub momentum: Option<f32>,
    /// RMSprop's averaging coefficient ρ in [0, 1).
    pub rho: Option<f32>,
    /// RMSprop's or Adam's stabiliser ε > 0.
    pub eps: Option<f32>,
    /// Adam's first-moment coefficient β₁ in [0, 1).
    pub beta1: Option<f32>,
    /// Adam's second-moment coefficient β₂ in [0, 1).
    pub beta2: Option<f32>,
    /// Adam's L2 weight decay λ ≥ 0 (`g ← g + λθ`).
    pub weight_decay: Option<f32>,
}

impl OptimiserPatch {
    /// Applies every key present: first the rule (keeping the momentum; RMSprop's ρ and ε
    /// start at the reference's, Adam's constants at torch's defaults), then the constants.
    pub fn apply_to(&self, o: &mut Optimiser) {
        if let Some(kind) = self.kind {
            let m = momentum(o.kind);
            o.kind = match (kind, o.kind) {
                (OptimiserName::Sgd, _) => OptimiserKind::Sgd {
                    momentum: m.unwrap_or(0.9),
                },
                (OptimiserName::Rmsprop, k @ OptimiserKind::RmsProp { .. }) => k,
                (OptimiserName::Rmsprop, _) => match Optimiser::rmsprop(o.lr).kind {
                    OptimiserKind::RmsProp { rho, eps, momentum } => OptimiserKind::RmsProp {
                        rho,
                        momentum: m.unwrap_or(momentum),
                        eps,
                    },
                    k => k,
                },
                (OptimiserName::Adam, k @ OptimiserKind::Adam { .. }) => k,
                (OptimiserName::Adam, _) => Optimiser::adam(o.lr).kind,
            };
        }
        if let Some(lr) = self.lr {
            o.lr = lr;
        }
        match &mut o.kind {
            OptimiserKind::Sgd { momentum } => set(momentum, self.momentum),
            OptimiserKind::RmsProp { rho, momentum, eps } => {
                set(momentum, self.momentum);
                set(rho, self.rho);
                set(eps, self.eps);
            }
            OptimiserKind::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                set(beta1, self.beta1);
                set(beta2, self.beta2);
                set(eps, self.eps);
                set(weight_decay, self.weight_decay);
            }
        }
    }
}

impl OptimiserPatch {
    /// This patch, then `later` on top of it: every key `later` gives wins.
    pub fn then(&self, later: &OptimiserPatch) -> OptimiserPatch {
        let or = |a: Option<f32>, b: Option<f32>| b.or(a);
        OptimiserPatch {
            kind: later.kind.or(self.kind),
            lr: or(self.lr, later.lr),
            momentum: or(self.momentum, later.momentum),
            rho: or(self.rho, later.rho),
            eps: or(self.eps, later.eps),
            beta1: or(self.beta1, later.beta1),
            beta2: or(self.beta2, later.beta2),
            weight_decay: or(self.weight_decay, later.weight_decay),
        }
    }

    /// The first key this patch gives that rule `o` does not have (`rho` for SGD or Adam,
    /// `beta1` for RMSprop, …), with the rule's name: such a key would be dropped silently.
    pub fn unused_key(&self, o: &Optimiser) -> Option<(&'static str, &'static str)> {
        let (rule, has): (_, &[&str]) = match o.kind {
            OptimiserKind::Sgd { .. } => ("sgd", &["momentum"]),
            OptimiserKind::RmsProp { .. } => ("rmsprop", &["momentum", "rho", "eps"]),
            OptimiserKind::Adam { .. } => ("adam", &["eps", "beta1", "beta2", "weight_decay"]),
        };
        [
            ("momentum", self.momentum),
            ("rho", self.rho),
            ("eps", self.eps),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("weight_decay", self.weight_decay),
        ]
        .into_iter()
        .find(|(k, v)| v.is_some() && !has.contains(k))
        .map(|(k, _)| (k, rule))
    }
}

/// The momentum of a rule that has one (Adam has none).
fn momentum(k: OptimiserKind) -> Option<f32> {
    match k {
        OptimiserKind::Sgd { momentum } | OptimiserKind::RmsProp { momentum, .. } => Some(momentum),
        OptimiserKind::Adam { .. } => None,
    }
}

fn set(dst: &mut f32, src: Option<f32>) {
    if let Some(v) = src {
        *dst = v;
    }
}

/// The flags of both optimisers (`dtp train`): what they set in the `[forward]` and
/// `[inverse]` tables.
#[cfg(feature = "cli")]
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OptimiserFlags {
    /// Learning rate of the forward layers (and of backprop).
    #[arg(long)]
    pub lr_forward: Option<f32>,
    /// Learning rate of the inverses.
    #[arg(long)]
    pub lr_inverse: Option<f32>,
    /// Optimiser of both passes.
    #[arg(long, value_enum)]
    pub optimiser: Option<OptimiserName>,
    /// Momentum of both optimisers.
    #[arg(long)]
    pub momentum: Option<f32>,
}

#[cfg(feature = "cli")]
impl OptimiserFlags {
    /// The `[forward]` and `[inverse]` patches of these flags (`None` where no flag is given).
    pub fn patches(&self) -> [Option<OptimiserPatch>; 2] {
        [self.lr_forward, self.lr_inverse].map(|lr| {
            let p = OptimiserPatch {
                kind: self.optimiser,
                lr,
                momentum: self.momentum,
                ..OptimiserPatch::default()
            };
            (p != OptimiserPatch::default()).then_some(p)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_switches_the_rule_keeping_the_momentum() {
        let mut o = Optimiser::rmsprop(1e-3);
        let sgd = OptimiserPatch {
            kind: Some(OptimiserName::Sgd),
            lr: Some(0.1),
            ..OptimiserPatch::default()
        };
        sgd.apply_to(&mut o);
        assert_eq!(o, Optimiser::sgd(0.1, 0.9));
        let back = OptimiserPatch {
            kind: Some(OptimiserName::Rmsprop),
            rho: Some(0.5),
            ..OptimiserPatch::default()
        };
        back.apply_to(&mut o);
        let mut want = Optimiser::rmsprop(0.1);
        if let OptimiserKind::RmsProp { rho, .. } = &mut want.kind {
            *rho = 0.5;
        }
        assert_eq!(o, want);
    }

    /// A TOML file's Adam constant survives a flag that switches to Adam after it (the file's
    /// patch is applied first, to the preset's RMSprop, which has no weight decay), and a
    /// constant the final rule does not have is named.
    #[test]
    fn constants_of_the_final_rule_are_kept_and_others_named() {
        let file = OptimiserPatch {
            weight_decay: Some(1e-4),
            ..OptimiserPatch::default()
        };
        let flag = OptimiserPatch {
            kind: Some(OptimiserName::Adam),
            ..OptimiserPatch::default()
        };
        let merged = file.then(&flag);
        let mut o = Optimiser::rmsprop(1e-3);
        merged.apply_to(&mut o);
        assert!(matches!(o.kind, OptimiserKind::Adam { weight_decay, .. } if weight_decay == 1e-4));
        assert_eq!(merged.unused_key(&o), None);
        let rms = OptimiserPatch {
            kind: Some(OptimiserName::Rmsprop),
            ..OptimiserPatch::default()
        };
        let merged = file.then(&rms);
        let mut o = Optimiser::adam(1e-3);
        merged.apply_to(&mut o);
        assert_eq!(merged.unused_key(&o), Some(("weight_decay", "rmsprop")));
        let sgd_rho = OptimiserPatch {
            kind: Some(OptimiserName::Sgd),
            rho: Some(0.5),
            ..OptimiserPatch::default()
        };
        assert_eq!(
            sgd_rho.unused_key(&Optimiser::sgd(0.1, 0.9)),
            Some(("rho", "sgd"))
        );
    }

    #[test]
    fn a_patch_switches_to_adam_and_sets_its_constants() {
        let mut o = Optimiser::rmsprop(1e-3);
        let adam = OptimiserPatch {
            kind: Some(OptimiserName::Adam),
            beta2: Some(0.99),
            weight_decay: Some(1e-4),
            ..OptimiserPatch::default()
        };
        adam.apply_to(&mut o);
        let mut want = Optimiser::adam(1e-3);
        if let OptimiserKind::Adam {
            beta2,
            weight_decay,
            ..
        } = &mut want.kind
        {
            (*beta2, *weight_decay) = (0.99, 1e-4);
        }
        assert_eq!(o, want);
        // Adam has no momentum: SGD then starts from 0.9.
        let sgd = OptimiserPatch {
            kind: Some(OptimiserName::Sgd),
            ..OptimiserPatch::default()
        };
        sgd.apply_to(&mut o);
        assert_eq!(o, Optimiser::sgd(1e-3, 0.9));
    }
}
