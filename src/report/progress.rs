//! What a mirror run shows while it works, from its [`Event`]s: in a log, a line per finished
//! entry and a throughput line now and then; on a terminal, the same entry lines scrolling
//! above a status line (bar, counts, throughput) redrawn in place, as cargo does. Folding the
//! lines in a CI log is the caller's business.

use crate::diag::mebibytes;
use crate::mirror::run::{Event, Status};
use crate::report::mirror::result_detail;
use std::io::Write;
use std::time::Duration;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Entry lines above a status line rewritten in place (stderr is a terminal).
    Terminal,
    /// Plain lines for a log.
    Lines,
}

impl Style {
    /// How often a run should report its status for this style.
    pub fn tick(self) -> Duration {
        match self {
            Style::Terminal => Duration::from_millis(250),
            Style::Lines => THROUGHPUT_EVERY,
        }
    }
}

/// How often a log gets a throughput line.
pub const THROUGHPUT_EVERY: Duration = Duration::from_secs(10);

/// Shows a run's events on `out`. A failed write never stops the copies: progress is only
/// for people watching.
pub struct Watcher<'w> {
    style: Style,
    out: &'w mut dyn Write,
    total: usize,
}

impl<'w> Watcher<'w> {
    /// A watcher writing to `out` in `style`.
    pub fn new(style: Style, out: &'w mut dyn Write) -> Self {
        Watcher {
            style,
            out,
            total: 0,
        }
    }

    /// Writes a line of the caller's where the progress lines go (a fold around them).
    pub fn line(&mut self, line: &dyn std::fmt::Display) {
        let _ = writeln!(self.out, "{line}");
    }

    /// Shows one event.
    pub fn show(&mut self, event: Event<'_>) {
        let _ = match (event, self.style) {
            (Event::Started { total }, _) => {
                self.total = total;
                Ok(())
            }
            (
                Event::Finished {
                    entry,
                    result,
                    status,
                },
                style,
            ) => {
                let line = entry_line(
                    status.done,
                    status.total,
                    result.kind().name(),
                    &entry.target,
                    &entry.source,
                    &result_detail(result),
                    status.elapsed,
                );
                match style {
                    Style::Terminal => {
                        write!(self.out, "{CLEAR_LINE}{line}\n{}", status_line(status))
                    }
                    Style::Lines => writeln!(self.out, "{line}"),
                }
            }
            (Event::Tick(status), Style::Terminal) => {
                write!(self.out, "{CLEAR_LINE}{}", status_line(status))
            }
            (Event::Tick(status), Style::Lines) => {
                writeln!(self.out, "{}", throughput_line(status))
            }
            (Event::Ended, Style::Terminal) if self.total > 0 => write!(self.out, "{CLEAR_LINE}"),
            (Event::Ended, _) => Ok(()),
        };
    }
}

/// Config text in a log line, where the runner must not find a workflow command.
pub fn log_safe(text: &str) -> String {
    crate::diag::inert_line(text)
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

/// `… 3/20 entries done, 40.0 MiB streamed, 12.3 MiB/s`.
pub fn throughput_line(status: Status) -> String {
    let Status {
        done,
        total,
        bytes_streamed,
        elapsed,
        ..
    } = status;
    let rate = rate(bytes_streamed, elapsed);
    format!(
        "… {done}/{total} entries done, {} streamed, {rate}/s",
        mebibytes(bytes_streamed)
    )
}

/// Clears the terminal's current line (the status line) before something is printed over it.
pub const CLEAR_LINE: &str = "\r\x1b[2K";

/// `[=========>          ] 12/20 entries, 3 copying, 40.0 MiB, 12.3 MiB/s`: short enough for
/// an 80-column terminal, where a wrapped line could no longer be redrawn in place.
pub fn status_line(status: Status) -> String {
    let Status {
        done,
        total,
        active,
        bytes_streamed: bytes,
        elapsed,
    } = status;
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

    fn status(done: usize, total: usize, active: usize, bytes: u64, seconds: u64) -> Status {
        Status {
            done,
            total,
            active,
            bytes_streamed: bytes,
            elapsed: Duration::from_secs(seconds),
        }
    }

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
            throughput_line(status(3, 20, 0, 40 * 1024 * 1024, 4)),
            "… 3/20 entries done, 40.0 MiB streamed, 10.0 MiB/s"
        );
    }

    #[test]
    fn the_status_line_fits_a_narrow_terminal() {
        let line = status_line(status(12, 20, 3, 40 * 1024 * 1024, 4));
        assert_eq!(
            line,
            "[============>       ] 12/20 entries, 3 copying, 40.0 MiB, 10.0 MiB/s"
        );
        assert!(line.chars().count() < 80);
        assert!(status_line(status(0, 0, 0, 0, 0)).starts_with("[===================="));
        assert!(status_line(status(20, 20, 0, 0, 1)).starts_with("[====================]"));
    }
}
