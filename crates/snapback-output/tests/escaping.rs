//! Issue 13 item 14: terminal escapes, line breaks, NUL and bidirectional controls written
//! into log fields reach no destination raw. One escaping function per destination
//! (`snapback_output::text`), each checked here against every hidden character, and whole
//! LEEF, CEF, syslog and HTML outputs of alerts that carry them.

use snapback_output::siem::{cef_line, leef_line, syslog_message};
use snapback_output::text;
use snapback_output::{report, sample, LeefVersion, Scope, SyslogFormat};

/// Each payload, and the characters of it that must never come out raw.
const PAYLOADS: &[(&str, &str)] = &[
    ("esc-csi", "red\u{1b}[31mRED\u{1b}[0m"),
    ("osc-title", "x\u{1b}]0;pwned\u{7}y"),
    (
        "osc-hyperlink",
        "\u{1b}]8;;http://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\",
    ),
    ("c1-csi", "a\u{9b}31mb"),
    ("cr-lf-forged-line", "ua\r\nerror: forged line"),
    ("nul", "a\u{0}b"),
    ("del", "a\u{7f}b"),
    ("rlo", "invoice\u{202e}gpj.exe"),
    ("lre-rle-pdf-lro", "\u{202a}a\u{202b}b\u{202c}c\u{202d}d"),
    ("isolates", "\u{2066}a\u{2067}b\u{2068}c\u{2069}"),
    ("lrm-rlm-alm", "a\u{200e}b\u{200f}c\u{61c}d"),
    ("line-separators", "a\u{2028}b\u{2029}c\u{85}d"),
];

/// Every character that no destination may receive raw.
fn hidden(s: &str) -> Vec<char> {
    s.chars().filter(|c| text::is_hidden(*c)).collect()
}

fn assert_clean(what: &str, name: &str, out: &str) {
    assert_eq!(hidden(out), Vec::<char>::new(), "{what} of {name}: {out:?}");
}

#[test]
fn item14_every_hidden_character_is_recognised() {
    for c in [
        '\u{0}', '\u{1b}', '\u{7}', '\r', '\n', '\u{7f}', '\u{85}', '\u{9b}', '\u{61c}',
        '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
        '\u{2028}', '\u{2029}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    ] {
        assert!(text::is_hidden(c), "{:04X}", c as u32);
    }
    for c in [
        'a', ' ', 'é', '漢', '\u{200b}', '\u{2065}', '\u{206a}', '\u{202f}',
    ] {
        assert!(!text::is_hidden(c), "{:04X}", c as u32);
    }
}

#[test]
fn item14_terminal_shows_every_hidden_character_as_a_visible_escape() {
    for (name, p) in PAYLOADS {
        let out = text::terminal(p);
        assert_clean("terminal", name, &out);
        assert!(!out.contains('\n') && !out.contains('\r'), "{name}");
    }
    assert_eq!(text::terminal("red\u{1b}[31m"), "red\\u{1b}[31m");
    assert_eq!(
        text::terminal("ua\r\nerror: forged"),
        "ua\\r\\nerror: forged"
    );
    assert_eq!(
        text::terminal("invoice\u{202e}gpj.exe"),
        "invoice\\u{202e}gpj.exe"
    );
    assert_eq!(text::terminal("a\u{0}b\u{61c}"), "a\\u{0}b\\u{61c}");
    assert_eq!(text::terminal("plain é 漢"), "plain é 漢");
}

#[test]
fn item14_leef_cef_and_syslog_fields_hold_no_hidden_character() {
    for (name, p) in PAYLOADS {
        assert_clean("leef value", name, &text::leef_value(p, 1000));
        assert_clean("leef header", name, &text::leef_header(p, 1000));
        assert_clean("cef value", name, &text::cef_value(p, 1000));
        assert_clean("cef header", name, &text::cef_header(p, 1000));
        assert_clean("syslog token", name, &text::syslog_token(p, 1000));
    }
    // LEEF keeps the text, reversibly: U+202E as `\u{202E}`.
    assert_eq!(
        text::leef_value("invoice\u{202e}gpj.exe", 100),
        "invoice\\u{202E}gpj.exe"
    );
    assert_eq!(text::leef_header("a\u{2066}b", 100), "a_b");
    // CEF has no escape for them: a space, as for the other controls.
    assert_eq!(text::cef_value("a\u{202e}b\u{0}c", 100), "a b c");
    assert_eq!(text::cef_header("a\u{200f}b", 100), "a b");
}

#[test]
fn item14_whole_leef_cef_and_syslog_lines_of_hostile_alerts_are_clean() {
    for (i, (name, p)) in PAYLOADS.iter().enumerate() {
        let a = sample::hostile(i, p);
        for (what, line) in [
            ("leef2", leef_line(&a, LeefVersion::V2)),
            ("leef1", leef_line(&a, LeefVersion::V1)),
            ("cef", cef_line(&a)),
        ] {
            // LEEF 2.0's delimiter is a tab: the only control a line may hold.
            let out: String = line.chars().filter(|c| *c != '\t').collect();
            assert_clean(what, name, &out);
            let msg = syslog_message(
                &line,
                a.severity,
                SyslogFormat::Rfc5424,
                &format!("host{p}"),
                jiff::Timestamp::UNIX_EPOCH,
            );
            let out: String = msg.chars().filter(|c| *c != '\t').collect();
            assert_clean("syslog", name, &out);
        }
    }
}

#[test]
fn item14_html_report_holds_no_raw_nul_esc_or_bidi_control() {
    let alerts: Vec<_> = PAYLOADS
        .iter()
        .enumerate()
        .map(|(i, (_, p))| sample::hostile(i, p))
        .collect();
    let refs: Vec<_> = alerts.iter().collect();
    let all: String = PAYLOADS.iter().map(|(_, p)| *p).collect();
    let scope = Scope {
        inputs: vec![format!("logs/{all}.json")],
        first_event: Some(format!("2026-01-01T00:00:00Z{all}")),
        last_event: Some("2026-01-02T00:00:00Z".into()),
        generated_at: format!("now{all}"),
        ..Scope::default()
    };
    let page = report::render(&refs, &scope);
    // The page's own markup has line breaks; nothing else hidden may be in the file.
    let out: String = page.chars().filter(|c| *c != '\n').collect();
    assert_clean("html report", "all payloads", &out);
    // The summary shows them as visible escapes…
    assert!(page.contains("logs/red\\u{1b}[31mRED"), "summary");
    assert!(page.contains("invoice\\u{202e}gpj.exe"), "summary");
    assert!(page.contains("a\\u{0}b"), "summary");
    // …and so does the alert data the page's script shows with textContent: a JSON string
    // holding a backslash, then `u{202e}`, not the character.
    let data = &page[page.find("id=\"alert-data\">").unwrap()..];
    let data = &data[..data.find("</script>").unwrap()];
    assert!(data.contains("invoice\\\\u{202e}gpj.exe"), "{data}");
    assert!(data.contains("red\\\\u{1b}[31mRED"), "{data}");
    assert!(
        !data.contains("\\u001b") && !data.contains("\\u0000"),
        "{data}"
    );
}

#[test]
fn item14_html_escapes_markup_and_hidden_characters() {
    assert_eq!(
        text::html("<b>\u{1b}]0;x\u{7}\u{0}\u{202e}</b>"),
        "&lt;b&gt;\\u{1b}]0;x\\u{7}\\u{0}\\u{202e}&lt;/b&gt;"
    );
    for (name, p) in PAYLOADS {
        assert_clean("html", name, &text::html(p));
    }
}

#[test]
fn item14_csv_cells_hold_no_hidden_character_and_no_formula() {
    for (name, p) in PAYLOADS {
        let cell = text::csv(p, true);
        assert_clean("csv", name, &cell);
    }
    assert_eq!(text::csv("a,b", true), "\"a,b\"");
    assert_eq!(text::csv("say \"hi\"", true), "\"say \"\"hi\"\"\"");
    assert_eq!(text::csv("=cmd()", true), "'=cmd()");
    assert_eq!(text::csv("-5", false), "-5");
    assert_eq!(text::csv("a\r\nb", true), "a\\r\\nb");
    assert_eq!(text::csv("\u{202e}=1", true), "\\u{202e}=1");
}
