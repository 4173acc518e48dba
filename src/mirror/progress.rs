//! What a mirror run shows while it works: in a CI log, a line per finished entry and a
//! throughput line now and then, folded into a `::group::` on GitHub; on a terminal, the same
//! entry lines scrolling above a status line (bar, counts, throughput) redrawn in place, as
//! cargo does.

use std::time::Duration;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Entry lines above a status line rewritten in place (stderr is a terminal).
    Terminal,
    /// Plain lines for a log; `github` adds `::group::` folding.
    Log {
        /// Running in GitHub Actions.
        github: bool,
    },
}

/// How often a log gets a throughput line.
pub const THROUGHPUT_EVERY: Duration = Duration::from_secs(10);

/// Config text in a log line, where the runner must not find a workflow command.
pub fn log_safe(text: &str) -> String {
    crate::github::console::inert_line(text)
}

/// `12.5 MiB`.
pub fn mebibytes(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.1} MiB")
}

/// `12.3 MiB` per second, for `bytes` in `elapsed`.
fn rate(bytes: u64, elapsed: Duration) -> String {
    #[allow(clippy::cast_precision_loss)]
    let per_second = bytes as f64 / elapsed.as_secs_f64().max(0.001);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    mebibytes(per_second as u64)
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
    let rate = rate(bytes, elapsed);
    format!(
        "… {done}/{total} entries done, {} uploaded, {rate}/s",
        mebibytes(bytes)
    )
}

/// Clears the terminal's current line (the status line) before something is printed over it.
pub const CLEAR_LINE: &str = "\r\x1b[2K";

/// `[=========>          ] 12/20 entries, 3 copying, 40.0 MiB, 12.3 MiB/s`: short enough for
/// an 80-column terminal, where a wrapped line could no longer be redrawn in place.
pub fn status_line(
    done: usize,
    total: usize,
    active: usize,
    bytes: u64,
    elapsed: Duration,
) -> String {
    const WIDTH: usize = 20;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let bar: String = (0..WIDTH)
        .map(|i| match i.cmp(&filled) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '>',
            std::cmp::Ordering::Greater => ' ',
        })
        .collect();
    let rate = rate(bytes, elapsed);
    format!(
        "[{bar}] {done}/{total} entries, {active} copying, {}, {rate}/s",
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

    #[test]
    fn the_status_line_fits_a_narrow_terminal() {
        let line = status_line(12, 20, 3, 40 * 1024 * 1024, Duration::from_secs(4));
        assert_eq!(
            line,
            "[============>       ] 12/20 entries, 3 copying, 40.0 MiB, 10.0 MiB/s"
        );
        assert!(line.chars().count() < 80);
        assert!(status_line(0, 0, 0, 0, Duration::ZERO).starts_with("[===================="));
        assert!(
            status_line(20, 20, 0, 0, Duration::from_secs(1)).starts_with("[====================]")
        );
    }
}
