//! Every diagnostic code is documented, and the documentation names no code that does not exist.

use qci_mirror::diag::Code;

#[test]
fn every_code_has_a_section_in_docs_rules_md() {
    let docs = std::fs::read_to_string("docs/rules.md").unwrap();
    let headings: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("## `")?.strip_suffix('`'))
        .collect();
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        headings, codes,
        "docs/rules.md sections must follow Code::ALL"
    );
    for code in Code::ALL {
        assert!(!code.summary().is_empty());
    }
}
