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

/// A config in a temporary folder, and the flags that point `plan` or `mirror` at it, at a
/// target repository and at local registries spoken to over plain HTTP.
pub struct LocalConfig {
    /// The folder; it goes when this does.
    pub dir: tempfile::TempDir,
    /// The config file in it.
    pub path: PathBuf,
    flags: Vec<String>,
}

impl LocalConfig {
    /// Writes `text` as `_config.yaml`.
    pub fn new(text: &str, target_repository: &str, plain_http: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_config.yaml");
        std::fs::write(&path, text).unwrap();
        let mut flags = vec![
            "--config".to_owned(),
            path.to_str().unwrap().to_owned(),
            "--target-repository".to_owned(),
            target_repository.to_owned(),
        ];
        for host in plain_http {
            flags.extend(["--plain-http".to_owned(), (*host).to_owned()]);
        }
        LocalConfig { dir, path, flags }
    }

    /// With `flags` on every run too.
    pub fn with(mut self, flags: &[&str]) -> Self {
        self.flags.extend(flags.iter().map(|f| (*f).to_owned()));
        self
    }

    /// The arguments of `command` on this config, then `extra`.
    pub fn args<'a>(&'a self, command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        std::iter::once(command)
            .chain(self.flags.iter().map(String::as_str))
            .chain(extra.iter().copied())
            .collect()
    }

    /// Runs `command` on this config with `extra` arguments.
    pub fn run(&self, command: &str, extra: &[&str]) -> (u8, String, String) {
        run(&self.args(command, extra))
    }
}
