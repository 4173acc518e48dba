//! Every diagnostic code is documented, and the documentation names no code that does not exist;
//! the `plan` and `mirror` JSON documents have exactly the fields, values and order that
//! docs/json-output.md lists (the registry tests hold real runs' output to it too).

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

mod support;

use qci_mirror::entries::{PlannedEntry, Section, State};
use qci_mirror::mirror::run::{self, MirrorResult, Mirrored, Report, Skip};
use qci_mirror::mirror::{CopyError, Outcome, Stage};
use qci_mirror::plan;
use qci_mirror::report;
use std::collections::BTreeSet;
use support::json_docs::{self, assert_documented, column, json_block, section};

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// One plan entry in each state, every optional field set somewhere.
fn every_state() -> Vec<PlannedEntry> {
    // No wildcard: a new state stops this test from compiling until it has a sample here
    // (and so a row in the documentation).
    let _ = |state: &State| match state {
        State::UpToDate { .. }
        | State::Copy { .. }
        | State::Unreachable { .. }
        | State::Invalid { .. }
        | State::Ignored
        | State::Absent { .. } => {}
    };
    let reason = || "why".to_owned();
    let states = [
        State::UpToDate { digest: "d".into() },
        State::Copy {
            source_digest: "s".into(),
            target_digest: Some("t".into()),
        },
        State::Copy {
            source_digest: "s".into(),
            target_digest: None,
        },
        State::Unreachable { reason: reason() },
        State::Invalid { reason: reason() },
        State::Ignored,
        State::Absent { reason: reason() },
    ];
    states
        .into_iter()
        .map(|state| PlannedEntry {
            section: Section::Supplemental,
            key: "ci/a:v1".into(),
            line: 2,
            source: "quay.io/org/a:v1".into(),
            target: "quay.io/openshift/ci:ci_a_v1".into(),
            state,
        })
        .collect()
}

/// One mirror entry with each result, every optional field set somewhere.
fn every_result() -> Report {
    let _ = |result: &MirrorResult| match result {
        MirrorResult::Done(Outcome::UpToDate { .. } | Outcome::Copied { .. })
        | MirrorResult::Done(Outcome::SourceAbsent)
        | MirrorResult::Failed { .. }
        | MirrorResult::Skipped { .. } => {}
    };
    let failed = |backup: Option<&str>| MirrorResult::Failed {
        error: CopyError {
            stage: Stage::Blob,
            reason: "why".into(),
            backup: backup.map(Into::into),
        },
    };
    let skipped = |result| MirrorResult::Skipped {
        result,
        reason: "why".into(),
    };
    let results = [
        MirrorResult::Done(Outcome::Copied {
            digest: "d".into(),
            replaced: Some("r".into()),
            backup: Some("b".into()),
        }),
        MirrorResult::Done(Outcome::Copied {
            digest: "d".into(),
            replaced: None,
            backup: None,
        }),
        MirrorResult::Done(Outcome::UpToDate { digest: "d".into() }),
        failed(Some("b")),
        failed(None),
        skipped(Skip::Invalid),
        skipped(Skip::Ignored),
        skipped(Skip::Absent),
    ];
    Report {
        entries: results
            .into_iter()
            .map(|result| Mirrored {
                section: Section::QciToAppCi,
                key: "ci/a:v1".into(),
                line: 2,
                source: "quay.io/openshift/ci:ci_a_v1".into(),
                target: "registry.ci.openshift.org/ci/a:v1".into(),
                result,
            })
            .collect(),
        bytes_uploaded: 1,
        blobs_uploaded: 1,
        blobs_mounted: 0,
        blobs_existing: 0,
    }
}

fn values(json: &str, field: &str) -> BTreeSet<String> {
    let document: serde_json::Value = serde_json::from_str(json).unwrap();
    document["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap().to_owned())
        .collect()
}

/// The fields of `value`, an object, in the order serialized.
fn fields(value: &impl serde::Serialize) -> Vec<String> {
    let json = serde_json::to_string(value).unwrap();
    serde_json::from_str::<json_docs::Keys>(&json).unwrap().0
}

#[test]
fn the_plan_document_is_the_documented_one() {
    let docs = json_docs::doc();
    let text = section(&docs, "## `qci-mirror plan --format json`");
    let json = report::plan::render_json(&every_state());
    let seen = assert_documented("plan", &json);
    let documented = json_docs::documented("plan");
    assert_eq!(seen, documented.entry.iter().cloned().collect());
    assert_eq!(
        documented.entry[..6],
        strings(&["section", "key", "line", "source", "target", "state"])
    );
    let states = column(text, "States (`state`):", 0);
    assert_eq!(values(&json, "state"), states.iter().cloned().collect());
    assert_eq!(
        fields(&plan::Counts::default()),
        column(text, "States (`state`):", 2),
        "`counts` follows the states table"
    );
}

#[test]
fn the_mirror_document_is_the_documented_one() {
    let docs = json_docs::doc();
    let text = section(&docs, "## `qci-mirror mirror --format json`");
    let json = report::mirror::render_json(&every_result());
    let seen = assert_documented("mirror", &json);
    let documented = json_docs::documented("mirror");
    assert_eq!(seen, documented.entry.iter().cloned().collect());
    assert_eq!(
        documented.entry[..6],
        strings(&["section", "key", "line", "source", "target", "result"])
    );
    let results = column(text, "Results (`result`):", 0);
    assert_eq!(values(&json, "result"), results.iter().cloned().collect());
    assert_eq!(
        fields(&run::Counts::default()),
        column(text, "Results (`result`):", 2),
        "`counts` follows the results table"
    );
    assert_eq!(
        column(text, "Stages of a failure", 0),
        Stage::ALL.map(Stage::name)
    );
}

#[test]
fn the_examples_have_the_documented_shape_and_values() {
    let docs = json_docs::doc();
    for (command, field, table) in [
        ("plan", "state", "States (`state`):"),
        ("mirror", "result", "Results (`result`):"),
    ] {
        let text = section(&docs, &format!("## `qci-mirror {command} --format json`"));
        let example = json_block(text);
        assert_documented(command, example);
        let known: BTreeSet<String> = column(text, table, 0).into_iter().collect();
        assert!(values(example, field).is_subset(&known), "{command}");
        let sections = values(example, "section");
        assert!(
            sections.is_subset(
                &strings(&["supplementalCIImages", "qciToAppCIImages"])
                    .into_iter()
                    .collect()
            ),
            "{sections:?}"
        );
    }
}
