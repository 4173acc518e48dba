//! What an unquoted value means to the Go consumer.
//!
//! ci-images-mirror reads the config with `sigs.k8s.io/yaml`: go-yaml v2 resolves plain scalars
//! with YAML 1.1 rules, then a number or boolean bound for a string field is turned back into
//! text (`FormatInt`, `FormatFloat(v, 'g', -1, 32)`, `true`/`false`). serde-saphyr keeps the
//! literal. Where the two differ, the same config would name different images to the two tools.

/// How YAML 1.1 types an unquoted scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Resolved {
    /// `~`, `null`, or nothing.
    Null,
    /// `yes`, `on`, `true`, `n`, … .
    Bool(bool),
    /// A signed integer in any base Go's `ParseInt(s, 0, 64)` accepts.
    Int(i64),
    /// An unsigned integer too large for `i64`.
    Uint(u64),
    /// A float.
    Float(f64),
}

/// How go-yaml v2 resolves an unquoted scalar; `None` means it stays a string.
pub fn resolve(plain: &str) -> Option<Resolved> {
    match plain {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Resolved::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Some(Resolved::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Some(Resolved::Bool(false));
        }
        ".nan" | ".NaN" | ".NAN" => return Some(Resolved::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Resolved::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Resolved::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    if !plain.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    // go-yaml drops every `_` before trying the number parsers.
    let digits = plain.replace('_', "");
    if let Some(int) = go_parse_int(&digits) {
        return Some(int);
    }
    if is_yaml_style_float(&digits) {
        return digits.parse::<f64>().ok().map(Resolved::Float);
    }
    None
}

/// The text the Go consumer puts in a string field for this unquoted scalar, when YAML 1.1
/// resolves it to something other than a string. `Null` leaves the field empty.
pub fn go_string_form(resolved: Resolved) -> String {
    match resolved {
        Resolved::Null => String::new(),
        Resolved::Bool(b) => b.to_string(),
        Resolved::Int(i) => i.to_string(),
        Resolved::Uint(u) => u.to_string(),
        Resolved::Float(f) if f.is_nan() => ".nan".to_owned(),
        Resolved::Float(f) if f == f64::INFINITY => ".inf".to_owned(),
        Resolved::Float(f) if f == f64::NEG_INFINITY => "-.inf".to_owned(),
        // The conversion is to float32, as in `FormatFloat(v, 'g', -1, 32)`.
        #[allow(clippy::cast_possible_truncation)]
        Resolved::Float(f) => go_format_g_shortest(f as f32),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint`, plus go-yaml's `0b` forms.
fn go_parse_int(s: &str) -> Option<Resolved> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, body) = if let Some(hex) = lower.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = lower.strip_prefix("0o") {
        (8, octal)
    } else if let Some(binary) = lower.strip_prefix("0b") {
        (2, binary)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if negative {
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Resolved::Int(value))
    } else {
        Some(i64::try_from(magnitude).map_or(Resolved::Uint(magnitude), Resolved::Int))
    }
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => all_digits(fraction),
        Some((whole, fraction)) => {
            all_digits(whole) && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| all_digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Go's `FormatFloat(v, 'g', -1, 32)`: shortest digits, `%e` form when the decimal exponent is
/// below -4 or at least 6 (Go's rule for the shortest precision), with a two-digit exponent.
fn go_format_g_shortest(value: f32) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` prints the shortest digits that round-trip, like Go's shortest mode.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let count = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let point = exponent + 1;
    let body = if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{first}{fraction}e{exponent_sign}{:02}", exponent.abs())
    } else if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point >= count {
        format!("{digits}{}", "0".repeat((point - count) as usize))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go_form(plain: &str) -> Option<String> {
        resolve(plain).map(go_string_form)
    }

    #[test]
    fn strings_stay_strings() {
        for plain in [
            "latest",
            "v1.2",
            "4.18-rhel9",
            "1.2.3",
            "rhel-9",
            "RELEASE.2025-09-07T16-13-09Z",
            "yes-please",
            "0x",
            "1e",
            "-",
            ".",
            "+",
            "e5",
            "1_2_3abc",
            "0xZZ",
            "1.2e3.4",
        ] {
            assert_eq!(resolve(plain), None, "{plain}");
        }
    }

    #[test]
    fn renders_like_sigs_k8s_io_yaml() {
        let cases = [
            ("9", "9"),
            ("10.10", "10.1"),
            ("4.20", "4.2"),
            ("4.18", "4.18"),
            ("1.0", "1"),
            ("1e3", "1000"),
            ("1e6", "1e+06"),
            ("123456", "123456"),
            ("1234567.0", "1.234567e+06"),
            ("0.00001", "1e-05"),
            ("0.0001", "0.0001"),
            ("3.14159265", "3.1415927"),
            ("0x1F", "31"),
            ("0o17", "15"),
            ("010", "8"),
            ("08", "8"),
            ("0b101", "5"),
            ("1_000", "1000"),
            ("+1", "1"),
            ("-1", "-1"),
            ("-2.5", "-2.5"),
            ("18446744073709551615", "18446744073709551615"),
            ("yes", "true"),
            ("on", "true"),
            ("No", "false"),
            ("y", "true"),
            (".inf", ".inf"),
            ("-.Inf", "-.inf"),
            (".NaN", ".nan"),
            ("0", "0"),
            ("~", ""),
            ("null", ""),
        ];
        for (plain, expected) in cases {
            assert_eq!(go_form(plain).as_deref(), Some(expected), "{plain}");
        }
    }
}
