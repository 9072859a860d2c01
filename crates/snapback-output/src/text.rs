//! Escaping of attacker-controlled text for each destination it lands in.
//!
//! Every string that comes from an audit record (user agents, resource names, tags, actors, zip
//! member names, record keys) passes through exactly one of these functions on its way out:
//!
//! | destination | function |
//! |---|---|
//! | a terminal (tables, diagnostics, summaries) | [`terminal`] |
//! | LEEF attribute value / header field | [`leef_value`] / [`leef_header`] |
//! | CEF extension value / header field | [`cef_value`] / [`cef_header`] |
//! | syslog header token | [`syslog_token`] |
//! | HTML markup / the report's JSON data | [`html`] / [`report_data`] |
//! | a CSV cell | [`csv`] |
//!
//! Each is total (never fails) and never emits a raw line break nor any character of
//! [`is_hidden`]: C0 and C1 controls (ESC starts terminal escape and OSC sequences), DEL, the
//! Unicode line separators and the bidirectional controls (U+202E turns `gpj.exe` into
//! `exe.jpg` on screen). The LEEF and CEF functions are bounded too (`max` characters of output
//! at most, never cutting an escape in half), so that one alert is always one event.

/// Characters that end or split a line somewhere: C0 controls, DEL, C1 controls (NEL U+0085
/// among them), and the Unicode line and paragraph separators.
pub fn is_breaking(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// The bidirectional formatting characters, which reorder the text displayed around them:
/// ALM (U+061C), LRM and RLM (U+200E, U+200F), the embeddings and overrides LRE, RLE, PDF,
/// LRO, RLO (U+202A–U+202E) and the isolates LRI, RLI, FSI, PDI (U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters no destination receives raw: [`is_breaking`] and [`is_bidi_control`] ones.
pub fn is_hidden(c: char) -> bool {
    is_breaking(c) || is_bidi_control(c)
}

/// The visible escape of a hidden character, as Rust writes it: `\n`, `\r`, `\t`, else
/// `\u{1b}`, `\u{202e}` …
fn push_visible(out: &mut String, c: char) {
    out.extend(c.escape_default());
}

/// Text for a terminal: every [`is_hidden`] character becomes its visible escape (`\u{1b}`,
/// `\n`, `\u{202e}`), so a field prints as one visible cell, an ESC or OSC sequence cannot
/// drive the terminal, and a line break cannot forge a line (`error: …`) of its own.
pub fn terminal(s: &str) -> String {
    if !s.chars().any(is_hidden) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// An RFC 4180 CSV field. Hidden characters become their visible escapes (as [`terminal`]:
/// no cell holds a line break or a control, so one row is one line); a text cell that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`; a field
/// holding `,` or `"` is quoted.
pub fn csv(s: &str, is_text: bool) -> String {
    let visible = terminal(s);
    let defused = if is_text && visible.starts_with(['=', '+', '-', '@']) {
        format!("'{visible}")
    } else {
        visible
    };
    if defused.contains([',', '"']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
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
/// `\\`, tab `\t`, CR `\r`, LF `\n`, any other [`is_hidden`] character (controls, line
/// separators, bidirectional controls) `\u{XXXX}` text. No
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
            c if is_hidden(c) => format!("\\u{{{:04X}}}", c as u32).into(),
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
/// columns) nor `^` (a common 2.0 delimiter) nor any [`is_hidden`] character: each becomes `_`.
pub fn leef_header(s: &str, max: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c == '|' || c == '^' || is_hidden(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    bound(&cleaned, max)
}

/// CEF header field: `\` → `\\`, `|` → `\|` (the spec's escapes); [`is_hidden`] characters,
/// which the spec does not allow in the header, become a space.
pub fn cef_header(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let piece: std::borrow::Cow<str> = match c {
            '\\' => "\\\\".into(),
            '|' => "\\|".into(),
            c if is_hidden(c) => " ".into(),
            c => c.to_string().into(),
        };
        if !push_bounded(&mut out, &mut used, max, &piece) {
            break;
        }
    }
    out
}

/// CEF extension value: `\` → `\\`, `=` → `\=`, LF → `\n`, CR → `\r` (the spec's escapes).
/// Other [`is_hidden`] characters (controls, line separators, bidirectional controls) have no CEF
/// escape and become a space. A trailing space
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
            c if is_hidden(c) => " ".into(),
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

/// Text for HTML element content and quoted attribute values: `& < > " '` as entities, and
/// every [`is_hidden`] character as its visible escape (as [`terminal`]), so the file holds no
/// raw NUL or ESC and no bidirectional control reorders what the page shows.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// The report's alert data, ready for `<script type="application/json">`: every string in
/// `data` with its [`is_hidden`] characters made visible (as [`terminal`]; the page shows
/// strings with `textContent`, where a bidirectional control would still reorder the text),
/// then written as JSON by [`json_for_script`].
pub fn report_data(data: &serde_json::Value) -> String {
    fn visible(v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(terminal(s)),
            Value::Array(items) => Value::Array(items.iter().map(visible).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (terminal(k), visible(v))).collect())
            }
            other => other.clone(),
        }
    }
    json_for_script(&visible(data).to_string())
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
