//! Checks of a dataset's labels before a network is sized from them: classes with no training
//! sample are named ([`absent_from_training`]), and labels that leave most of the classes
//! `0..=largest` empty — a corrupt label, such as an MNIST label byte 0xFF, that would grow an
//! `auto` output layer to 256 units — are found ([`sparse_labels`]).

use super::dataset::Dataset;
use super::split::Splits;

/// The classes `0..classes` that no sample of `d` carries.
pub fn empty_classes(d: &Dataset) -> Vec<usize> {
    let h = d.class_histogram();
    (0..h.len()).filter(|&c| h[c] == 0).collect()
}

/// `classes` as short text: `3, 5, 7–9` (runs of three or more joined), at most 12 items.
pub fn class_list(classes: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < classes.len() {
        let mut j = i;
        while j + 1 < classes.len() && classes[j + 1] == classes[j] + 1 {
            j += 1;
        }
        match j - i {
            0 => parts.push(classes[i].to_string()),
            1 => parts.extend([classes[i].to_string(), classes[j].to_string()]),
            _ => parts.push(format!("{}–{}", classes[i], classes[j])),
        }
        i = j + 1;
    }
    if parts.len() > 12 {
        let more = parts.len() - 12;
        parts.truncate(12);
        parts.push(format!("… ({more} more)"));
    }
    parts.join(", ")
}

/// A warning naming the classes between 0 and the largest label that have no training
/// sample (the network gets an output for each, which it never learns), if there are any.
pub fn absent_from_training(s: &Splits) -> Option<String> {
    let absent = empty_classes(&s.train);
    (!absent.is_empty()).then(|| {
        format!(
            "{} of the {} classes 0..={} have no training sample: {} (labels are read as \
             0-based class numbers; each class needs training samples)",
            absent.len(),
            s.train.classes,
            s.train.classes - 1,
            class_list(&absent)
        )
    })
}

/// When more than half of the classes `0..classes` occur in none of the splits: what is
/// wrong, naming the largest label and the classes that occur (the caller refuses to size
/// an `auto` output layer from such labels).
pub fn sparse_labels(s: &Splits) -> Option<String> {
    let classes = s.train.classes;
    let mut seen = vec![false; classes];
    for d in [&s.train, &s.valid, &s.test] {
        for l in d.labels() {
            if let Some(c) = seen.get_mut(usize::from(l)) {
                *c = true;
            }
        }
    }
    let present: Vec<usize> = (0..classes).filter(|&c| seen[c]).collect();
    let empty = classes - present.len();
    (2 * empty > classes).then(|| {
        format!(
            "labels go up to {} but only {} of the {classes} classes 0..={} occur ({}): {empty} \
             classes would have no sample. A corrupt label? An `auto` output width would give \
             the network {classes} outputs; fix the labels, or give the output width \
             (--layers …-N)",
            classes - 1,
            present.len(),
            classes - 1,
            class_list(&present)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splits(train: &[u8], test: &[u8], classes: usize) -> Splits {
        let d = |y: &[u8]| Dataset::from_f32("t", 1, classes, vec![0.0; y.len()], y.to_vec());
        Splits {
            train: d(train),
            valid: d(&[]),
            test: d(test),
        }
    }

    #[test]
    fn lists_are_short() {
        assert_eq!(class_list(&[0, 1, 2, 3, 9, 11, 12]), "0–3, 9, 11, 12");
        assert_eq!(class_list(&[]), "");
        let many: Vec<usize> = (0..40).step_by(2).collect();
        assert!(
            class_list(&many).ends_with("(8 more)"),
            "{}",
            class_list(&many)
        );
    }

    #[test]
    fn absent_and_sparse_classes() {
        assert_eq!(absent_from_training(&splits(&[0, 1, 2], &[1], 3)), None);
        let w = absent_from_training(&splits(&[0, 1, 3], &[2], 4)).unwrap();
        assert!(
            w.contains("1 of the 4 classes") && w.contains(": 2 "),
            "{w}"
        );
        assert_eq!(sparse_labels(&splits(&[0, 1, 3], &[2], 4)), None);
        // An MNIST-like set with one label byte 0xFF: 245 of 256 classes empty.
        let mut train: Vec<u8> = (0..100).map(|i| (i % 10) as u8).collect();
        train.push(255);
        let e = sparse_labels(&splits(&train, &[3], 256)).unwrap();
        assert!(e.contains("up to 255") && e.contains("0–9, 255"), "{e}");
        assert!(e.contains("245 classes") && e.contains("--layers"), "{e}");
        // 1-based labels (class 0 empty) are only a warning.
        assert_eq!(sparse_labels(&splits(&[1, 2, 3], &[1], 4)), None);
    }
}
