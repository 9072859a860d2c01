//! Escaping of attacker-controlled text for each format it lands in.
//!
//! Every string that comes from an audit record (user agents, resource names, tags, actors) passes
//! through exactly one of these functions on its way out. Each is total (never fails), bounded
//! (`max` characters of output at most, never cutting an escape in half) and never emits a raw
//! line break, so that one alert is always one event.

/// Characters that end or split a line somewhere: C0 controls, DEL, C1 controls (NEL U+0085
/// among them), and the Unicode line and paragraph separators.
pub fn is_breaking(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Push `piece` unless it would take the output past `max` characters; then mark the cut with
/// `…` and report that the text is full.
fn push_bounded(out: &mut String, used: &mut usize, max: usize, piece: &str) -> bool {
    let n = piece.chars().count();
    if *used + n > max.saturating_sub(1) {
        out.push('…');
        *used = max;
        return false;
    }
    out.push_str(piece);
    *used += n;
    true
}

/// Visible, reversible escapes for LEEF, which has no escape syntax of its own: `\` becomes
/// `\\`, tab `\t`, CR `\r`, LF `\n`, any other control or line separator `\u{XXXX}` text. No
/// tab (the delimiter), CR or LF survives, so a value can neither start a forged attribute nor a
/// new event. `|`, `^` and `=` are kept: after the header they split nothing (tab delimiter).
pub fn leef_value(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    let mut used = 0;
    for c in s.chars() {
        let piece: std::borrow::Cow<str> = match c {
            '\\' => "\\\\".into(),
            '\t' => "\\t".into(),
            '\r' => "\\r".into(),
            '\n' => "\\n".into(),
            c if is_breaking(c) => format!("\\u{{{:04X}}}", c as u32).into(),
            c => {
                let mut b = [0u8; 4];
                c.encode_utf8(&mut b).to_owned().into()
            }
        };
        if !push_bounded(&mut out, &mut used, max, &piece) {
            break;
        }
    }
    out
}

/// LEEF header fields (vendor, product, version, EventID) cannot hold `|` (it shifts the
/// columns) nor `^` (a common 2.0 delimiter) nor any control character: each becomes `_`.
pub fn leef_header(s: &str, max: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c == '|' || c == '^' || is_breaking(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    bound(&cleaned, max)
}

/// CEF header field: `\` → `\\`, `|` → `\|` (the spec's escapes); controls, which the spec does
/// not allow in the header, become a space.
pub fn cef_header(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let piece: std::borrow::Cow<str> = match c {
            '\\' => "\\\\".into(),
            '|' => "\\|".into(),
            c if is_breaking(c) => " ".into(),
            c => c.to_string().into(),
        };
        if !push_bounded(&mut out, &mut used, max, &piece) {
            break;
        }
    }
    out
}

/// CEF extension value: `\` → `\\`, `=` → `\=`, LF → `\n`, CR → `\r` (the spec's escapes).
/// Other controls and line separators have no CEF escape and become a space. A trailing space
/// is not preserved by CEF parsers, so trailing spaces are kept but never matter for splitting.
pub fn cef_value(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let piece: std::borrow::Cow<str> = match c {
            '\\' => "\\\\".into(),
            '=' => "\\=".into(),
            '\n' => "\\n".into(),
            '\r' => "\\r".into(),
            c if is_breaking(c) => " ".into(),
            c => c.to_string().into(),
        };
        if !push_bounded(&mut out, &mut used, max, &piece) {
            break;
        }
    }
    out
}

/// Syslog header token (HOSTNAME, APP-NAME, …): printable US-ASCII without spaces, `-` if empty.
pub fn syslog_token(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if t.is_empty() {
        "-".to_owned()
    } else {
        t
    }
}

/// Text for HTML element content and quoted attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON text safe inside `<script type="application/json">`: `<`, `>` and `&` as `\u003c` …
/// (so neither `</script>` nor `<!--` can appear), and U+2028/2029 escaped for old JS parsers.
pub fn json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with `…` marking a cut.
pub fn bound(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leef_value_escapes_every_splitter_and_is_reversible_text() {
        assert_eq!(
            leef_value("a\tb\r\nc\\d|e^f=g", 100),
            "a\\tb\\r\\nc\\\\d|e^f=g"
        );
        assert_eq!(
            leef_value("x\u{2028}y\u{85}z\u{1b}", 100),
            "x\\u{2028}y\\u{0085}z\\u{001B}"
        );
    }

    #[test]
    fn leef_value_never_cuts_an_escape() {
        let v = leef_value(&"\n".repeat(100), 11);
        assert_eq!(v, "\\n\\n\\n\\n\\n…");
        assert!(v.chars().count() <= 11);
    }

    #[test]
    fn leef_header_replaces_pipe_caret_controls() {
        assert_eq!(leef_header("a|b^c\td\ne", 50), "a_b_c_d_e");
    }

    #[test]
    fn cef_escapes_per_spec() {
        assert_eq!(cef_header("a|b\\c\nd", 50), "a\\|b\\\\c d");
        assert_eq!(cef_value("a=b\\c\r\nd|e\tf", 50), "a\\=b\\\\c\\r\\nd|e f");
    }

    #[test]
    fn json_for_script_closes_nothing() {
        let j = json_for_script(r#"{"a":"</script><!-- & \u2028"}"#);
        assert!(!j.contains('<') && !j.contains('>'));
        assert_eq!(json_for_script("\u{2028}\u{2029}"), "\\u2028\\u2029");
    }

    #[test]
    fn html_escapes_quotes_and_tags() {
        assert_eq!(
            html(r#"<img src=x onerror="a">'"#),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&#39;"
        );
    }
}
