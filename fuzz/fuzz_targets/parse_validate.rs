//! Fuzzes the whole `validate` pipeline on arbitrary bytes, read as a config and as a mapping
//! file: decode → YAML load or mapping parse → every rule → both reports. Besides "never panic, never hang, never blow up memory", it checks that every
//! position a diagnostic reports points into the input, and that the JSON report is valid JSON
//! that agrees with the diagnostics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qci_mirror::report::{human, json};
use qci_mirror::rules::Options;
use qci_mirror::source::Span;
use qci_mirror::validate::check_bytes;

const PATHS: [&str; 2] = ["fuzz.yaml", "mapping_supplemental_ci_images_fuzz"];

fuzz_target!(|data: &[u8]| {
    for path in PATHS {
        check(path, data);
    }
});

fn check(path: &str, data: &[u8]) {
    let checked = check_bytes(path, data, &Options::default());

    // Lines the input has, counted independently of `SourceFile` the way YAML counts them:
    // CR LF, a lone CR and LF are one line break each. For bytes that are not UTF-8 this is
    // still an upper bound, since CR and LF never occur inside a multi-byte sequence.
    let lines = u32::try_from(yaml_line_breaks(data) + 1).unwrap_or(u32::MAX);
    let decodable = std::str::from_utf8(data).is_ok();

    if decodable {
        assert_eq!(
            checked.file.text.as_bytes(),
            data,
            "decoded text differs from input"
        );
        // The snippet lookup must agree with the parser about where lines are.
        assert!(
            checked.file.line(lines).is_some() && checked.file.line(lines + 1).is_none(),
            "SourceFile does not see {lines} lines"
        );
    }

    let check_span = |what: &str, span: Span| {
        assert!(
            span.line >= 1,
            "{what}: line {} is not 1-based ({span:?})",
            span.line
        );
        assert!(
            span.column >= 1,
            "{what}: column {} is not 1-based ({span:?})",
            span.column
        );
        // An error "at end of input" may sit one line past the last one, nothing further.
        assert!(
            span.line <= lines.saturating_add(1),
            "{what}: line {} is past the end of a {lines}-line input ({span:?})",
            span.line
        );
    };
    for d in &checked.diagnostics {
        check_span(&format!("diagnostic [{}] {:?}", d.code, d.message), d.span);
        for label in &d.labels {
            check_span(
                &format!("label {:?} of [{}]", label.message, d.code),
                label.span,
            );
        }
        assert!(!d.message.is_empty(), "[{}] has an empty message", d.code);
        // Text taken from the config is escaped, so no message can break a line or drive a
        // terminal.
        let texts = [Some(d.message.as_str()), d.help.as_deref()]
            .into_iter()
            .flatten()
            .chain(d.labels.iter().map(|l| l.message.as_str()));
        for text in texts {
            assert!(
                !text.chars().any(char::is_control),
                "[{}] carries a raw control character: {text:?}",
                d.code
            );
        }
    }

    // The human report: one header per diagnostic, nothing for a clean file.
    let text = human::render(&checked.file, &checked.diagnostics, human::Style::Plain);
    assert_eq!(text.is_empty(), checked.diagnostics.is_empty());
    for d in &checked.diagnostics {
        let header = format!(
            "{path}:{}:{}: {}[{}]: ",
            d.span.line, d.span.column, d.severity, d.code
        );
        assert!(text.contains(&header), "human report lacks {header:?}");
    }
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "human report carries a raw control character:\n{text:?}"
    );

    // The JSON report must be JSON, and agree with the diagnostics it was made from.
    let rendered = json::render(vec![json::FileReport::checked(path, &checked.diagnostics)]);
    let value: serde_json::Value = match serde_json::from_str(&rendered) {
        Ok(value) => value,
        Err(error) => panic!("JSON report does not parse back ({error}):\n{rendered}"),
    };
    assert_eq!(value["version"], json::VERSION);
    let files = value["files"].as_array().expect("`files` is an array");
    assert_eq!(files.len(), 1);
    let reported = files[0]["diagnostics"]
        .as_array()
        .expect("`diagnostics` is an array");
    assert_eq!(reported.len(), checked.diagnostics.len());
    let errors = value["errors"].as_u64().expect("`errors` is a number");
    let warnings = value["warnings"].as_u64().expect("`warnings` is a number");
    assert_eq!(errors + warnings, checked.diagnostics.len() as u64);
    for (json_d, d) in reported.iter().zip(&checked.diagnostics) {
        assert_eq!(json_d["code"], d.code.as_str());
        assert_eq!(json_d["message"], d.message.as_str());
        assert_eq!(json_d["line"], d.span.line);
        assert_eq!(json_d["column"], d.span.column);
        let end = json_d["end_column"]
            .as_u64()
            .expect("`end_column` is a number");
        assert!(
            end > u64::from(d.span.column),
            "end_column {end} not past column {}",
            d.span.column
        );
    }
}

/// How many line breaks YAML sees in `data`: CR LF, lone CR and LF each count once.
fn yaml_line_breaks(data: &[u8]) -> usize {
    data.iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n')))
        .count()
}
