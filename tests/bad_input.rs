//! Hostile or broken files fail with one clear, positioned diagnostic: never a panic, a hang or
//! an unbounded allocation.

mod support;

use std::io::Write;
use support::{generated_config, run};

fn temp_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    file
}

#[test]
fn a_20_mb_file_is_refused_without_parsing() {
    let file = temp_file(&vec![b'#'; 20 * 1024 * 1024]);
    let path = file.path().to_str().unwrap();
    let (code, stdout, stderr) = run(&["validate", path]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "error[file-too-large]: the file is 20971520 bytes (20.0 MiB); a config may be at most 16777216 bytes (16 MiB)\n--> {path}:1:1\n"
        )),
        "{stdout}"
    );
}

#[test]
fn binary_bytes_are_an_encoding_error_at_their_position() {
    let mut bytes = b"supplementalCIImages:\n  ci/a:v1:\n    image: ".to_vec();
    bytes.extend([0x00, 0xff, 0xfe, 0x80, 0x7f]);
    let file = temp_file(&bytes);
    let path = file.path().to_str().unwrap();
    let (code, stdout, _) = run(&["validate", path]);
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with(&format!(
            "error[invalid-encoding]: the file is not UTF-8 text: byte 0xFF cannot start or continue a character here\n--> {path}:3:13\n"
        )),
        "{stdout}"
    );
}

#[test]
fn control_characters_are_a_yaml_error_not_a_panic() {
    let file = temp_file(b"supplementalCIImages:\n  ci/a:v1:\n    image: \x00\x01\x02\n");
    let (code, stdout, _) = run(&["validate", file.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("error[yaml-syntax]"), "{stdout}");
}

#[test]
fn random_bytes_never_panic() {
    // A fixed xorshift stream: deterministic, and varied enough to reach odd parser states.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..200 {
        let len = 1 + (round * 37) % 2000;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Bias toward YAML punctuation so the parser gets past the first byte.
                let alphabet = b"ab:/-[]{}&*!|>'\"#\n \t.0123456789\xff";
                alphabet[(state % alphabet.len() as u64) as usize]
            })
            .collect();
        let checked = qci_mirror::validate::check_bytes(
            "random.yaml",
            &bytes,
            &qci_mirror::rules::Options::default(),
        );
        for d in &checked.diagnostics {
            assert!(d.span.line >= 1 && d.span.column >= 1, "{d:?}");
        }
        let _ = qci_mirror::report::human::render(
            &checked.file,
            &checked.diagnostics,
            qci_mirror::report::human::Style::Colored,
        );
    }
}

#[test]
fn a_large_valid_config_is_not_mistaken_for_an_alias_bomb() {
    // 100,000 entries is 400,000 nodes: past serde-saphyr's default 250,000-node budget, which
    // the loader scales with the input size.
    let text = generated_config(100_000);
    assert!(text.len() < 16 * 1024 * 1024);
    let checked = qci_mirror::validate::check_bytes(
        "big.yaml",
        text.as_bytes(),
        &qci_mirror::rules::Options::default(),
    );
    assert!(
        checked.diagnostics.is_empty(),
        "{:?}",
        checked.diagnostics.first()
    );
}
