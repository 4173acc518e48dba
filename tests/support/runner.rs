//! Reads a step's output the way the Actions runner does (`ActionCommand.cs` `TryParseV2`, its
//! legacy `##[` parser, and `stop-commands`, on stdout and stderr alike), so a test can see
//! every command a run issued, meant or not.

use std::collections::HashMap;

/// The commands the runner knows (`ActionCommandManager.cs` and its extensions); a line naming
/// anything else is plain text to it.
const REGISTERED: [&str; 16] = [
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "internal-set-repo-path",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
];

/// A command as the runner would act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// Lower-case command name.
    pub name: String,
    /// Properties, keys lower-cased, values un-escaped.
    pub properties: HashMap<String, String>,
    /// The data, un-escaped.
    pub data: String,
    /// Found by the legacy `##[` parser.
    pub legacy: bool,
    /// The line it came from.
    pub line: String,
}

/// Every command the runner would act on in `output`, in order.
pub fn commands(output: &str) -> Vec<Issued> {
    let mut issued = Vec::new();
    let mut stopped: Option<String> = None;
    // The runner reads lines; a lone carriage return does not end one.
    for line in output.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(token) = &stopped {
            if line.trim_start() == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        let Some(command) = parse_v2(line).or_else(|| parse_legacy(line)) else {
            continue;
        };
        if command.name == "stop-commands" {
            stopped = Some(command.data.clone());
        }
        issued.push(command);
    }
    issued
}

fn parse_v2(line: &str) -> Option<Issued> {
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find("::")?;
    let (info, data) = (&rest[..end], &rest[end + 2..]);
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    let name = name.to_ascii_lowercase();
    if !REGISTERED.contains(&name.as_str()) {
        return None;
    }
    let mut parsed = HashMap::new();
    for pair in properties.split(',').filter(|p| !p.is_empty()) {
        if let Some((key, value)) = pair.split_once('=') {
            parsed.insert(key.to_ascii_lowercase(), unescape_property(value));
        }
    }
    Some(Issued {
        name,
        properties: parsed,
        data: unescape_data(data),
        legacy: false,
        line: line.to_owned(),
    })
}

fn parse_legacy(line: &str) -> Option<Issued> {
    let start = line.find("##[")?;
    let rest = &line[start + 3..];
    let end = rest.find(']')?;
    let (info, data) = (&rest[..end], &rest[end + 1..]);
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    let name = name.to_ascii_lowercase();
    if !REGISTERED.contains(&name.as_str()) {
        return None;
    }
    let parsed = properties
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.to_owned()))
        .collect();
    Some(Issued {
        name,
        properties: parsed,
        data: data.to_owned(),
        legacy: true,
        line: line.to_owned(),
    })
}

fn unescape_data(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

/// A property value as the runner un-escapes it.
pub fn unescape_property(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// Fails unless every command in `output` is one qci-mirror means to issue: annotations and
/// notices titled by qci-mirror, masks, groups, and `stop-commands` fences it closes itself.
/// Nothing legacy, no step outputs, state, paths or environment through the log. `secrets` are
/// the only values a mask may carry, so a pull request cannot hide parts of the log either.
pub fn assert_only_intended<'a>(output: &str, secrets: impl IntoIterator<Item = &'a str>) {
    // Auth files carry passwords inside base64 `auth` values: those are secrets too.
    let secrets: Vec<String> = secrets
        .into_iter()
        .filter(|s| !s.is_empty())
        .flat_map(|s| std::iter::once(s.to_owned()).chain(base64_decoded(s)))
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for command in commands(output) {
        let line = &command.line;
        assert!(!command.legacy, "a legacy command was issued: {line:?}");
        match command.name.as_str() {
            "error" | "warning" | "notice" => {
                let title = command.properties.get("title").map(String::as_str);
                assert!(
                    title.is_some_and(|t| t.starts_with("qci-mirror")),
                    "an annotation qci-mirror did not title: {line:?}"
                );
            }
            "add-mask" => assert!(
                secrets.iter().any(|s| s.contains(command.data.as_str()))
                    || derived_from(&command.data, &secrets),
                "a mask of something not secret: {line:?}"
            ),
            "group" | "endgroup" | "debug" => {}
            "stop-commands" => assert!(
                command.data.starts_with("qci-mirror-") && command.data.len() > 20,
                "a fence qci-mirror did not open: {line:?}"
            ),
            other => panic!("`{other}` was issued: {line:?}"),
        }
    }
    // Every fence that opened also closed: the runner would ignore every later command.
    for command in commands(output)
        .iter()
        .filter(|c| c.name == "stop-commands")
    {
        let resume = format!("::{}::", command.data);
        assert!(
            output.lines().any(|l| l.trim_start() == resume),
            "the fence {} never closed",
            command.data
        );
    }
}

/// Whether `value` is base64 of `user:password` with a password from `secrets`, as
/// qci-mirror masks for every login.
fn derived_from(value: &str, secrets: &[&str]) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|login| Some(login.split_once(':')?.1.to_owned()))
        .is_some_and(|password| secrets.iter().any(|s| s.contains(password.as_str())))
}

/// The text of every base64 word in `text`.
fn base64_decoded(text: &str) -> Vec<String> {
    use base64::Engine;
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
        .filter_map(|word| base64::engine::general_purpose::STANDARD.decode(word).ok())
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .collect()
}
