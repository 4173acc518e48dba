//! What a mirror run shows while it works: in a CI log, a line per finished entry and a
//! throughput line now and then, folded into a `::group::` on GitHub; on a terminal, one status
//! line that updates in place.

use std::time::Duration;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A status line rewritten in place (stderr is a terminal).
    Terminal,
    /// Plain lines for a log; `github` adds `::group::` folding.
    Log {
        /// Running in GitHub Actions.
        github: bool,
    },
}

/// How often a log gets a throughput line.
pub const THROUGHPUT_EVERY: Duration = Duration::from_secs(10);

/// Config text in a log line: control characters escaped, and the runner's legacy `##[`
/// command marker broken, since the runner looks for it anywhere in a line.
pub fn log_safe(text: &str) -> String {
    crate::diag::printable(text).replace("##[", "#\u{2060}#[")
}

/// `12.5 MiB`.
pub fn mebibytes(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.1} MiB")
}

/// `[3/20] copied quay.io/openshift/ci:ci_a_v1 ← quay.io/a:v1 (sha256:…) in 1.2 s`.
pub fn entry_line(
    done: usize,
    total: usize,
    result: &str,
    target: &str,
    source: &str,
    detail: &str,
    elapsed: Duration,
) -> String {
    format!(
        "[{done}/{total}] {result} {} ← {} ({}) after {:.1} s",
        log_safe(target),
        log_safe(source),
        log_safe(detail),
        elapsed.as_secs_f64()
    )
}

/// `… 3/20 entries done, 40.0 MiB uploaded, 12.3 MiB/s`.
pub fn throughput_line(done: usize, total: usize, bytes: u64, elapsed: Duration) -> String {
    #[allow(clippy::cast_precision_loss)]
    let rate = bytes as f64 / elapsed.as_secs_f64().max(0.001);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rate = mebibytes(rate as u64);
    format!(
        "… {done}/{total} entries done, {} uploaded, {rate}/s",
        mebibytes(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_well_and_stay_inert() {
        assert_eq!(
            entry_line(
                3,
                20,
                "copied",
                "q/ci:t",
                "src:v1\n::error::x ##[error]y",
                "sha256:ab",
                Duration::from_millis(1250)
            ),
            "[3/20] copied q/ci:t ← src:v1\\n::error::x #\u{2060}#[error]y (sha256:ab) after 1.2 s"
        );
        assert_eq!(
            throughput_line(3, 20, 40 * 1024 * 1024, Duration::from_secs(4)),
            "… 3/20 entries done, 40.0 MiB uploaded, 10.0 MiB/s"
        );
    }
}
