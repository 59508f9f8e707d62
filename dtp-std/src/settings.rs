//! How a setting is declared: once, in the list given to the `settings!` macro, which
//! writes from it the complete settings ([`Hyper`](crate::config::Hyper): its fields, their
//! defaults, their TOML keys), the partial ones ([`HyperPatch`](crate::config::HyperPatch): the
//! same fields as options, read from a TOML file and, with the `cli` feature, parsed by clap
//! as flags whose help is the field's doc comment) and the patching of one by the other.
//!
//! A setting's type says how a patch changes it ([`Setting`]): most are replaced whole; an
//! optimiser is patched key by key (its `[forward]` / `[inverse]` table).

use dtp_core::{Gradient, Init, Optimiser, Schedule};
use serde::de::DeserializeOwned;

use crate::kinds::{Algo, Arith, DataKind, ModelKind, UnitsName};
use crate::layers::{LayerNumbers, Layers};
use crate::optimiser::OptimiserPatch;

/// A value that settings hold, and what patches it.
pub trait Setting: Clone {
    /// What a TOML file or a flag gives for it.
    type Patch: Clone + std::fmt::Debug + PartialEq + DeserializeOwned;

    /// Applies `p`.
    fn patch(&mut self, p: &Self::Patch);
}

/// Types that a patch replaces whole.
macro_rules! replaced_whole {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            type Patch = $t;

            fn patch(&mut self, p: &$t) {
                *self = p.clone();
            }
        }
    )*};
}

replaced_whole!(
    bool,
    f32,
    u32,
    u64,
    Layers,
    LayerNumbers,
    DataKind,
    ModelKind,
    UnitsName,
    Algo,
    Arith,
    Schedule,
    Init,
    Gradient
);

impl Setting for Optimiser {
    type Patch = OptimiserPatch;

    fn patch(&mut self, p: &OptimiserPatch) {
        p.apply_to(self);
    }
}

/// Declares the settings: for each, its doc comment (rustdoc, and the flag's `--help`), its
/// flag (what clap's `#[arg(…)]` takes: `long`, a value parser; `skip` for none), its name (the
/// TOML key and, in kebab case, the flag), its type and its default (the digits preset's
/// value, and the value of a key missing from an older file or checkpoint); `=> core` marks a
/// field of the core's `Config` of the same name and type. Writes the complete struct (with
/// `Default`), the patch struct, `apply` (a patch onto the settings) and the copies to and
/// from the core's `Config` of the `core` fields.
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $full:ident;
        $(#[$pmeta:meta])*
        pub struct $patch:ident;
        $(
            $(#[doc = $doc:literal])*
            #[arg($($arg:tt)*)]
            $name:ident: $ty:ty = $default:expr $(=> $core:ident)?;
        )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $full {
            $( $(#[doc = $doc])* pub $name: $ty, )*
        }

        impl Default for $full {
            fn default() -> Self {
                $full { $( $name: $default, )* }
            }
        }

        $(#[$pmeta])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
        #[cfg_attr(feature = "cli", derive(clap::Args))]
        #[serde(deny_unknown_fields)]
        pub struct $patch {
            $(
                $(#[doc = $doc])*
                #[cfg_attr(feature = "cli", arg($($arg)*))]
                pub $name: Option<<$ty as $crate::settings::Setting>::Patch>,
            )*
        }

        impl $full {
            /// Applies every key present in `p`.
            pub fn apply(&mut self, p: &$patch) {
                $(
                    if let Some(v) = &p.$name {
                        $crate::settings::Setting::patch(&mut self.$name, v);
                    }
                )*
            }

            /// Copies the settings that are fields of the core's `Config` into `c`.
            fn core_into(&self, c: &mut dtp_core::Config) {
                $( $( $crate::settings::settings!(@$core c.$name = self.$name); )? )*
            }

            /// Takes the settings that are fields of the core's `Config` from `c`.
            fn core_from(&mut self, c: &dtp_core::Config) {
                $( $( $crate::settings::settings!(@$core self.$name = c.$name); )? )*
            }
        }
    };
    (@core $to:ident.$f:ident = $from:ident.$g:ident) => {
        $to.$f = $from.$g;
    };
}

pub(crate) use settings;
