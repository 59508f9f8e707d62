//! README.md's "Unequal hidden widths" block is `examples/unequal_widths.rs` (which `cargo
//! test` builds and `cargo run --example unequal_widths` runs): the README shows code that
//! compiles, or this fails.

#[test]
fn the_readme_block_is_the_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example =
        std::fs::read_to_string(format!("{root}/dtp-core/examples/unequal_widths.rs")).unwrap();
    let section = readme
        .split("#### Unequal hidden widths (16-24-16-3)")
        .nth(1)
        .expect("README section \"Unequal hidden widths (16-24-16-3)\"");
    let block = section
        .split("```rust\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a rust block in the section");
    // The example without its leading `//!` lines.
    let code: String = example
        .lines()
        .skip_while(|l| l.starts_with("//!"))
        .flat_map(|l| [l, "\n"])
        .collect();
    assert_eq!(
        block, code,
        "README block and examples/unequal_widths.rs differ"
    );
}
