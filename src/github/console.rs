//! The one way the action prints. The runner reads workflow commands on stdout and stderr alike
//! (`::name …::data` at the start of a line, and the legacy `##[name …]` anywhere in one), and
//! much of what the action prints quotes a pull request: file names, keys, image references,
//! registry answers. So text goes out only through [`inert`], and commands only as the
//! [`Command`]s this program means to issue.

use super::commands::{Annotation, Level, StopCommands, escape_data, escape_property};
use std::fmt;
use std::io::{self, Write};

pub use crate::diag::{inert, inert_line};

/// A workflow command this program means to issue; every part is escaped when it is printed.
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    /// An annotation on a line of a file.
    Annotate(&'a Annotation),
    /// An annotation on the run, titled `qci-mirror`.
    Say(Level, &'a str),
    /// Hide this value in all later output.
    Mask(&'a str),
    /// Fold the following lines under this title.
    Group(&'a str),
    /// End the fold.
    EndGroup,
    /// Stop reading commands until [`Command::Resume`] with the same fence.
    Stop(&'a StopCommands),
    /// Read commands again.
    Resume(&'a StopCommands),
    /// A line shown only in runs with debug logging on.
    Debug(&'a str),
}

impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Annotate(annotation) => f.write_str(&annotation.to_command()),
            Command::Say(level, text) => write!(
                f,
                "::{} title={}::{}",
                level.command(),
                escape_property("qci-mirror"),
                escape_data(text)
            ),
            Command::Mask(secret) => write!(f, "::add-mask::{}", escape_data(secret)),
            Command::Group(title) => write!(f, "::group::{}", escape_data(title)),
            Command::EndGroup => f.write_str("::endgroup::"),
            Command::Stop(fence) => f.write_str(&fence.begin()),
            Command::Resume(fence) => f.write_str(&fence.end()),
            Command::Debug(text) => write!(f, "::debug::{}", escape_data(text)),
        }
    }
}

/// The action's stdout and stderr. Printing never stops the action's work (a check run is
/// still published when the log is gone); the first failed write is kept for the exit code.
pub struct Console<'w> {
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
    broken: Option<io::Error>,
    masked: std::collections::HashSet<String>,
}

impl<'w> Console<'w> {
    /// A console on these streams.
    pub fn new(out: &'w mut dyn Write, err: &'w mut dyn Write) -> Self {
        Console {
            out,
            err,
            broken: None,
            masked: std::collections::HashSet::new(),
        }
    }

    /// Lines for people, on stdout, made [`inert`].
    pub fn say(&mut self, text: &str) {
        let line = inert(text);
        let result = writeln!(self.out, "{line}");
        self.keep(result);
    }

    /// A command, on stdout. An empty mask is skipped (the runner only warns about it), and so
    /// is a value already masked.
    pub fn issue(&mut self, command: Command<'_>) {
        if let Command::Mask(secret) = command
            && (secret.is_empty() || !self.masked.insert(secret.to_owned()))
        {
            return;
        }
        let result = writeln!(self.out, "{command}");
        self.keep(result);
    }

    /// Text that quotes files at length (a report with snippets), made [`inert`] and, for good
    /// measure, inside a `stop-commands` fence.
    pub fn quote(&mut self, block: &str) {
        if block.is_empty() {
            return;
        }
        let fence = StopCommands::new();
        self.issue(Command::Stop(&fence));
        let block = inert(block.strip_suffix('\n').unwrap_or(block));
        let result = writeln!(self.out, "{block}");
        self.keep(result);
        self.issue(Command::Resume(&fence));
    }

    /// The reason the action stopped, on stderr, as an error annotation on the run.
    pub fn fail(&mut self, message: &str) {
        let result = writeln!(self.err, "{}", Command::Say(Level::Error, message));
        self.keep(result);
    }

    /// A writer for code that prints lines as it goes (the copy engine's progress): every
    /// line it writes is made [`inert`] on its way to stdout.
    pub fn lines(&mut self) -> InertLines<'_, 'w> {
        InertLines {
            console: self,
            pending: Vec::new(),
        }
    }

    /// The first write that failed, if any.
    pub fn finish(self) -> io::Result<()> {
        let Console {
            out, err, broken, ..
        } = self;
        match broken {
            Some(error) => Err(error),
            None => out.flush().and_then(|()| err.flush()),
        }
    }

    fn keep(&mut self, result: io::Result<()>) {
        if let Err(error) = result {
            self.broken.get_or_insert(error);
        }
    }
}

/// See [`Console::lines`]. A last line without a line break is printed when it is dropped.
pub struct InertLines<'c, 'w> {
    console: &'c mut Console<'w>,
    pending: Vec<u8>,
}

impl Write for InertLines<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.console
                .say(&String::from_utf8_lossy(&line[..line.len() - 1]));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for InertLines<'_, '_> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.console.say(&String::from_utf8_lossy(&rest));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_of_text_can_start_or_carry_a_command() {
        let hostile = "ok\n::error::fake\n  ::set-output name=x::y\nx##[set-output name=a;]b\r::warning::cr\u{1b}[2J";
        let shown = inert(hostile);
        for line in shown.lines() {
            assert!(!line.trim_start().starts_with("::"), "{line:?}");
            assert!(!line.contains("##["), "{line:?}");
            assert!(!line.contains('\r') && !line.contains('\u{1b}'), "{line:?}");
        }
        assert_eq!(shown.lines().count(), 4);
        assert_eq!(inert_line("a\nb").lines().count(), 1);
        assert_eq!(inert("plain text: a::b"), "plain text: a::b");
    }

    #[test]
    fn progress_written_in_pieces_comes_out_inert_line_by_line() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut console = Console::new(&mut out, &mut err);
        {
            let mut lines = console.lines();
            lines.write_all(b"::err").unwrap();
            lines.write_all(b"or::x\nfine\n::last").unwrap();
        }
        console.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "\u{2060}::error::x\nfine\n\u{2060}::last\n");
    }
}
