//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod action;
pub mod fault_proxy;
pub mod json_docs;
pub mod registry;
pub mod runner;
pub mod token_server;

use std::path::PathBuf;

/// Runs the CLI in-process with `args` after the program name; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (u8, String, String) {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let code = qci_mirror::cli::run(
        std::iter::once("qci-mirror").chain(args.iter().copied()),
        &mut stdout,
        &mut stderr,
    );
    (
        code,
        String::from_utf8(stdout).expect("stdout is UTF-8"),
        String::from_utf8(stderr).expect("stderr is UTF-8"),
    )
}

/// A real openshift/release file copied into `tests/fixtures/openshift-release/` (provenance in
/// its README). A missing one fails the test: they are part of the suite.
pub fn openshift_release_fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openshift-release")
        .join(name);
    assert!(path.exists(), "fixture {} is missing", path.display());
    path
}

/// A generated config with `n` valid, distinct entries (no findings).
pub fn generated_config(n: usize) -> String {
    let mut text = String::with_capacity(n * 80);
    text.push_str("supplementalCIImages:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  ci/tool-{i}:v{i}.0:\n    image: quay.io/org-{}/tool-{i}:v{i}.0\n",
            i % 97
        ));
    }
    text
}
