//! `qci-mirror migrate` on the five real mapping files and a copy of the real `_config.yaml`:
//! the result validates, keeps every original line in order, and a second run changes nothing.

mod support;

use support::{openshift_release_fixture, run};

const MAPPINGS: [&str; 5] = [
    "mapping_origin_metallb-5_2",
    "mapping_supplemental_ci_images_chaos",
    "mapping_supplemental_ci_images_ci",
    "mapping_supplemental_ci_images_openshift",
    "mapping_supplemental_ci_images_stackrox",
];

fn migrate(config: &str, write: bool) -> (u8, String, String) {
    let mappings: Vec<String> = MAPPINGS
        .iter()
        .map(|m| openshift_release_fixture(m).display().to_string())
        .collect();
    let mut args = vec!["migrate", "--config", config];
    if write {
        args.push("--write");
    }
    args.extend(mappings.iter().map(String::as_str));
    run(&args)
}

#[test]
fn the_real_files_migrate_into_a_config_that_validates_and_a_rerun_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("_config.yaml");
    let original = std::fs::read_to_string(openshift_release_fixture("_config.yaml")).unwrap();
    std::fs::write(&config, &original).unwrap();
    let config = config.to_str().unwrap();

    // Printing first: the same entries, nothing written.
    let (code, printed, report) = migrate(config, false);
    assert_eq!(code, 1, "some lines cannot be migrated: {report}");
    assert!(printed.starts_with("supplementalCIImages:\n  ci/cvp-operator-scorecard:v5:\n    image: quay.io/cvpops/operator-scorecard:v5\n"), "{printed}");
    assert_eq!(printed.matches("\n    image: ").count(), 14, "{printed}");
    assert_eq!(std::fs::read_to_string(config).unwrap(), original);
    assert!(
        report.ends_with(&format!(
            "14 entries to add, 45 already in `{config}`, 11 cannot be migrated\n"
        )),
        "{report}"
    );
    // Why each line is left out, on its line.
    for (file_line, why) in [
        ("mapping_origin_metallb-5_2:1", "is not an app.ci image"),
        (
            "mapping_supplemental_ci_images_ci:22",
            "`ci/osde2e:latest` is in `_config.yaml` already, from another source",
        ),
        (
            "mapping_supplemental_ci_images_openshift:3",
            "`openshift/ansible-runner-ovirt:latest` is in `_config.yaml` already",
        ),
        (
            "mapping_supplemental_ci_images_openshift:10",
            "the address of a quay.io web page",
        ),
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.contains(file_line) && l.contains(why)),
            "{file_line}: {why}\n{report}"
        );
    }

    let (code, written, report) = migrate(config, true);
    assert_eq!(code, 1, "{report}");
    assert_eq!(written, "");
    let migrated = std::fs::read_to_string(config).unwrap();
    // Every original byte is still there, in order: the entries went in as one block.
    let block = printed.strip_prefix("supplementalCIImages:\n").unwrap();
    assert_eq!(migrated.replacen(block, "", 1), original);
    let (code, stdout, _) = run(&["validate", config]);
    assert_eq!(code, 0, "{stdout}");
    // One warning the config had already; the untagged source went in as the `:latest` it
    // means, so it adds none.
    assert!(
        stdout.ends_with("1 file checked: 0 errors, 1 warning\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("untagged-source"), "{stdout}");

    let (_, _, report) = migrate(config, true);
    assert!(
        report.contains("0 entries to add, 59 already in"),
        "{report}"
    );
    assert!(report.ends_with("is unchanged\n"), "{report}");
    assert_eq!(std::fs::read_to_string(config).unwrap(), migrated);
}

#[test]
fn without_a_supplemental_section_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("_config.yaml");
    // The config has no supplementalCIImages to append to.
    std::fs::write(&config, "qciToAppCIImages: {}\n").unwrap();
    let mapping = dir.path().join("mapping_supplemental_ci_images_ci");
    std::fs::write(&mapping, "quay.io/a/b:1 registry.ci.openshift.org/ci/b:1\n").unwrap();
    let (code, _, stderr) = run(&[
        "migrate",
        "--write",
        "--config",
        config.to_str().unwrap(),
        mapping.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no `supplementalCIImages` entry to append after"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "qciToAppCIImages: {}\n"
    );
    assert!(!dir.path().join("_config.yaml.qci-mirror.tmp").exists());
}

#[test]
fn a_migration_that_would_break_the_config_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("_config.yaml");
    let original = "supplementalCIImages:\n  ci/a:1:\n    image: quay.io/x/a:1\n";
    std::fs::write(&config, original).unwrap();
    // A valid app.ci target whose QCI tag (`ci_<name>_1`) is longer than a tag may be.
    let name = "n".repeat(130);
    let mapping = dir.path().join("mapping_supplemental_ci_images_ci");
    std::fs::write(
        &mapping,
        format!("quay.io/x/long:1 registry.ci.openshift.org/ci/{name}:1\n"),
    )
    .unwrap();
    let (code, stdout, stderr) = run(&[
        "migrate",
        "--write",
        "--config",
        config.to_str().unwrap(),
        mapping.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.contains("error[invalid-qci-tag]"), "{stdout}");
    assert!(stderr.contains("would have new errors"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
}

#[test]
fn without_config_the_one_beside_or_above_the_mapping_file_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("supplemental-ci-images");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        dir.path().join("_config.yaml"),
        "supplementalCIImages:\n  ci/old:v1:\n    image: quay.io/org/old:v1\n",
    )
    .unwrap();
    let mapping = folder.join("mapping_x");
    std::fs::write(
        &mapping,
        "quay.io/org/old:v1 registry.ci.openshift.org/ci/old:v1\nquay.io/org/new registry.ci.openshift.org/ci/new:v1\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&["migrate", mapping.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The untagged source goes in as the `latest` it means; the old line is there already.
    assert!(
        stdout.contains("  ci/new:v1:\n    image: quay.io/org/new:latest\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("ci/old:v1:"), "{stdout}");
    let config = dir.path().join("_config.yaml");
    assert!(
        stderr.contains(&format!(
            "1 entry to add, 1 already in `{}`",
            config.display()
        )),
        "{stderr}"
    );

    let lonely = tempfile::tempdir().unwrap();
    let mapping = lonely.path().join("mapping_y");
    std::fs::write(
        &mapping,
        "quay.io/org/a:v1 registry.ci.openshift.org/ci/a:v1\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&["migrate", mapping.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no `_config.yaml` beside or above"),
        "{stderr}"
    );
    assert!(stderr.contains("--config"), "{stderr}");
}
