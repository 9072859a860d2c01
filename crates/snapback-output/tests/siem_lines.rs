//! LEEF and CEF lines: exact attributes, and every hostile string arrives as text in one event,
//! in its own field.

use snapback_output::siem::{cef_line, leef_line, octet_counted, sev_1_10, syslog_message};
use snapback_output::{sample, LeefVersion, SyslogFormat};

/// Undo the LEEF value escapes (`\\ \t \r \n \u{XXXX}`).
pub fn leef_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('u') => {
                assert_eq!(it.next(), Some('{'));
                let hex: String = it.by_ref().take_while(|c| *c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            other => panic!("bad escape \\{other:?} in {s:?}"),
        }
    }
    out
}

/// (header fields, attributes) of a LEEF line, split the way QRadar does: the header by `|`, the
/// rest by tab.
pub fn parse_leef(line: &str) -> (Vec<String>, Vec<(String, String)>) {
    let v2 = line.starts_with("LEEF:2.0|");
    let parts: Vec<&str> = line.splitn(if v2 { 7 } else { 6 }, '|').collect();
    let header: Vec<String> = parts[..parts.len() - 1]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let attrs = parts
        .last()
        .unwrap()
        .split('\t')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("no = in {kv:?}"));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (header, attrs)
}

fn attr<'a>(attrs: &'a [(String, String)], k: &str) -> &'a str {
    let hits: Vec<_> = attrs.iter().filter(|(key, _)| key == k).collect();
    assert_eq!(
        hits.len(),
        1,
        "key {k} must appear exactly once in {attrs:?}"
    );
    &hits[0].1
}

const LEEF_KEYS: &[&str] = &[
    "devTime",
    "devTimeFormat",
    "cat",
    "sev",
    "usrName",
    "src",
    "accountName",
    "cloud",
    "region",
    "ruleId",
    "ruleName",
    "riskScore",
    "severity",
    "alertId",
    "alertType",
    "firstSeen",
    "lastSeen",
    "escalated",
    "confirmed",
    "resource",
    "userAgent",
    "title",
];

#[test]
fn leef2_line_has_the_documented_attributes() {
    let a = sample::alert(2);
    let line = leef_line(&a, LeefVersion::V2);
    let (h, attrs) = parse_leef(&line);
    assert_eq!(
        h,
        [
            "LEEF:2.0",
            "snapback",
            "snapback",
            env!("CARGO_PKG_VERSION"),
            "instance-restart-wipe",
            "x09"
        ]
    );
    let keys: Vec<&str> = attrs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, LEEF_KEYS);
    assert_eq!(attr(&attrs, "devTime"), "Jan 01 2025 12:07:00.000 UTC");
    assert_eq!(attr(&attrs, "devTimeFormat"), "MMM dd yyyy HH:mm:ss.SSS z");
    assert_eq!(attr(&attrs, "sev"), "6");
    assert_eq!(attr(&attrs, "riskScore"), "64");
    assert_eq!(attr(&attrs, "usrName"), a.actor);
    assert_eq!(attr(&attrs, "src"), "203.0.113.3");
    assert_eq!(attr(&attrs, "accountName"), a.account);
    assert_eq!(attr(&attrs, "cat"), "T1578.004");
    assert_eq!(attr(&attrs, "ruleId"), "aws-ec2-stop-start");
    assert_eq!(attr(&attrs, "alertId"), a.alert_id);
}

#[test]
fn leef1_line_uses_tabs_without_a_delimiter_field() {
    let a = sample::alert(0);
    let line = leef_line(&a, LeefVersion::V1);
    assert!(line.starts_with("LEEF:1.0|snapback|snapback|"), "{line}");
    let (h, attrs) = parse_leef(&line);
    assert_eq!(h.len(), 5);
    assert_eq!(attrs.len(), LEEF_KEYS.len());
    assert_eq!(attr(&attrs, "sev"), "9");
}

#[test]
fn sev_scale() {
    assert_eq!([0, 9, 10, 45, 99, 100].map(sev_1_10), [1, 1, 1, 4, 9, 10]);
}

fn assert_one_line(s: &str) {
    assert!(
        !s.chars()
            .any(|c| c.is_control() && c != '\t' || c == '\u{2028}' || c == '\u{2029}'),
        "a line breaker survived: {s:?}"
    );
}

#[test]
fn hostile_strings_stay_in_their_leef_field() {
    for v in [LeefVersion::V1, LeefVersion::V2] {
        for (i, (name, p)) in sample::HOSTILE.iter().enumerate() {
            let a = sample::hostile(i, p);
            let line = leef_line(&a, v);
            assert_one_line(&line);
            let (h, attrs) = parse_leef(&line);
            assert_eq!(
                h[4], "instance-restart-wipe",
                "{name}: header shifted: {line}"
            );
            let keys: Vec<&str> = attrs.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys, LEEF_KEYS,
                "{name}: forged or lost attribute: {line:?}"
            );
            assert_eq!(leef_unescape(attr(&attrs, "userAgent")), *p, "{name}");
            assert_eq!(
                leef_unescape(attr(&attrs, "usrName")),
                format!("alice{p}"),
                "{name}"
            );
            assert_eq!(
                attr(&attrs, "sev"),
                sev_1_10(a.risk_score).to_string(),
                "{name}"
            );
            assert_eq!(
                attr(&attrs, "src"),
                format!("203.0.113.{}", i % 250 + 1),
                "{name}"
            );
        }
    }
}

/// CEF: (header fields with escapes undone, extension pairs with escapes undone).
pub fn parse_cef(line: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut header = Vec::new();
    let mut cur = String::new();
    let mut it = line.chars();
    while header.len() < 7 {
        match it.next().expect("7 header fields") {
            '\\' => cur.push(it.next().unwrap()),
            '|' => header.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    let ext: String = it.collect();
    // Keys are `word=` preceded by a space; `\=` is an escaped equals inside a value.
    let mut pairs = Vec::new();
    let chars: Vec<char> = ext.chars().collect();
    let mut i = 0;
    let mut key_start = 0;
    let mut eq_positions = Vec::new();
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == '=' {
            eq_positions.push(i);
        }
        i += 1;
    }
    let mut starts = Vec::new();
    for &e in &eq_positions {
        let mut k = e;
        while k > 0 && chars[k - 1].is_ascii_alphanumeric() {
            k -= 1;
        }
        assert!(
            k == 0 || chars[k - 1] == ' ',
            "unescaped = inside a value: {ext:?}"
        );
        starts.push((k, e));
    }
    for (n, &(k, e)) in starts.iter().enumerate() {
        let _ = key_start;
        key_start = k;
        let end = starts
            .get(n + 1)
            .map(|(k2, _)| k2 - 1)
            .unwrap_or(chars.len());
        let key: String = chars[k..e].iter().collect();
        let raw: String = chars[e + 1..end].iter().collect();
        let mut v = String::new();
        let mut r = raw.chars();
        while let Some(c) = r.next() {
            if c == '\\' {
                match r.next() {
                    Some('n') => v.push('\n'),
                    Some('r') => v.push('\r'),
                    Some(o) => v.push(o),
                    None => panic!("dangling escape"),
                }
            } else {
                v.push(c);
            }
        }
        pairs.push((key, v));
    }
    (header, pairs)
}

#[test]
fn cef_line_has_the_documented_extensions() {
    let a = sample::alert(3);
    let line = cef_line(&a);
    let (h, ext) = parse_cef(&line);
    assert_eq!(h[0], "CEF:0");
    assert_eq!(h[4], "aws-ec2-stop-start");
    assert_eq!(h[5], a.title);
    assert_eq!(h[6], "4");
    let keys: Vec<&str> = ext.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "rt",
            "cat",
            "suser",
            "src",
            "cs1",
            "cs4",
            "cs5",
            "cs2",
            "cs3",
            "cn1",
            "cs6",
            "externalId",
            "start",
            "end",
            "duid",
            "requestClientApplication",
            "msg",
            "cs1Label",
            "cs2Label",
            "cs3Label",
            "cs4Label",
            "cs5Label",
            "cs6Label",
            "cn1Label"
        ]
    );
    assert_eq!(
        attr(&ext, "rt"),
        a.last_instant.as_millisecond().to_string()
    );
    assert_eq!(attr(&ext, "cs1"), a.account);
    assert_eq!(attr(&ext, "cn1"), "45");
    assert_eq!(attr(&ext, "externalId"), a.alert_id);
}

#[test]
fn hostile_strings_stay_in_their_cef_field() {
    for (i, (name, p)) in sample::HOSTILE.iter().enumerate() {
        let a = sample::hostile(i, p);
        let line = cef_line(&a);
        assert_one_line(&line);
        assert!(!line.contains('\t'), "{name}");
        let (h, ext) = parse_cef(&line);
        assert_eq!(h[4], "aws-ec2-stop-start", "{name}");
        // CEF has escapes for \ = CR LF only; other controls become a space.
        let expect = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if (c.is_control() && c != '\n' && c != '\r')
                        || c == '\u{2028}'
                        || c == '\u{2029}'
                    {
                        ' '
                    } else {
                        c
                    }
                })
                .collect()
        };
        assert_eq!(
            attr(&ext, "requestClientApplication"),
            expect(p),
            "{name}: {line}"
        );
        assert_eq!(attr(&ext, "suser"), expect(&format!("alice{p}")), "{name}");
        assert_eq!(attr(&ext, "cn1"), a.risk_score.to_string(), "{name}");
        // The title sits in the header: pipes escaped, line breaks as spaces.
        let header_expect: String = format!("Instance {p} stopped and started")
            .chars()
            .map(|c| {
                if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        assert_eq!(h[5], header_expect, "{name}");
    }
}

#[test]
fn syslog_headers() {
    let now: jiff::Timestamp = "2025-01-18T11:07:53.52Z".parse().unwrap();
    let m = syslog_message(
        "LEEF:2.0|x",
        snapback_model::Severity::High,
        SyslogFormat::Rfc5424,
        "host a",
        now,
    );
    assert_eq!(
        m,
        format!(
            "<107>1 2025-01-18T11:07:53.520Z hosta snapback {} alert - LEEF:2.0|x",
            std::process::id()
        )
    );
    let m = syslog_message(
        "CEF:0|x",
        snapback_model::Severity::Critical,
        SyslogFormat::Rfc3164,
        "h",
        now,
    );
    assert_eq!(
        m,
        format!(
            "<106>Jan 18 11:07:53 h snapback[{}]: CEF:0|x",
            std::process::id()
        )
    );
    let now: jiff::Timestamp = "2025-01-08T01:02:03Z".parse().unwrap();
    let m = syslog_message(
        "x",
        snapback_model::Severity::Low,
        SyslogFormat::Rfc3164,
        "h",
        now,
    );
    assert!(m.starts_with("<109>Jan  8 01:02:03 h "), "{m}");
    assert_eq!(octet_counted("héllo"), b"6 h\xc3\xa9llo");
}
