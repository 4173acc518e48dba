//! `qci-mirror plan` against real registries: a source registry and a target registry, both
//! the CNCF distribution registry on loopback, with images pushed and cross-checked by skopeo.

mod support;

use support::registry::{LocalRegistry, push_image, served_digest};
use support::{LocalConfig, run};

/// The keys the JSON plan of `config` with `extra` arguments lists, in order.
fn planned_keys(config: &LocalConfig, extra: &[&str]) -> Vec<String> {
    let (_, json, _) = config.run("plan", &[&["--format", "json"], extra].concat());
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_plan_compares_whole_manifest_digests_and_says_why_entries_cannot_be_read() {
    let source = LocalRegistry::start();
    let target = LocalRegistry::start();
    let (src, dst) = (source.addr.as_str(), target.addr.as_str());

    let one = push_image(src, "org/one:v1", 1, 1);
    let multi = push_image(src, "org/multi:v1", 2, 2);
    // Already mirrored, byte for byte.
    assert_eq!(push_image(dst, "ci:ci_same_v1", 1, 1), one);
    // Mirrored once, but the source has moved on since.
    let old = push_image(dst, "ci:ci_moved_v1", 3, 1);

    let config = LocalConfig::new(
        &format!(
            "supplementalCIImages:
  ci/one:v1:
    image: {src}/org/one:v1
  ci/same:v1:
    image: {src}/org/one:v1
  ci/moved:v1:
    image: {src}/org/multi:v1
  ci/missing:v1:
    image: {src}/org/nope:v1
  ci/hub:v1:
    image: nginx:1.25
  ci/broken:v1:
    image: {src}/org/broken:v1
ignoredSources:
- image: {src}/org/broken:v1
  reason: broken
"
        ),
        &format!("{dst}/ci"),
        &[src, dst],
    );

    let (code, stdout, stderr) = config.run("plan", &["--format", "json"]);
    assert_eq!(
        code, 1,
        "unreachable and invalid entries make the plan fail\n{stdout}{stderr}"
    );
    assert_eq!(stderr, "");
    support::json_docs::assert_documented("plan", &stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let entries = report["entries"].as_array().unwrap();
    let by_key = |key: &str| entries.iter().find(|e| e["key"] == key).unwrap().clone();

    let entry = by_key("ci/one:v1");
    assert_eq!(entry["state"], "copy");
    assert_eq!(entry["source_digest"], one.as_str());
    assert_eq!(entry["target_digest"], serde_json::Value::Null);
    assert_eq!(entry["target"], format!("{dst}/ci:ci_one_v1"));

    let entry = by_key("ci/same:v1");
    assert_eq!(entry["state"], "up-to-date");
    assert_eq!(
        entry["digest"],
        served_digest(dst, "ci:ci_same_v1").as_str()
    );

    // The whole index is compared, never the amd64 child (the incumbent's blind spot).
    let entry = by_key("ci/moved:v1");
    assert_eq!(entry["state"], "copy");
    assert_eq!(entry["source_digest"], multi.as_str());
    assert_eq!(entry["target_digest"], old.as_str());

    let entry = by_key("ci/missing:v1");
    assert_eq!(entry["state"], "unreachable");
    assert_eq!(
        entry["reason"],
        "the source does not exist (no such repository or tag)"
    );

    // Never looked up: Docker Hub is refused by validation before any request is made.
    let entry = by_key("ci/hub:v1");
    assert_eq!(entry["state"], "invalid");
    assert!(
        entry["reason"].as_str().unwrap().contains("Docker Hub"),
        "{entry}"
    );

    assert_eq!(by_key("ci/broken:v1")["state"], "ignored");
    assert_eq!(
        report["counts"],
        serde_json::json!({"up_to_date": 1, "copy": 2, "unreachable": 1, "invalid": 1, "ignored": 1, "absent": 0})
    );

    let (code, human, _) = config.run("plan", &[]);
    assert_eq!(code, 1);
    assert!(
        human
            .ends_with("6 entries: 1 up to date, 2 to copy, 1 unreachable, 1 invalid, 1 ignored\n"),
        "{human}"
    );
    assert!(
        human.contains(&format!("up-to-date   {dst}/ci:ci_same_v1")),
        "{human}"
    );

    let (_, markdown, _) = config.run("plan", &["--format", "markdown"]);
    assert!(markdown.starts_with("## qci-mirror plan\n"), "{markdown}");
    assert!(markdown.contains("| copy |"), "{markdown}");
    // A selection plans only what it names, and shards partition the whole plan.
    let keys = |extra: &[&str]| planned_keys(&config, extra);
    assert_eq!(
        keys(&["--only", "ci/one:v1", "--only", "ci_same_v1"]),
        ["ci/one:v1", "ci/same:v1"]
    );
    let mut sharded: Vec<String> = ["1/2", "2/2"]
        .iter()
        .flat_map(|shard| keys(&["--shard", shard]))
        .collect();
    sharded.sort();
    let mut all = keys(&[]);
    all.sort();
    // Each entry is in exactly one shard. (Which one depends on the target, whose port is
    // random here: with 6 entries, one shard holds them all once in 32 runs, so how they split
    // is not asserted.)
    assert_eq!(sharded, all);
}

#[test]
fn an_unreachable_registry_is_reported_per_entry_not_as_a_crash() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("127.0.0.1:{port}");
    let config = LocalConfig::new(
        &format!("supplementalCIImages:\n  ci/a:v1:\n    image: {dead}/org/a:v1\n"),
        &format!("{dead}/ci"),
        &[&dead],
    );
    let (code, stdout, stderr) = config.run("plan", &["--format", "json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["entries"][0]["state"], "unreachable");
    assert!(!report["entries"][0]["reason"].as_str().unwrap().is_empty());
}

#[test]
fn a_bad_auth_file_stops_the_run_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    std::fs::write(&auth, "hunter2").unwrap();
    let (code, stdout, stderr) = run(&[
        "plan",
        "--config",
        "tests/fixtures/validate/ok/minimal.yaml",
        "--auth-file",
        auth.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("is not a valid auth file"), "{stderr}");
    assert!(!stderr.contains("hunter2"));
}

#[test]
fn the_plan_shows_copies_back_to_app_ci_and_a_missing_qci_image_is_no_failure() {
    let qci = LocalRegistry::start();
    let app_ci = LocalRegistry::start();
    let (qci_addr, app_ci_addr) = (qci.addr.as_str(), app_ci.addr.as_str());
    let tool = push_image(qci_addr, "openshift/ci:ci_tool_v1", 1, 1);
    assert_eq!(push_image(app_ci_addr, "ci/same:v1", 1, 1), tool);
    push_image(qci_addr, "openshift/ci:ci_same_v1", 1, 1);
    let config = LocalConfig::new(
        "qciToAppCIImages:\n  ci/tool:v1: {}\n  ci/same:v1: {}\n  ci/gone:v1: {}\n",
        &format!("{qci_addr}/openshift/ci"),
        &[qci_addr, app_ci_addr],
    )
    .with(&["--istag-registry", app_ci_addr]);
    let (code, stdout, stderr) = config.run("plan", &["--format", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows: Vec<(&str, &str, &str, &str)> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["section"].as_str().unwrap(),
                e["state"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
            )
        })
        .collect();
    let (qci_tag, app_ci_tag) = (
        |tag: &str| format!("{qci_addr}/openshift/ci:{tag}"),
        |tag: &str| format!("{app_ci_addr}/{tag}"),
    );
    assert_eq!(
        rows,
        [
            (
                "qciToAppCIImages",
                "copy",
                qci_tag("ci_tool_v1").as_str(),
                app_ci_tag("ci/tool:v1").as_str()
            ),
            (
                "qciToAppCIImages",
                "up-to-date",
                qci_tag("ci_same_v1").as_str(),
                app_ci_tag("ci/same:v1").as_str()
            ),
            (
                "qciToAppCIImages",
                "absent",
                qci_tag("ci_gone_v1").as_str(),
                app_ci_tag("ci/gone:v1").as_str()
            ),
        ]
    );
    assert_eq!(report["counts"]["absent"], 1);
    let (_, human, _) = config.run("plan", &[]);
    assert!(
        human.ends_with(
            "3 entries: 1 up to date, 1 to copy, 0 unreachable, 0 invalid, 0 ignored, 1 not in QCI\n"
        ),
        "{human}"
    );
    // Shards split copies back like any entry: each is in exactly one of two.
    let keys = |extra: &[&str]| planned_keys(&config, extra);
    let mut sharded = [keys(&["--shard", "1/2"]), keys(&["--shard", "2/2"])].concat();
    sharded.sort();
    assert_eq!(sharded, ["ci/gone:v1", "ci/same:v1", "ci/tool:v1"]);
    assert_eq!(keys(&["--only", "ci/gone:v1"]), ["ci/gone:v1"]);
}

#[test]
fn a_plan_groups_alike_failures_counts_in_words_and_shows_live_progress() {
    let registry = LocalRegistry::start();
    let addr = registry.addr.as_str();
    push_image(addr, "org/here:v1", 1, 1);
    let mut text = format!("supplementalCIImages:\n  ci/here:v1:\n    image: {addr}/org/here:v1\n");
    for n in 0..6 {
        text.push_str(&format!(
            "  ci/gone-{n}:v1:\n    image: {addr}/org/gone-{n}:v1\n"
        ));
    }
    let config = LocalConfig::new(&text, &format!("{addr}/ci"), &[addr]);
    let (code, human, stderr) = config.run("plan", &["--progress", "live"]);
    assert_eq!(code, 1, "{human}{stderr}");
    // Six entries missing from one registry are one row, not six.
    let rows: Vec<&str> = human
        .lines()
        .filter(|l| l.starts_with("unreachable"))
        .collect();
    assert_eq!(rows.len(), 1, "{human}");
    assert!(
        rows[0].contains("6 entries")
            && rows[0].contains(&format!("all on {addr}"))
            && rows[0].ends_with("the source does not exist (no such repository or tag)"),
        "{human}"
    );
    assert!(
        human.contains(&format!("copy         {addr}/ci:ci_here_v1")),
        "{human}"
    );
    assert!(
        human
            .ends_with("7 entries: 0 up to date, 1 to copy, 6 unreachable, 0 invalid, 0 ignored\n"),
        "{human}"
    );
    // The JSON keeps every entry.
    let (_, json, _) = config.run("plan", &["--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["entries"].as_array().unwrap().len(), 7);
    // Live progress counts up in place and is cleared at the end.
    const CLEAR: &str = "\r\x1b[2K";
    assert!(
        stderr.contains(&format!("{CLEAR}looked up 1/7 entries")),
        "{stderr:?}"
    );
    assert!(stderr.ends_with(CLEAR), "{stderr:?}");
    assert!(!stderr.contains('\n'), "{stderr:?}");

    // One entry is one entry, and a plan of nothing has no empty table.
    let (_, one, _) = config.run("plan", &["--only", "ci/here:v1"]);
    assert!(one.starts_with("STATE"), "{one}");
    assert!(
        one.ends_with("\n1 entry: 0 up to date, 1 to copy, 0 unreachable, 0 invalid, 0 ignored\n"),
        "{one}"
    );
    let empty = LocalConfig::new("supplementalCIImages: {}\n", &format!("{addr}/ci"), &[]);
    let (code, nothing, _) = empty.run("plan", &[]);
    assert_eq!(code, 0);
    assert_eq!(
        nothing,
        "0 entries: 0 up to date, 0 to copy, 0 unreachable, 0 invalid, 0 ignored\n"
    );
}
