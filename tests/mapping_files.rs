//! The five real deprecated mapping files from openshift/release: every oddity the reference
//! lists is reported on its line, and nothing else but the lines `_config.yaml` now repeats.

mod support;

use support::{openshift_release_fixture, run};

/// `(line, column, severity, code)`.
type Finding = (u64, u64, String, String);

/// `validate --format json` over `files`: per file name, every finding.
fn findings(files: &[&str]) -> Vec<(String, Vec<Finding>)> {
    let paths: Vec<String> = files
        .iter()
        .map(|f| openshift_release_fixture(f).display().to_string())
        .collect();
    let mut args = vec!["validate", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let (_, stdout, stderr) = run(&args);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            let name = file["path"].as_str().unwrap().rsplit('/').next().unwrap();
            let found = file["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["line"].as_u64().unwrap(),
                        d["column"].as_u64().unwrap(),
                        d["severity"].as_str().unwrap().to_owned(),
                        d["code"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (name.to_owned(), found)
        })
        .collect()
}

fn of(found: &[Finding], code: &str, severity: &str) -> Vec<u64> {
    found
        .iter()
        .filter(|(_, _, s, c)| c == code && s == severity)
        .map(|(line, ..)| *line)
        .collect()
}

#[test]
fn the_openshift_file_shows_every_oddity_on_its_line() {
    let all = findings(&["mapping_supplemental_ci_images_openshift", "_config.yaml"]);
    let (name, found) = &all[0];
    assert_eq!(name, "mapping_supplemental_ci_images_openshift");
    // The four `#docker.io/…` lines are comments, and stay silent.
    let errors_and_oddities: Vec<_> = found
        .iter()
        .filter(|(_, _, s, c)| !(c == "mapping-target-defined" && s == "warning"))
        .cloned()
        .collect();
    let expected = [
        // `ansible-runner:ovirt-44` here, `ovirt-45` in `_config.yaml`.
        (3, 39, "error", "mapping-target-defined"),
        // A `ci/` target in the `openshift` file.
        (8, 36, "error", "mapping-target-namespace"),
        // No tag: means `:latest`.
        (9, 1, "warning", "untagged-source"),
        // `quay.io/repository/…` is a web page, not a pull spec.
        (10, 1, "error", "invalid-image-reference"),
    ];
    let expected: Vec<Finding> = expected
        .iter()
        .map(|(l, c, s, code)| (*l, *c, (*s).to_owned(), (*code).to_owned()))
        .collect();
    assert_eq!(errors_and_oddities, expected, "{found:#?}");
    // Lines 2, 4 and 8 were migrated as they are: leftovers (8 is in the wrong file, too).
    assert_eq!(of(found, "mapping-target-defined", "warning"), [2, 4, 8]);
}

#[test]
fn files_already_migrated_are_all_leftovers_but_real_conflicts_are_errors() {
    let all = findings(&[
        "mapping_supplemental_ci_images_chaos",
        "mapping_supplemental_ci_images_ci",
        "mapping_supplemental_ci_images_stackrox",
        "mapping_origin_metallb-5_2",
        "_config.yaml",
    ]);
    let by_name = |name: &str| &all.iter().find(|(n, _)| n == name).unwrap().1;
    // Every chaos line is in `_config.yaml` with the same source.
    let chaos = by_name("mapping_supplemental_ci_images_chaos");
    assert_eq!(
        of(chaos, "mapping-target-defined", "warning"),
        (1..=18).collect::<Vec<_>>()
    );
    assert_eq!(chaos.len(), 18);
    // `ci/osde2e:latest` moved to another source in `_config.yaml`: two systems, two images.
    let ci = by_name("mapping_supplemental_ci_images_ci");
    assert_eq!(of(ci, "mapping-target-defined", "error"), [22]);
    assert_eq!(
        ci.len(),
        24,
        "24 of its 36 lines are in `_config.yaml` too: {ci:#?}"
    );
    let stackrox = by_name("mapping_supplemental_ci_images_stackrox");
    assert_eq!(of(stackrox, "mapping-target-defined", "warning"), [1]);
    assert_eq!(stackrox.len(), 1, "{stackrox:#?}");
    // Promotion mappings into quay.io/openshift: no namespace rule, nothing to report.
    assert!(by_name("mapping_origin_metallb-5_2").is_empty());
    // The config itself keeps only its known warning.
    assert_eq!(by_name("_config.yaml").len(), 1);
}

#[test]
fn a_mapping_file_alone_finds_the_config_beside_it() {
    let path = openshift_release_fixture("mapping_supplemental_ci_images_stackrox");
    let (code, stdout, stderr) = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("warning[mapping-target-defined]")
            && stdout.contains("_config.yaml` line")
            && stdout.ends_with("1 file checked: 0 errors, 1 warning\n"),
        "{stdout}"
    );
}
