//! The debug log: what qci-mirror does on the wire (each request's method, URL, status and
//! time; retries and their waits; GitHub API calls), for debugging a registry or a run. Off
//! unless asked for:
//!
//! - `RUST_LOG` filters it (`debug`, `trace`, `qci_mirror::registry=trace,info`; `tracing`'s
//!   target syntax) and it goes to stderr;
//! - in GitHub Actions, a re-run with debug logging (`RUNNER_DEBUG=1`) turns it on at `debug`
//!   as `::debug::` lines, which the runner shows only in such runs.
//!
//! Only qci-mirror's own events are shown, whatever the filter says: the libraries below it
//! (hyper, reqwest, oci-client) log header values and token answers at their debug and trace
//! levels. Events carry no header, body or credential; URLs lose their query (upload states,
//! signed CDN links; `registry::client::shown_url`). Every line is made inert like any other
//! line the action prints: a hostile name in a URL cannot issue a workflow command or move the
//! terminal's cursor.

use crate::github::console::{Command, inert_line};
use std::io::Write;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// This crate's target prefix, the only one let through.
const OURS: &str = "qci_mirror";

/// Sets up the debug log from the environment (`variable` reads one), once per process; a
/// second call changes nothing. An invalid `RUST_LOG` is reported on stderr and ignored.
pub fn init(variable: impl Fn(&str) -> Option<String>) {
    let Some((filter, github)) = settings(&variable) else {
        return;
    };
    let layer = tracing_subscriber::fmt::layer()
        .without_time()
        .with_ansi(false)
        .with_writer(Lines { github })
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The filter, and whether lines are `::debug::` commands; `None`: no log.
fn settings(variable: &dyn Fn(&str) -> Option<String>) -> Option<(Targets, bool)> {
    let given = |name: &str| variable(name).filter(|value| !value.trim().is_empty());
    let github = given("GITHUB_ACTIONS").as_deref() == Some("true");
    if let Some(spec) = given("RUST_LOG") {
        match spec.parse::<Targets>() {
            Ok(targets) => return Some((only_ours(&targets), github)),
            Err(error) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "qci-mirror: RUST_LOG ignored: {}",
                    inert_line(&error.to_string())
                );
                return None;
            }
        }
    }
    let runner_debug = given("RUNNER_DEBUG").as_deref() == Some("1");
    (github && runner_debug).then(|| (Targets::new().with_target(OURS, LevelFilter::DEBUG), true))
}

/// `targets` restricted to this crate: its rules for our modules, and its default level for
/// the rest of our crate; everything else off.
fn only_ours(targets: &Targets) -> Targets {
    let ours = targets
        .iter()
        .filter(|(target, _)| *target == OURS || target.starts_with("qci_mirror::"));
    let default = targets.default_level().unwrap_or(LevelFilter::OFF);
    Targets::new()
        .with_target(OURS, default)
        .with_targets(ours)
        .with_default(LevelFilter::OFF)
}

/// Makes one [`Line`] per event.
struct Lines {
    github: bool,
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            github: self.github,
            text: Vec::new(),
        }
    }
}

/// One event's text, written out whole, made inert, when the event is done.
struct Line {
    github: bool,
    text: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        let text = inert_line(text.trim_end());
        // A failed write to stderr cannot be reported anywhere; the work goes on.
        let _ = if self.github {
            writeln!(std::io::stderr(), "{}", Command::Debug(&text))
        } else {
            writeln!(std::io::stderr(), "{text}")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(targets: &Targets) -> Vec<(String, LevelFilter)> {
        let mut levels: Vec<_> = targets
            .iter()
            .map(|(target, level)| (target.to_owned(), level))
            .collect();
        levels.sort();
        levels
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn rust_log_reaches_only_this_crate_and_the_runner_debug_flag_only_in_actions() {
        let (filter, github) = settings(&env(&[("RUST_LOG", "trace")])).unwrap();
        assert!(!github);
        assert_eq!(levels(&filter), [(OURS.to_owned(), LevelFilter::TRACE)]);
        assert_eq!(filter.default_level(), Some(LevelFilter::OFF));
        assert!(!filter.would_enable("hyper::proto", &tracing::Level::ERROR));

        let (filter, _) = settings(&env(&[(
            "RUST_LOG",
            "hyper=trace,qci_mirror::registry=trace,info",
        )]))
        .unwrap();
        assert_eq!(
            levels(&filter),
            [
                (OURS.to_owned(), LevelFilter::INFO),
                ("qci_mirror::registry".to_owned(), LevelFilter::TRACE),
            ]
        );

        let actions = [("GITHUB_ACTIONS", "true"), ("RUNNER_DEBUG", "1")];
        let (filter, github) = settings(&env(&actions)).unwrap();
        assert!(github);
        assert!(filter.would_enable("qci_mirror::registry", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("qci_mirror::registry", &tracing::Level::TRACE));
        assert!(settings(&env(&[("RUNNER_DEBUG", "1")])).is_none());
        assert!(settings(&env(&[("GITHUB_ACTIONS", "true")])).is_none());
        assert!(settings(&env(&[("RUST_LOG", "=^=")])).is_none());
    }
}
