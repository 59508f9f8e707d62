//! The generic CSV reader (features and a label), plain and gzipped; the first byte picks the
//! header rule and the label column.
#![no_main]

use dtp_std::data::{CsvFormat, CsvOptions, HeaderRule, LabelColumn, parse_csv_table};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else {
        return;
    };
    let header = [HeaderRule::Auto, HeaderRule::Yes, HeaderRule::No][usize::from(pick % 3)];
    let label_column = match (pick / 3) % 3 {
        0 => LabelColumn::Last,
        1 => LabelColumn::First,
        _ => LabelColumn::Number(std::num::NonZeroUsize::new(2).unwrap()),
    };
    let opts = CsvOptions {
        scale_max: Some(16.0),
        classes: Some(10),
        format: CsvFormat { header, label_column },
    };
    if let Ok(t) = parse_csv_table(Path::new("fuzz.csv"), text, &opts) {
        let d = t.data;
        let x = d.to_values();
        assert_eq!(x.len(), d.len() * d.features);
        assert!(d.labels().all(|l| (l as usize) < d.classes));
        assert!(x.iter().all(|v| v.is_finite()));
        if let Some(h) = t.header {
            let _ = h.note(d.len());
        }
    }
});
