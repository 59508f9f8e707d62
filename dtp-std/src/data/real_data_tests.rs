//! Checks on the real MNIST / Fashion-MNIST files when `scripts/fetch-data.sh`
//! has put them in `$DTP_DATA_DIR` (default `<repo>/datasets`). On a developer's
//! machine each test returns early with a note when its directory is absent; under
//! `CI=true` (`.ci/run` fetches both sets first) a missing directory fails the test.

use std::path::PathBuf;

use super::{MNIST_VALID, default_data_dir, load_fashion_mnist, load_mnist, missing_data_help};

/// Whether this is a CI run (`CI=true`), where every dataset must be present.
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The dataset's directory; `None` (skip, with a note) if it is absent, unless on CI,
/// where that is a failure.
fn dir_or_skip(name: &str) -> Option<PathBuf> {
    let dir = default_data_dir().join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    let help = missing_data_help(&dir, name);
    assert!(
        !on_ci(),
        "CI=true but the real-{name} data is missing (.ci/run fetches it): {help}"
    );
    println!("note: skipping the real-{name} check: {help}");
    None
}

#[test]
fn full_mnist_sanity_figures() {
    let Some(dir) = dir_or_skip("mnist") else {
        return;
    };
    let s = load_mnist(&dir, 0).unwrap_or_else(|e| panic!("{e}"));
    let (train, test) = (&s.train, &s.test);
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.features, train.classes), (784, 10));
    assert_eq!(
        train.class_histogram(),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test.class_histogram(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!((train.label(0), test.label(0)), (5, 7));
    assert!(train.is_u8() && test.is_u8());
    let (mean, std) = train.mean_std();
    assert!((mean - 0.1307).abs() < 1e-3, "mean {mean}");
    assert!((std - 0.3081).abs() < 1e-3, "std {std}");
    assert_eq!(train.value_range(), (0.0, 1.0));

    // The reference split: the last 10k of the training file are the validation set.
    let r = load_mnist(&dir, MNIST_VALID).unwrap();
    assert_eq!(
        (r.train.len(), r.valid.len(), r.test.len()),
        (50_000, 10_000, 10_000)
    );
    assert_eq!(r.valid.sample(0), train.sample(50_000));
    assert!(r.valid.shares_store(&r.train));
}

#[test]
fn full_fashion_mnist_sanity_figures() {
    let Some(dir) = dir_or_skip("fashion-mnist") else {
        return;
    };
    let s = load_fashion_mnist(&dir, 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
    assert_eq!(s.train.class_histogram(), vec![6000; 10]);
    assert_eq!(s.test.class_histogram(), vec![1000; 10]);
}
