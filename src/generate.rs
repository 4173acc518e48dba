//! Shell completions and the man page, rendered from the clap definition of the CLI so they
//! cannot drift from it. A release attaches them (`.github/workflows/release.yml`); the hidden
//! `qci-mirror generate` command prints them, which keeps a build script out of every build.

use clap_complete::Shell;
use std::io::Write;

/// The completion script of `command` for `shell`.
pub fn completions(shell: Shell, mut command: clap::Command) -> Vec<u8> {
    let mut script = Vec::new();
    let name = command.get_name().to_owned();
    clap_complete::generate(shell, &mut command, name, &mut script);
    script
}

/// One man page (roff) for `command` and all its visible subcommands. clap_mangen's own layout
/// is a page per subcommand; one page is what a release can ship as `qci-mirror.1` and what
/// `man qci-mirror` finds, so each subcommand becomes a section of it, with its synopsis and
/// options as subsections.
pub fn man(command: clap::Command) -> std::io::Result<Vec<u8>> {
    // `help` is clap's, not ours: `--help` on every command says the same.
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let page = clap_mangen::Man::new(command.clone());
    let mut roff = Vec::new();
    page.render_title(&mut roff)?;
    page.render_name_section(&mut roff)?;
    page.render_synopsis_section(&mut roff)?;
    page.render_description_section(&mut roff)?;
    page.render_options_section(&mut roff)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let heading = format!("{} {}", command.get_name(), sub.get_name()).to_uppercase();
        writeln!(roff, ".SH \"{heading}\"")?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(roff, "{}", escape(&about.to_string()))?;
        }
        let sub_page = clap_mangen::Man::new(sub.clone());
        let mut sections = Vec::new();
        sub_page.render_synopsis_section(&mut sections)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            sub_page.render_options_section(&mut sections)?;
        }
        roff.extend_from_slice(&demote(&sections));
    }
    page.render_version_section(&mut roff)?;
    Ok(roff)
}

/// A subcommand's sections as subsections of its own section (`.SH X` → `.SS X`).
fn demote(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => out.push_str(&format!(".SS {heading}")),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// `text` as roff body text: a line starting with `.` or `'` would be a request, and `\` an
/// escape.
fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e");
            if line.starts_with(['.', '\'']) {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
