//! Checkpoints written through the core's tensor visitor are byte-identical to those written
//! before it existed: each fixture below was written by the `dtp` of main 07b17a5 (whose
//! checkpoint tensors were listed by hand), is loaded by this build and serialised again, and
//! must give the same tensor table (names, dtypes, shapes, offsets), the same data bytes and
//! the same metadata. The header's JSON is compared parsed: safetensors writes `__metadata__`
//! in hash-map order, which differs from run to run.

use std::collections::BTreeMap;
use std::path::Path;

use dtp_std::checkpoint;

/// The header (tensor table and metadata) and the data bytes of a safetensors file.
fn parts(bytes: &[u8]) -> (BTreeMap<String, serde_json::Value>, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header, &bytes[8 + n..])
}

/// Settings added since the fixtures were written, with the value (as JSON) that reproduces
/// the old runs: a re-saved checkpoint records them (`arith = "float"`, `dtp train --arith`;
/// `freeze = []`, `dtp train --freeze`; the auto-encoder's `input_mask = 0.0`, `init_scale =
/// 1.0`, `tied_weights = false`); the rest of its settings must be the old ones, key
/// for key.
const NEW_SETTINGS: &[(&str, &str)] = &[
    ("arith", "\"float\""),
    ("freeze", "[]"),
    ("feedback_pretrain", "0"),
    ("feedback_extra", "0"),
    ("input_mask", "0.0"),
    ("init_scale", "1.0"),
    ("tied_weights", "false"),
];

/// `header` with the settings of [`NEW_SETTINGS`] taken out of its recorded `hyper` (each must
/// hold its old-run value).
fn without_new_settings(
    mut header: BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    let meta = header.get_mut("__metadata__").unwrap();
    let hyper = meta.get_mut("hyper").unwrap();
    let mut settings: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(hyper.as_str().unwrap()).unwrap();
    for (key, old_value) in NEW_SETTINGS {
        if let Some(v) = settings.remove(*key) {
            let old: serde_json::Value = serde_json::from_str(old_value).unwrap();
            assert_eq!(v, old, "setting {key}");
        }
    }
    *hyper = serde_json::Value::String(serde_json::Value::Object(settings).to_string());
    header
}

fn resaved_is_identical(file: &str, tensors: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let old = std::fs::read(&path).unwrap();
    let c = checkpoint::load(&path).unwrap();
    let new = checkpoint::to_bytes_with(
        c.preset,
        &c.hyper,
        &c.model,
        &c.train_rng,
        &c.shuffle_rng,
        c.data.as_ref(),
    )
    .unwrap();
    let ((old_header, old_data), (new_header, new_data)) = (parts(&old), parts(&new));
    assert_eq!(old_header.len(), tensors + 1, "{file}");
    // The hyper JSON compared parsed, as the rest of the header.
    let parsed = |h: BTreeMap<String, serde_json::Value>| {
        let mut h = without_new_settings(h);
        let meta = h.get_mut("__metadata__").unwrap();
        let hyper = meta.get_mut("hyper").unwrap();
        *hyper = serde_json::from_str(hyper.as_str().unwrap()).unwrap();
        h
    };
    assert_eq!(parsed(new_header), parsed(old_header), "{file}");
    assert!(new_data == old_data, "{file}: data bytes differ");
}

#[test]
fn a_classifier_checkpoint_of_the_old_code_is_saved_again_byte_for_byte() {
    // `dtp train --preset digits-firmware --epochs 1`: 64-32-32-10, f1 … f3, g2.
    resaved_is_identical("fixtures/v2-digits-firmware-epoch1.safetensors", 32);
}

#[test]
fn an_autoencoder_checkpoint_of_the_old_code_is_saved_again_byte_for_byte() {
    // `dtp train --preset mnist-ae --layers auto-4-auto --epochs 1` on generated MNIST-format
    // data: encoder, decoder, both probes, their optimiser states and the probe report.
    resaved_is_identical("fixtures/v2-mnist-ae-784-4-784.safetensors", 26);
}
