//! The real openshift/release configs must validate with zero errors and exactly their known
//! warnings: a rule that misfires on real data is a bug, whatever the unit tests say.

mod support;

use qci_mirror::config::{self, model::SourceRef};
use qci_mirror::diag::{Code, Severity};
use qci_mirror::rules::Options;
use qci_mirror::source::SourceFile;
use qci_mirror::validate::check_path;
use support::{openshift_release_fixture, run};

#[test]
fn current_config_has_no_errors_and_only_the_fedora_warning() {
    let path = openshift_release_fixture("_config.yaml");
    let checked = check_path(&path, &Options::default()).unwrap();
    let found: Vec<(Code, Severity, u32, u32)> = checked
        .diagnostics
        .iter()
        .map(|d| (d.code, d.severity, d.span.line, d.span.column))
        .collect();
    // `ci/fedora:latest` is configured, but its source is in `ignoredSources` (RFE-5363).
    assert_eq!(
        found,
        [(Code::IgnoredSource, Severity::Warning, 453, 12)],
        "{:#?}",
        checked.diagnostics
    );
    assert!(
        checked.diagnostics[0]
            .message
            .contains("`ci/fedora:latest`")
    );
    assert_eq!(checked.diagnostics[0].labels[0].span.line, 1124);

    let (code, stdout, stderr) = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.ends_with("1 file checked: 0 errors, 1 warning\n"),
        "{stdout}"
    );
}

#[test]
fn current_config_model_matches_the_documented_statistics() {
    let path = openshift_release_fixture("_config.yaml");
    let file = SourceFile::new("_config.yaml", std::fs::read_to_string(path).unwrap());
    let (config, diagnostics) = config::load(&file);
    assert!(diagnostics.is_empty());

    let entries: Vec<_> = config.supplemental_entries().collect();
    assert_eq!(entries.len(), 521);
    assert_eq!(config.qci_to_app_ci_entries().count(), 36);
    assert_eq!(config.ignored_source_items().count(), 6);
    assert_eq!(config.art_image_items().count(), 8);
    let top_lines: Vec<u32> = config.top_keys.iter().map(|k| k.span.line).collect();
    assert_eq!(top_lines, [1, 1086, 1123, 1136]);
    assert_eq!(entries.first().unwrap().key.span.line, 2);
    assert_eq!(entries.last().unwrap().key.span.line, 1082);

    let images = entries
        .iter()
        .filter(|e| matches!(e.body.source(), Some(SourceRef::Image(_))))
        .count();
    let istags = entries
        .iter()
        .filter(|e| matches!(e.body.source(), Some(SourceRef::ImageStreamTag { .. })))
        .count();
    assert_eq!((images, istags), (504, 17));

    let minio = entries
        .iter()
        .find(|e| e.key.value == "ci/minio:RELEASE.2025-09-07T16-13-09Z")
        .unwrap();
    assert_eq!(minio.key.span.line, 1082);
}

#[test]
fn older_configs_have_no_errors_and_only_the_fedora_warning() {
    for (name, fedora_line) in [
        ("history/_config.6721b388.yaml", 413),
        ("history/_config.73f8cf77.yaml", 457),
        ("history/_config.d2bfd4b7.yaml", 449),
    ] {
        let path = openshift_release_fixture(name);
        let checked = check_path(&path, &Options::default()).unwrap();
        let found: Vec<(Code, u32)> = checked
            .diagnostics
            .iter()
            .map(|d| (d.code, d.span.line))
            .collect();
        assert_eq!(found, [(Code::IgnoredSource, fedora_line)], "{name}");
    }
}

#[test]
fn the_real_targets_split_into_four_shards_without_overlap() {
    use qci_mirror::shard::Shard;
    let path = openshift_release_fixture("_config.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (config, _) = config::load(&SourceFile::new("_config.yaml", text));
    let targets: Vec<String> = config
        .supplemental_entries()
        .map(|e| {
            format!(
                "quay.io/openshift/ci:{}",
                qci_mirror::qci::render_qci_tag(&e.key.value)
            )
        })
        .collect();
    assert_eq!(targets.len(), 521);
    let shards: Vec<Shard> = (1..=4)
        .map(|i| Shard::parse(&format!("{i}/4")).unwrap())
        .collect();
    let sizes: Vec<usize> = shards
        .iter()
        .map(|s| targets.iter().filter(|t| s.contains(t)).count())
        .collect();
    // The sizes the example workflow quotes (`.github/workflows/openshift-release-mirror.yml`).
    assert_eq!(sizes.iter().sum::<usize>(), 521, "{sizes:?}");
    for target in &targets {
        assert_eq!(shards.iter().filter(|s| s.contains(target)).count(), 1);
    }
    // Exact: a target's shard must not change between versions, or two versions running side
    // by side during a rollout could both take (or both miss) a target.
    assert_eq!(sizes, [118, 145, 126, 132]);
}

#[test]
fn current_config_overwrites_no_tag_the_copied_ci_operator_configs_promote() {
    let path = openshift_release_fixture("_config.yaml");
    let (code, stdout, stderr) = run(&[
        "validate",
        "--ci-operator-config",
        "tests/fixtures/ci-operator/config",
        path.to_str().unwrap(),
    ]);
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
    assert!(!stdout.contains("target-promoted"), "{stdout}");
    assert!(
        stdout.ends_with("1 file checked: 0 errors, 1 warning\n"),
        "{stdout}"
    );
}
