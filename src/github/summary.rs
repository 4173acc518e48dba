//! The Markdown job summary appended to `GITHUB_STEP_SUMMARY`.
//!
//! Annotations are capped per step, so the summary is where every finding is listed. The
//! runner refuses a summary over 1 MiB (`FileCommandManager.cs`) and then shows nothing, so a
//! long one is cut at a row boundary with a note instead.

use super::{Finding, PlannedMirror, RunSummary};
use crate::diag::Severity;
use crate::report::human::count;
use crate::report::markdown::escape_cell;
use std::fmt::Write;

/// The most bytes [`render_summary`] returns. The runner's limit is 1,048,576 bytes; the
/// headroom leaves room for anything another step appends to the same file.
pub const SUMMARY_LIMIT: usize = 1_000_000;

const TITLE: &str = "## qci-mirror\n\n";
const FINDINGS_HEADING: &str = "\n### Findings\n\n";
const PLANNED_HEADING: &str = "\n### Mirrored after merge\n\n";
const FINDINGS_HEAD: &str = "| Severity | Code | Location | Message | In changed entry | Blocking |\n\
                             |---|---|---|---|---|---|\n";
const PLANNED_HEAD: &str = "| Key | Source → target |\n|---|---|\n";

/// The job summary for one run: a status line, every finding, and the entries that will be
/// mirrored after merge. Never longer than [`SUMMARY_LIMIT`] bytes.
pub fn render_summary(summary: &RunSummary<'_>) -> String {
    let blob_url = summary.blob_url.as_deref();
    let findings: Vec<String> = summary
        .findings
        .iter()
        .map(|f| finding_row(f, blob_url))
        .collect();
    let planned: Vec<String> = summary.planned.iter().map(planned_row).collect();

    let full = assemble(summary, &findings, &planned, None);
    if full.len() <= SUMMARY_LIMIT {
        return full;
    }

    // Everything but the rows, each part at its longest: the note with every row left out has
    // the most digits, the status line is longer when findings are cut, and both tables keep
    // their header. Rows then fill what is left, in order, so what is dropped is always the
    // end of the document.
    let worst = Cut {
        findings_left_out: findings.len(),
        planned_left_out: planned.len(),
    };
    let frame =
        assemble(summary, &[], &[], Some(worst)).len() + FINDINGS_HEAD.len() + PLANNED_HEAD.len();
    let mut room = SUMMARY_LIMIT.saturating_sub(frame);
    let mut take_fitting = |rows: &[String]| {
        rows.iter()
            .take_while(|row| {
                let fits = row.len() <= room;
                if fits {
                    room -= row.len();
                }
                fits
            })
            .count()
    };
    let kept_findings = take_fitting(&findings);
    let kept_planned = if kept_findings == findings.len() {
        take_fitting(&planned)
    } else {
        0
    };
    let cut = Cut {
        findings_left_out: findings.len() - kept_findings,
        planned_left_out: planned.len() - kept_planned,
    };
    let out = assemble(
        summary,
        &findings[..kept_findings],
        &planned[..kept_planned],
        Some(cut),
    );
    debug_assert!(out.len() <= SUMMARY_LIMIT, "{} bytes", out.len());
    out
}

/// How many rows of each table did not fit.
#[derive(Clone, Copy)]
struct Cut {
    findings_left_out: usize,
    planned_left_out: usize,
}

impl Cut {
    /// The closing note. Which parts it has depends only on the totals, and the counts only
    /// shrink as rows are kept, so the note with everything left out is the longest.
    fn note(self, summary: &RunSummary<'_>) -> String {
        let mut parts = Vec::new();
        if !summary.findings.is_empty() {
            parts.push(format!(
                "{} of {}",
                self.findings_left_out,
                count(summary.findings.len(), "finding")
            ));
        }
        if !summary.planned.is_empty() {
            parts.push(format!(
                "{} of {}",
                self.planned_left_out,
                count(summary.planned.len(), "planned mirror")
            ));
        }
        format!(
            "**Summary truncated** to stay under GitHub's 1 MiB limit: {} left out. \
             Run `qci-mirror validate` on the config to see every finding.\n",
            parts.join(" and ")
        )
    }
}

fn assemble(
    summary: &RunSummary<'_>,
    findings: &[String],
    planned: &[String],
    cut: Option<Cut>,
) -> String {
    let findings_cut = cut.is_some_and(|c| c.findings_left_out > 0);
    let mut out = String::from(TITLE);
    out.push_str(&status_line(summary, findings_cut));

    out.push_str(FINDINGS_HEADING);
    if summary.findings.is_empty() {
        out.push_str("No findings.\n");
    } else {
        table(&mut out, FINDINGS_HEAD, findings);
    }

    out.push_str(PLANNED_HEADING);
    if summary.planned.is_empty() {
        out.push_str("No added or changed entries, so nothing new is mirrored.\n");
    } else {
        table(&mut out, PLANNED_HEAD, planned);
    }

    if let Some(cut) = cut {
        out.push('\n');
        out.push_str(&cut.note(summary));
    }
    out
}

fn table(out: &mut String, head: &str, rows: &[String]) {
    // A header with no rows renders as an empty table; the closing note explains instead.
    if rows.is_empty() {
        return;
    }
    out.push_str(head);
    for row in rows {
        out.push_str(row);
    }
}

fn status_line(summary: &RunSummary<'_>, findings_cut: bool) -> String {
    let findings = &summary.findings;
    let blocking = findings.iter().filter(|f| f.blocking).count();
    let errors = findings
        .iter()
        .filter(|f| f.diagnostic.severity == Severity::Error)
        .count();
    let mut line = if blocking == 0 {
        String::from("✅ **No blocking problems**")
    } else {
        format!("❌ **{}**", count(blocking, "blocking problem"))
    };
    if findings.is_empty() {
        line.push_str(": no findings.");
    } else {
        let _ = write!(
            line,
            ": {}, {}.",
            count(errors, "error"),
            count(findings.len() - errors, "warning")
        );
    }
    let omitted = summary.annotations_omitted;
    if omitted > 0 {
        let verb = if omitted == 1 { "was" } else { "were" };
        let _ = write!(
            line,
            " {} {verb} not shown as inline annotations",
            count(omitted, "finding")
        );
        line.push_str(if findings_cut {
            "; the table below lists as many findings as fit, and the note at the end counts the rest."
        } else {
            "; all findings are listed below."
        });
    }
    line.push('\n');
    line
}

fn finding_row(finding: &Finding<'_>, blob_url: Option<&str>) -> String {
    let d = finding.diagnostic;
    // Spans are 1-based; a zero would make a link to a line that does not exist.
    let (line, column) = (d.span.line.max(1), d.span.column.max(1));
    let text = escape_cell(&format!("{}:{line}:{column}", finding.path));
    let location = match blob_url {
        Some(base) => format!("[{text}]({base}{}#L{line})", encode_path(finding.path)),
        None => text,
    };
    let mut message = escape_cell(&d.message);
    if let Some(help) = &d.help {
        let _ = write!(message, "<br>help: {}", escape_cell(help));
    }
    format!(
        "| {} | `{}` | {location} | {message} | {} | {} |\n",
        d.severity,
        d.code,
        yes_no(finding.in_changed_entry),
        yes_no(finding.blocking),
    )
}

fn planned_row(planned: &PlannedMirror) -> String {
    format!(
        "| {} | {} → {} |\n",
        escape_cell(&planned.key),
        escape_cell(&planned.source),
        escape_cell(&planned.target)
    )
}

const fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// Percent-encodes a workspace path for a URL: every byte but unreserved characters and `/`,
/// so `#`, `?`, `%`, spaces and parentheses (which would end a Markdown link) cannot change
/// where the link goes.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Diagnostic};
    use crate::source::Span;

    fn finding<'a>(d: &'a Diagnostic, in_changed_entry: bool, blocking: bool) -> Finding<'a> {
        Finding {
            path: "ci-operator/_config.yaml",
            diagnostic: d,
            in_changed_entry,
            blocking,
        }
    }

    fn boskos() -> PlannedMirror {
        PlannedMirror {
            key: "ci/boskos:latest".into(),
            source: "registry.ci.openshift.org/ci/boskos:latest".into(),
            target: "quay.io/openshift/ci:ci_boskos_latest".into(),
        }
    }

    #[test]
    fn small_summary() {
        let error = Diagnostic::error(
            Code::DockerHubSource,
            Span::new(7, 12, 20),
            "source `docker.io/library/busybox` is on Docker Hub",
        )
        .with_help("mirror it to quay.io first");
        let warning = Diagnostic::warning(
            Code::UntaggedSource,
            Span::new(3, 5, 10),
            "image has no tag",
        );
        let summary = RunSummary {
            findings: vec![finding(&error, true, true), finding(&warning, false, false)],
            planned: vec![boskos()],
            annotations_omitted: 1,
            blob_url: Some("https://github.com/o/r/blob/abc123/".into()),
        };
        assert_eq!(
            render_summary(&summary),
            "## qci-mirror\n\
             \n\
             ❌ **1 blocking problem**: 1 error, 1 warning. 1 finding was not shown as inline \
             annotations; all findings are listed below.\n\
             \n\
             ### Findings\n\
             \n\
             | Severity | Code | Location | Message | In changed entry | Blocking |\n\
             |---|---|---|---|---|---|\n\
             | error | `docker-hub-source` | [ci-operator/&#95;config.yaml:7:12](https://github.com/o/r/blob/abc123/ci-operator/_config.yaml#L7) \
             | source &#96;docker.io/library/busybox&#96; is on Docker Hub<br>help: mirror it to quay.io first | yes | yes |\n\
             | warning | `untagged-source` | [ci-operator/&#95;config.yaml:3:5](https://github.com/o/r/blob/abc123/ci-operator/_config.yaml#L3) \
             | image has no tag | no | no |\n\
             \n\
             ### Mirrored after merge\n\
             \n\
             | Key | Source → target |\n\
             |---|---|\n\
             | ci/boskos:latest | registry.ci.openshift.org/ci/boskos:latest → quay.io/openshift/ci:ci&#95;boskos&#95;latest |\n"
        );
    }

    #[test]
    fn empty_summary() {
        assert_eq!(
            render_summary(&RunSummary::default()),
            "## qci-mirror\n\
             \n\
             ✅ **No blocking problems**: no findings.\n\
             \n\
             ### Findings\n\
             \n\
             No findings.\n\
             \n\
             ### Mirrored after merge\n\
             \n\
             No added or changed entries, so nothing new is mirrored.\n"
        );
    }

    #[test]
    fn warnings_only_are_not_blocking() {
        let warning = Diagnostic::warning(Code::UntaggedSource, Span::new(1, 1, 1), "w");
        let summary = RunSummary {
            findings: vec![finding(&warning, true, false); 2],
            ..RunSummary::default()
        };
        assert!(
            render_summary(&summary)
                .contains("✅ **No blocking problems**: 0 errors, 2 warnings.\n")
        );
    }

    #[test]
    fn locations_link_only_with_a_blob_url() {
        let d = Diagnostic::error(Code::InvalidTarget, Span::new(4, 2, 1), "m");
        let mut f = finding(&d, true, true);
        f.path = "dir with space/a#b?c%d(e).yaml";
        assert_eq!(
            finding_row(&f, None),
            "| error | `invalid-target` | dir with space/a#b?c%d(e).yaml:4:2 | m | yes | yes |\n"
        );
        assert_eq!(
            finding_row(&f, Some("https://github.com/o/r/blob/0123/")),
            "| error | `invalid-target` | [dir with space/a#b?c%d(e).yaml:4:2]\
             (https://github.com/o/r/blob/0123/dir%20with%20space/a%23b%3Fc%25d%28e%29.yaml#L4) \
             | m | yes | yes |\n"
        );
    }

    #[test]
    fn link_paths_are_percent_encoded_bytewise() {
        assert_eq!(encode_path("_config.yaml"), "_config.yaml");
        assert_eq!(encode_path("a/b c"), "a/b%20c");
        assert_eq!(encode_path("é|[x]"), "%C3%A9%7C%5Bx%5D");
    }

    #[test]
    fn cells_escape_markdown_html_and_line_breaks() {
        let vectors = [
            ("plain text", "plain text"),
            ("a|b", "a&#124;b"),
            ("\\|", "&#92;&#124;"),
            (
                "</details><script>alert(1)</script>",
                "&lt;/details&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            (
                "[click](https://evil.example)",
                "&#91;click&#93;(https://evil.example)",
            ),
            ("![x](y)", "!&#91;x&#93;(y)"),
            (
                "`code` *em* _em_",
                "&#96;code&#96; &#42;em&#42; &#95;em&#95;",
            ),
            ("&lt; &amp;", "&amp;lt; &amp;amp;"),
            ("a\nb\r\nc\rd", "a<br>b<br>c<br>d"),
            ("| --- |\n| x |", "&#124; --- &#124;<br>&#124; x &#124;"),
            ("~~s~~ $x$", "&#126;&#126;s&#126;&#126; &#36;x&#36;"),
            ("tab\there\u{1b}[31m", "tab\\there\\u{1b}&#91;31m"),
            ("ünïcødé ✓", "ünïcødé ✓"),
        ];
        for (input, expected) in vectors {
            assert_eq!(escape_cell(input), expected, "{input:?}");
        }
    }

    #[test]
    fn planned_rows_escape_every_field() {
        let row = planned_row(&PlannedMirror {
            key: "a|b:c".into(),
            source: "x\n| evil |".into(),
            target: "<img src=x>".into(),
        });
        assert_eq!(
            row,
            "| a&#124;b:c | x<br>&#124; evil &#124; → &lt;img src=x&gt; |\n"
        );
        // One row, two cells: only the delimiters we wrote are pipes.
        assert_eq!(row.matches('|').count(), 3);
        assert_eq!(row.matches('\n').count(), 1);
    }

    #[test]
    fn long_summaries_are_cut_at_a_row_with_a_note() {
        let message = "x".repeat(90) + "é|<>&";
        let diagnostics: Vec<Diagnostic> = (1..=30_000)
            .map(|i| Diagnostic::error(Code::DockerHubSource, Span::new(i, 1, 1), &message))
            .collect();
        let summary = RunSummary {
            findings: diagnostics.iter().map(|d| finding(d, true, true)).collect(),
            planned: vec![boskos(); 3],
            annotations_omitted: 29_990,
            blob_url: Some("https://github.com/o/r/blob/abc123/".into()),
        };
        let out = render_summary(&summary);
        assert!(out.len() <= SUMMARY_LIMIT, "{} bytes", out.len());
        assert!(
            out.len() > SUMMARY_LIMIT - 1_000,
            "wasted room: {}",
            out.len()
        );

        let shown = out.matches("| error |").count();
        assert!(shown > 1_000 && shown < 30_000, "{shown}");
        assert!(!out.contains("| ci/boskos:latest |"));
        let note = format!(
            "\n**Summary truncated** to stay under GitHub's 1 MiB limit: {} of 30000 findings \
             and 3 of 3 planned mirrors left out. Run `qci-mirror validate` on the config to \
             see every finding.\n",
            30_000 - shown
        );
        assert!(out.ends_with(&note), "{}", &out[out.len() - 400..]);
        assert!(out.contains("the table below lists as many findings as fit"));
        // The rows kept are the first ones, each whole.
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| error |")).collect();
        assert!(rows[0].contains(":1:1]"));
        assert!(rows[shown - 1].contains(&format!(":{shown}:1]")));
        assert!(rows.iter().all(|r| r.ends_with("| yes | yes |")));
    }

    #[test]
    fn only_the_planned_table_is_cut_when_findings_fit() {
        let planned: Vec<PlannedMirror> = (0..20_000)
            .map(|i| PlannedMirror {
                key: format!("ci/image-{i}:latest"),
                source: format!("registry.ci.openshift.org/ci/image-{i}:latest"),
                target: format!("quay.io/openshift/ci:ci_image-{i}_latest"),
            })
            .collect();
        let summary = RunSummary {
            planned,
            ..RunSummary::default()
        };
        let out = render_summary(&summary);
        assert!(out.len() <= SUMMARY_LIMIT);
        let shown = out.matches("| ci/image-").count();
        assert!(shown > 0 && shown < 20_000);
        assert!(out.ends_with(&format!(
            ": {} of 20000 planned mirrors left out. Run `qci-mirror validate` on the config to \
             see every finding.\n",
            20_000 - shown
        )));
        assert!(out.contains("✅ **No blocking problems**: no findings.\n"));
    }

    #[test]
    fn the_status_line_is_longest_when_findings_are_cut() {
        // The truncation budget counts the cut form; the other must never be longer.
        let d = Diagnostic::warning(Code::UntaggedSource, Span::new(1, 1, 1), "w");
        for omitted in [0, 1, 12] {
            let summary = RunSummary {
                findings: vec![finding(&d, true, false)],
                annotations_omitted: omitted,
                ..RunSummary::default()
            };
            assert!(status_line(&summary, false).len() <= status_line(&summary, true).len());
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        let d = Diagnostic::warning(Code::UntaggedSource, Span::new(2, 3, 4), "w");
        let summary = RunSummary {
            findings: vec![finding(&d, false, false)],
            planned: vec![boskos()],
            annotations_omitted: 0,
            blob_url: None,
        };
        assert_eq!(render_summary(&summary), render_summary(&summary));
    }
}
