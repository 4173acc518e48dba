//! The commands: each maps its outcome to an exit code, and nothing below this layer does.
//! `cli` parses arguments and dispatches here; the action (`action::run`) is a command too.

pub mod migrate;
pub mod registry;
pub mod validate;

/// No errors (warnings allowed).
pub const EXIT_OK: u8 = 0;
/// Findings: at least one error, including content that is not a parseable config.
pub const EXIT_FINDINGS: u8 = 1;
/// Could not run: bad usage, or a file that could not be read. Distinct from findings so that a
/// broken pipeline never looks like a config problem, nor the other way round.
pub const EXIT_USAGE: u8 = 2;
