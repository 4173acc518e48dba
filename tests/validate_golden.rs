//! Golden tests for `qci-mirror validate`, run through the real CLI entry point.
//!
//! - `tests/fixtures/validate/ok/*.yaml` must produce no finding at all and exit 0.
//! - `tests/fixtures/validate/err/X.yaml` must print exactly `X.out` (human format), and, where
//!   `X.json` exists, exactly that JSON.
//!
//! After an intended change of wording, regenerate with `UPDATE_GOLDEN=1 cargo test --test
//! validate_golden` and review the diff of every `.out` file before committing.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use support::run;

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(Path::new("tests/fixtures/validate").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {dir}");
    paths
}

fn compare(expected_path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(expected_path, actual).unwrap();
        return;
    }
    match fs::read_to_string(expected_path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{} differs.\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_path.display()
        )),
        Err(_) => failures.push(format!(
            "{} is missing; actual output:\n{actual}",
            expected_path.display()
        )),
    }
}

#[test]
fn ok_fixtures_have_no_findings() {
    for path in fixtures("ok") {
        let path = path.to_str().unwrap();
        let (code, stdout, stderr) = run(&["validate", path]);
        assert_eq!(code, 0, "{path}:\n{stdout}{stderr}");
        // An empty config is valid, and says that it mirrors nothing.
        let note = if path.ends_with("/empty.yaml") {
            format!("{path}: note: the file has no content: nothing is mirrored\n")
        } else {
            String::new()
        };
        assert_eq!(
            stdout,
            format!("{note}1 file checked: 0 errors, 0 warnings\n"),
            "{path}"
        );
        assert_eq!(stderr, "");
    }
}

#[test]
fn err_fixtures_match_their_golden_output() {
    let mut failures = Vec::new();
    for path in fixtures("err") {
        let path_str = path.to_str().unwrap();
        let (code, stdout, stderr) = run(&["validate", path_str]);
        assert_eq!(stderr, "", "{path_str}");
        let has_errors = !stdout.contains(" 0 errors,");
        assert_eq!(
            code,
            u8::from(has_errors),
            "{path_str}: exit code\n{stdout}"
        );
        assert!(
            stdout.contains("[") || !has_errors,
            "{path_str}: produced no finding"
        );
        compare(&path.with_extension("out"), &stdout, &mut failures);

        let json_path = path.with_extension("json");
        if json_path.exists() {
            let (json_code, json, _) = run(&["validate", "--format", "json", path_str]);
            assert_eq!(json_code, code, "{path_str}: JSON exit code");
            compare(&json_path, &json, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
