//! `qci-mirror mirror` between real registries (the CNCF distribution registry on loopback),
//! with digests cross-checked by skopeo.

mod support;

use support::registry::{ImageSpec, LAYER_SIZE, LocalRegistry, push, served_digest};
use support::run;

fn write_config(dir: &std::path::Path, entries: &[(&str, String)]) -> String {
    let mut text = String::from("supplementalCIImages:\n");
    for (key, image) in entries {
        text.push_str(&format!("  {key}:\n    image: {image}\n"));
    }
    let path = dir.join("_config.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn mirror(
    config: &str,
    target_repository: &str,
    hosts: &[&str],
    extra: &[&str],
) -> (u8, serde_json::Value, String) {
    let mut args = vec![
        "mirror",
        "--config",
        config,
        "--target-repository",
        target_repository,
        "--format",
        "json",
    ];
    for host in hosts {
        args.extend(["--plain-http", host]);
    }
    args.extend(extra);
    let (code, stdout, stderr) = run(&args);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    // Every run here, whatever its results, has the shape docs/json-output.md describes.
    support::json_docs::assert_documented("mirror", &stdout);
    (code, report, stderr)
}

fn entry<'a>(report: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {report}"))
}

#[test]
fn a_cold_mirror_is_digest_exact_uploads_each_blob_once_and_a_rerun_writes_nothing() {
    let source = LocalRegistry::start();
    let target = LocalRegistry::start();
    let (src, dst) = (source.addr.as_str(), target.addr.as_str());
    let base = Some(1000);
    let images = [
        (
            "ci/single:v1",
            "org/single:v1",
            ImageSpec {
                seed: 1,
                platforms: 1,
                base,
                docker: false,
                ..ImageSpec::default()
            },
        ),
        (
            "ci/index:v1",
            "org/index:v1",
            ImageSpec {
                seed: 2,
                platforms: 3,
                base,
                docker: false,
                ..ImageSpec::default()
            },
        ),
        (
            "ci/docker:v1",
            "org/docker:v1",
            ImageSpec {
                seed: 3,
                platforms: 1,
                base,
                docker: true,
                ..ImageSpec::default()
            },
        ),
        (
            "ci/list:v1",
            "org/list:v1",
            ImageSpec {
                seed: 4,
                platforms: 2,
                base,
                docker: true,
                ..ImageSpec::default()
            },
        ),
    ];
    let mut digests = Vec::new();
    let mut entries = Vec::new();
    for (key, repo, spec) in images {
        digests.push(push(src, repo, spec));
        entries.push((key, format!("{src}/{repo}")));
    }
    // Two targets from one source: the second finds every blob already there.
    entries.push(("ci/single:alias", format!("{src}/org/single:v1")));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &entries);
    let target_repository = format!("{dst}/ci");

    let (code, report, stderr) = mirror(&config, &target_repository, &[src, dst], &[]);
    assert_eq!(code, 0, "{report}{stderr}");
    for ((key, _), digest) in entries.iter().zip(digests.iter().chain([&digests[0]])) {
        let e = entry(&report, key);
        assert_eq!(e["result"], "copied", "{e}");
        assert_eq!(e["digest"], digest.as_str(), "{e}");
        let tag = key.replacen('/', "_", 1).replacen(':', "_", 1);
        assert_eq!(
            served_digest(dst, &format!("ci:{tag}")),
            *digest,
            "skopeo sees {key}"
        );
    }
    // Unique layers: one shared base, one per platform image (1 + 3 + 1 + 2); each image and
    // platform has its own config too. Every blob went up once, whatever shared it.
    let unique_layers = 1 + 1 + 3 + 1 + 2;
    assert_eq!(report["blobs_uploaded"], unique_layers + 7, "{report}");
    let uploaded = report["bytes_uploaded"].as_u64().unwrap();
    assert!(
        uploaded >= (unique_layers * LAYER_SIZE) as u64,
        "{uploaded}"
    );
    assert!(
        uploaded < ((unique_layers + 7) * LAYER_SIZE) as u64,
        "configs are small: {uploaded}"
    );

    let (code, again, _) = mirror(&config, &target_repository, &[src, dst], &[]);
    assert_eq!(code, 0);
    for (key, _) in &entries {
        assert_eq!(entry(&again, key)["result"], "up-to-date");
    }
    assert_eq!(again["blobs_uploaded"], 0);
    assert_eq!(again["blobs_existing"], 0, "a no-op run touches no blob");
}

#[test]
fn a_moved_source_replaces_the_tag_and_failures_stay_with_their_entry() {
    let registry = LocalRegistry::start();
    let addr = registry.addr.as_str();
    let old = push(
        addr,
        "org/tool:v1",
        ImageSpec {
            seed: 10,
            platforms: 1,
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("ci/tool:v1", format!("{addr}/org/tool:v1")),
            ("ci/gone:v1", format!("{addr}/org/gone:v1")),
        ],
    );
    // Source and target on one registry: blobs are mounted across repositories, not streamed.
    let target_repository = format!("{addr}/ci");
    let (code, first, _) = mirror(
        &config,
        &target_repository,
        &[addr],
        &["--only", "ci/tool:v1"],
    );
    assert_eq!(code, 0, "{first}");
    assert_eq!(
        first["entries"].as_array().unwrap().len(),
        1,
        "--only selects one entry"
    );
    assert_eq!(first["blobs_uploaded"], 0, "{first}");
    assert_eq!(first["blobs_mounted"], 2, "{first}");

    let new = push(
        addr,
        "org/tool:v1",
        ImageSpec {
            seed: 11,
            platforms: 1,
            ..Default::default()
        },
    );
    let (code, second, _) = mirror(&config, &target_repository, &[addr], &[]);
    assert_eq!(code, 1, "one entry failed: {second}");
    let tool = entry(&second, "ci/tool:v1");
    assert_eq!(tool["result"], "copied");
    assert_eq!(tool["digest"], new.as_str());
    assert_eq!(tool["replaced"], old.as_str());
    assert_eq!(served_digest(addr, "ci:ci_tool_v1"), new);
    let gone = entry(&second, "ci/gone:v1");
    assert_eq!(gone["result"], "failed");
    assert_eq!(gone["stage"], "source");
    assert_eq!(
        gone["reason"],
        "the source does not exist (no such repository or tag)"
    );
}

#[test]
fn mirroring_refuses_pull_request_events() {
    // Refused before any file, credential or registry is touched.
    for event in ["pull_request_target", "merge_group"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_qci-mirror"))
            .args([
                "mirror",
                "--config",
                "tests/fixtures/validate/ok/minimal.yaml",
            ])
            .env("GITHUB_EVENT_NAME", event)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains("mirroring never runs for pull-request or merge-queue events"),
            "{stderr}"
        );
    }
}

#[test]
fn in_a_github_log_progress_is_a_folded_line_per_entry() {
    let registry = LocalRegistry::start();
    let addr = registry.addr.as_str();
    push(
        addr,
        "org/a:v1",
        ImageSpec {
            seed: 40,
            platforms: 1,
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("ci/a:v1", format!("{addr}/org/a:v1")),
            ("ci/b:v1", format!("{addr}/org/b:v1")),
        ],
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_qci-mirror"))
        .args([
            "mirror",
            "--config",
            &config,
            "--target-repository",
            &format!("{addr}/ci"),
        ])
        .args(["--plain-http", addr])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"::group::Mirroring 2 entries"),
        "{stderr}"
    );
    assert_eq!(lines.last(), Some(&"::endgroup::"), "{stderr}");
    let entries: Vec<&&str> = lines.iter().filter(|l| l.starts_with('[')).collect();
    assert_eq!(entries.len(), 2, "{stderr}");
    assert!(
        entries.iter().any(|l| l.starts_with(&format!(
            "[1/2] copied {addr}/ci:ci_a_v1 ← {addr}/org/a:v1 (sha256:"
        ))) || entries.iter().any(|l| l.starts_with(&format!(
            "[2/2] copied {addr}/ci:ci_a_v1 ← {addr}/org/a:v1 (sha256:"
        ))),
        "{stderr}"
    );
    assert!(
        entries
            .iter()
            .any(|l| l.contains("failed") && l.contains("ci_b_v1")),
        "{stderr}"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("1 copied") && stdout.contains("1 failed"),
        "{stdout}"
    );
}

#[test]
fn live_progress_keeps_every_entry_line_above_a_status_line_it_clears_at_the_end() {
    let registry = LocalRegistry::start();
    let addr = registry.addr.as_str();
    for (seed, name) in [(41, "a"), (42, "b")] {
        push(
            addr,
            &format!("org/{name}:v1"),
            ImageSpec {
                seed,
                platforms: 1,
                ..Default::default()
            },
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("ci/a:v1", format!("{addr}/org/a:v1")),
            ("ci/b:v1", format!("{addr}/org/b:v1")),
        ],
    );
    let (code, _, stderr) = mirror(
        &config,
        &format!("{addr}/ci"),
        &[addr],
        &["--progress", "live"],
    );
    assert_eq!(code, 0, "{stderr}");
    const CLEAR: &str = "\r\x1b[2K";
    // Every entry line is cleared onto, printed whole and ended, so it stays on screen; the
    // status line after it is redrawn in place; the run ends by clearing it.
    let finished: Vec<&str> = stderr
        .split(CLEAR)
        .filter(|chunk| chunk.starts_with("[1/2] ") || chunk.starts_with("[2/2] "))
        .collect();
    assert_eq!(finished.len(), 2, "{stderr:?}");
    for chunk in &finished {
        let (line, status) = chunk.split_once('\n').expect("an entry line is ended");
        assert!(line.contains(" copied "), "{line}");
        assert!(
            status.starts_with('[') && status.contains(" entries, "),
            "{status:?}"
        );
    }
    assert!(
        finished
            .iter()
            .any(|c| c.contains("2/2 entries, 0 copying")),
        "{stderr:?}"
    );
    assert!(stderr.ends_with(CLEAR), "{stderr:?}");
    assert!(!stderr.contains("::group::"), "{stderr:?}");
}

/// Pushes, on top of the image manifest `repository:image`, `levels` indexes each holding
/// only the one below, and tags the outermost `repository:tag`.
fn nest_in_indexes(addr: &str, repository: &str, image: &str, levels: usize, tag: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        qci_mirror::install_tls_provider();
        let http = reqwest::Client::new();
        let url = |reference: &str| format!("http://{addr}/v2/{repository}/manifests/{reference}");
        let bottom = http
            .get(url(image))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut below = (
            "application/vnd.oci.image.manifest.v1+json",
            format!("sha256:{}", support::registry::sha256_hex(&bottom)),
            bottom.len(),
        );
        for level in 1..=levels {
            let index = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{"mediaType": below.0, "digest": below.1, "size": below.2}],
            })
            .to_string();
            let reference = if level == levels {
                tag.to_owned()
            } else {
                format!("{tag}-level-{level}")
            };
            let answer = http
                .put(url(&reference))
                .header("Content-Type", "application/vnd.oci.image.index.v1+json")
                .body(index.clone())
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{}", answer.status());
            below = (
                "application/vnd.oci.image.index.v1+json",
                format!("sha256:{}", support::registry::sha256_hex(index.as_bytes())),
                index.len(),
            );
        }
    });
}

#[test]
fn indexes_nested_past_eight_levels_fail_their_entry_and_the_run_reports() {
    let source = LocalRegistry::start();
    let target = LocalRegistry::start();
    let (src, dst) = (source.addr.as_str(), target.addr.as_str());
    push(
        src,
        "org/deep:base",
        ImageSpec {
            seed: 61,
            platforms: 1,
            ..ImageSpec::default()
        },
    );
    nest_in_indexes(src, "org/deep", "base", 8, "eight");
    // Deep enough to overflow a recursive walk's stack, were it not cut at the ninth level.
    nest_in_indexes(src, "org/deep", "base", 3_000, "abyss");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("ci/eight:v1", format!("{src}/org/deep:eight")),
            ("ci/abyss:v1", format!("{src}/org/deep:abyss")),
        ],
    );
    let (code, report, stderr) = mirror(&config, &format!("{dst}/openshift/ci"), &[src, dst], &[]);
    assert_eq!(code, 1, "{report}{stderr}");
    assert_eq!(
        entry(&report, "ci/eight:v1")["result"],
        "copied",
        "{report}"
    );
    assert_eq!(
        served_digest(dst, "openshift/ci:ci_eight_v1"),
        served_digest(src, "org/deep:eight")
    );
    let abyss = entry(&report, "ci/abyss:v1");
    assert_eq!(abyss["result"], "failed", "{report}");
    assert_eq!(abyss["stage"], "manifest", "{abyss}");
    assert!(
        abyss["reason"]
            .as_str()
            .unwrap()
            .contains("nest more than 8 deep"),
        "{abyss}"
    );
}

/// The tags of `addr/repository`, listed by skopeo (none when the repository does not exist).
fn tags(addr: &str, repository: &str) -> Vec<String> {
    let output = std::process::Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{addr}/{repository}"))
        .output()
        .expect("skopeo must be installed");
    if !output.status.success() {
        return Vec::new();
    }
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut tags: Vec<String> = listed["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    tags
}

#[test]
fn qci_to_app_ci_entries_copy_qci_images_back_after_qci_is_current_and_skip_what_is_not_there() {
    let qci = LocalRegistry::start();
    let app_ci = LocalRegistry::start();
    let (qci_addr, app_ci_addr) = (qci.addr.as_str(), app_ci.addr.as_str());
    let spec = |seed, platforms| ImageSpec {
        seed,
        platforms,
        ..ImageSpec::default()
    };
    // `{}`: the key's own QCI tag; `image:` another QCI tag.
    let tool = push(qci_addr, "openshift/ci:ci_tool_v1", spec(11, 2));
    let named = push(qci_addr, "openshift/ci:hand_picked", spec(12, 1));
    // app.ci holds an older image under one of the tags: it is replaced, with no backup tag.
    let older = push(app_ci_addr, "ci/tool:v1", spec(13, 1));
    // The QCI tag of `ci/fresh:v1` appears only when this run mirrors it.
    let fresh = push(qci_addr, "upstream/fresh:v1", spec(14, 1));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("_config.yaml");
    std::fs::write(
        &config,
        format!(
            "supplementalCIImages:
  ci/fresh:v1:
    image: {qci_addr}/upstream/fresh:v1
qciToAppCIImages:
  ci/tool:v1: {{}}
  ci/named:v2:
    image: {qci_addr}/openshift/ci:hand_picked
  ci/gone:v1: {{}}
  ci/fresh:v1: {{}}
"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let target_repository = format!("{qci_addr}/openshift/ci");
    let registries = ["--istag-registry", app_ci_addr];

    let (code, report, stderr) = mirror(
        config,
        &target_repository,
        &[qci_addr, app_ci_addr],
        &registries,
    );
    assert_eq!(code, 0, "{report}{stderr}");
    let back = |key: &str| {
        report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key && e["section"] == "qciToAppCIImages")
            .unwrap_or_else(|| panic!("no copy back of {key} in {report}"))
            .clone()
    };
    let tool_entry = back("ci/tool:v1");
    assert_eq!(tool_entry["result"], "copied", "{tool_entry}");
    assert_eq!(
        tool_entry["source"],
        format!("{qci_addr}/openshift/ci:ci_tool_v1")
    );
    assert_eq!(tool_entry["target"], format!("{app_ci_addr}/ci/tool:v1"));
    assert_eq!(tool_entry["replaced"], older.as_str());
    assert!(tool_entry.get("backup").is_none(), "{tool_entry}");
    assert_eq!(served_digest(app_ci_addr, "ci/tool:v1"), tool);
    assert_eq!(tags(app_ci_addr, "ci/tool"), ["v1"]);
    assert_eq!(back("ci/named:v2")["result"], "copied");
    assert_eq!(served_digest(app_ci_addr, "ci/named:v2"), named);
    let gone = back("ci/gone:v1");
    assert_eq!(gone["result"], "absent", "{gone}");
    assert_eq!(gone["reason"], "not in QCI: nothing to copy back");
    assert!(tags(app_ci_addr, "ci/gone").is_empty());
    // Copied into QCI and back out in the same run, in that order.
    assert_eq!(entry(&report, "ci/fresh:v1")["result"], "copied");
    assert_eq!(back("ci/fresh:v1")["result"], "copied", "{report}");
    assert_eq!(served_digest(app_ci_addr, "ci/fresh:v1"), fresh);

    let (code, again, stderr) = mirror(
        config,
        &target_repository,
        &[qci_addr, app_ci_addr],
        &registries,
    );
    assert_eq!(code, 0, "{again}{stderr}");
    let results: Vec<(&str, &str, &str)> = again["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["section"].as_str().unwrap(),
                e["key"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("supplementalCIImages", "ci/fresh:v1", "up-to-date"),
            ("qciToAppCIImages", "ci/tool:v1", "up-to-date"),
            ("qciToAppCIImages", "ci/named:v2", "up-to-date"),
            ("qciToAppCIImages", "ci/gone:v1", "absent"),
            ("qciToAppCIImages", "ci/fresh:v1", "up-to-date"),
        ]
    );

    // `--only` picks a copy back by its key or its app.ci reference.
    let only = format!("{app_ci_addr}/ci/named:v2");
    let (_, picked, _) = mirror(
        config,
        &target_repository,
        &[qci_addr, app_ci_addr],
        &["--istag-registry", app_ci_addr, "--only", &only],
    );
    let picked: Vec<&str> = picked["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(picked, ["ci/named:v2"]);
}
