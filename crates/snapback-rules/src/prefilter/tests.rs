//! The prefilter's unit tests (moved out of `prefilter.rs` to keep that file readable).

use super::reduce::{necessary, Clause, Key, OpKey, Pattern};
use super::*;
use crate::{Condition, DetectionTree, Modifier, Selection, SelectionItem, SigmaValue, StrPart};
use snapback_ingest::decode::LOWER_CASE_MARKERS as MARKERS;
use snapback_model::KeyList;

fn item(field: &str, mods: Vec<Modifier>, values: &[&[StrPart]]) -> Selection {
    Selection::AllOf(vec![SelectionItem {
        field: Some(field.into()),
        modifiers: mods,
        values: values.iter().map(|v| SigmaValue::Str(v.to_vec())).collect(),
    }])
}
fn text(s: &str) -> StrPart {
    StrPart::Text(s.into())
}
fn tree(sel: &[(&str, Selection)], condition: Condition) -> DetectionTree {
    DetectionTree {
        logsource: Default::default(),
        selections: sel
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect(),
        condition,
    }
}
fn sel(n: &str) -> Condition {
    Condition::Selection(n.into())
}
fn exact(s: &str) -> Pattern {
    Pattern::Exact(s.into())
}

fn op(k: OpKey, p: Pattern) -> Vec<Clause> {
    vec![vec![(Key::Op(k), p)]]
}
fn field(name: &str, p: Pattern) -> (Key, Pattern) {
    (Key::Field(name.into()), p)
}
fn contains(s: &str) -> Pattern {
    Pattern::Contains(s.into())
}

/// The necessary conditions of a tree holding the one selection `s`.
fn one(s: Selection) -> Option<Vec<Clause>> {
    necessary(&tree(&[("s", s)], sel("s")))
}

#[test]
fn necessary_conditions_of_and_or_not() {
    let stop = item("eventName", vec![], &[&[text("StopInstances")]]);
    let agent = item("userAgent", vec![Modifier::Contains], &[&[text("curl")]]);
    let sels = [("stop", stop), ("agent", agent)];
    let n = |c: Condition| necessary(&tree(&sels, c));
    let curl = field("userAgent", contains("curl"));
    // An operation name is preferred to other fields.
    assert_eq!(
        n(Condition::And(vec![sel("agent"), sel("stop")])),
        Some(op(OpKey::CloudTrail, exact("StopInstances")))
    );
    assert_eq!(
        n(Condition::Or(vec![sel("agent"), sel("stop")])),
        Some(vec![vec![
            curl.clone(),
            (Key::Op(OpKey::CloudTrail), exact("StopInstances"))
        ]])
    );
    assert_eq!(n(Condition::Not(Box::new(sel("stop")))), None);
    assert_eq!(
        n(Condition::And(vec![
            Condition::Not(Box::new(sel("stop"))),
            sel("agent")
        ])),
        Some(vec![vec![curl.clone()]])
    );
    assert_eq!(n(sel("agent")), Some(vec![vec![curl]]));
    assert_eq!(n(sel("missing")), None);
}

#[test]
fn necessary_conditions_of_modifiers_wildcards_regexes_and_keywords() {
    // modifiers and wildcards
    assert_eq!(
        one(item(
            "protoPayload.methodName",
            vec![Modifier::EndsWith],
            &[&[text(".stop")]]
        )),
        Some(op(OpKey::Gcp, Pattern::Suffix(".stop".into())))
    );
    assert_eq!(
        one(item(
            "operationName",
            vec![],
            &[&[text("Microsoft.Compute/"), StrPart::AnyRun]]
        )),
        Some(op(
            OpKey::Azure,
            Pattern::Prefix("Microsoft.Compute/".into())
        ))
    );
    // A regular expression pins the longest literal its matches contain.
    assert_eq!(
        one(item("eventName", vec![Modifier::Re], &[&[text("Stop.*")]])),
        Some(op(OpKey::CloudTrail, contains("Stop")))
    );
    assert_eq!(
        one(item(
            "userIdentity.arn",
            vec![Modifier::Re],
            &[&[text(".+:assumed-role/aws:.+")]]
        )),
        Some(vec![vec![field("arn", contains(":assumed-role/aws:"))]])
    );
    assert_eq!(
        one(item(
            "userAgent",
            vec![Modifier::Re],
            &[&[text("(?i)curl|wget")]]
        )),
        None
    );
    // An operation key keeps to the precise shapes; other fields take a substring.
    assert_eq!(
        one(item(
            "eventName",
            vec![],
            &[&[text("Stop"), StrPart::AnyChar]]
        )),
        None
    );
    assert_eq!(
        one(item(
            "userAgent",
            vec![],
            &[&[text("aws-cli/"), StrPart::AnyChar, text("x")]]
        )),
        Some(vec![vec![field("userAgent", contains("aws-cli/"))]])
    );
    assert_eq!(
        one(Selection::Keywords(vec![SigmaValue::Str(vec![text(
            "StopInstances"
        )])])),
        Some(vec![vec![(Key::Anywhere, contains("StopInstances"))]])
    );
}

#[test]
fn necessary_conditions_of_mappings_and_unpinnable_fields() {
    // Every item of a mapping is necessary when none is an operation name.
    assert_eq!(
        one(Selection::AllOf(vec![
            SelectionItem {
                field: Some("userIdentity.type".into()),
                modifiers: vec![],
                values: vec![SigmaValue::Str(vec![text("AssumedRole")])],
            },
            SelectionItem {
                field: Some("userIdentity.sessionContext.sessionIssuer.type".into()),
                modifiers: vec![],
                values: vec![SigmaValue::Str(vec![text("Role")])],
            },
        ])),
        Some(vec![
            vec![field("type", exact("AssumedRole"))],
            vec![field("type", exact("Role"))]
        ])
    );
    // A field named like an operation key is read with the operation key's slot.
    assert_eq!(
        one(item(
            "requestParameters.eventName",
            vec![],
            &[&[text("StopLogging")]]
        )),
        Some(vec![vec![field("eventName", exact("StopLogging"))]])
    );
    // What pins nothing: virtual fields, array indices, existence, nulls, floats.
    for (f, m, v) in [
        (
            "snapback.actor.name",
            vec![],
            SigmaValue::Str(vec![text("x")]),
        ),
        ("resultType", vec![], SigmaValue::Str(vec![text("Failure")])),
        ("items.0", vec![], SigmaValue::Str(vec![text("x")])),
        ("userAgent", vec![Modifier::Exists], SigmaValue::Bool(true)),
        ("userAgent", vec![], SigmaValue::Null),
        ("score", vec![], SigmaValue::Float(0.5)),
        (
            "sourceIPAddress",
            vec![Modifier::Cidr],
            SigmaValue::Str(vec![text("10.0.0.0/8")]),
        ),
    ] {
        let s = Selection::AllOf(vec![SelectionItem {
            field: Some(f.into()),
            modifiers: m,
            values: vec![v],
        }]);
        assert_eq!(one(s), None, "{f}");
    }
}

/// The key list the framer would give `p` for `record`.
fn listed(p: &Prefilter, record: &[u8]) -> Option<Vec<u32>> {
    if p.wants_all_keys() {
        snapback_ingest::all_key_ends(record)
    } else {
        snapback_ingest::key_ends(record)
    }
}
fn keys<'a>(p: &Prefilter, ends: &'a Option<Vec<u32>>) -> Option<KeyList<'a>> {
    ends.as_deref().map(|ends| KeyList {
        ends,
        all: p.wants_all_keys(),
    })
}

fn pack() -> Prefilter {
    Prefilter::new(
        &[
            Ok(op(OpKey::CloudTrail, exact("StopInstances"))),
            Ok(op(
                OpKey::Azure,
                exact("Microsoft.Compute/virtualMachines/start/action"),
            )),
            Ok(op(
                OpKey::Gcp,
                Pattern::Suffix("compute.instances.stop".into()),
            )),
        ],
        &MARKERS,
    )
}

#[test]
fn skips_only_what_no_rule_can_match() {
    let p = pack();
    let cases: &[(&str, bool)] = &[
        (
            r#"{"eventName":"DescribeInstances","eventSource":"ec2.amazonaws.com"}"#,
            false,
        ),
        (r#"{"eventName":"StopInstances"}"#, true),
        (r#"{"eventName" : "stopinstances"}"#, true),
        (
            r#"{"a":{"eventName":"StopInstances"},"eventName":"X"}"#,
            true,
        ),
        (r#"{"eventName":"Stop\u0049nstances"}"#, true),
        (r#"{"event\u004eame":"StopInstances"}"#, true),
        (
            r#"{"eventName":"X","CloudTrailEvent":"{\"eventName\":\"StopInstances\"}"}"#,
            true,
        ),
        (r#"{"eventName":5}"#, true),
        (r#"{"eventname":"StopInstances","eventsource":"ec2"}"#, true),
        (r#"{"eventNames":"StopInstances","eventName":"Y"}"#, false),
        (r#"{"note":"eventName","eventName":"Y"}"#, false),
        (
            r#"{"operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/START/ACTION"}"#,
            true,
        ),
        (
            r#"{"operationName":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"}"#,
            false,
        ),
        (r#"{"operationName":{"value":"Microsoft.Storage/x"}}"#, true),
        (
            r#"{"OperationNameValue":"Microsoft.Compute/virtualMachines/start/action"}"#,
            true,
        ),
        (
            r#"{"OperationNameValue":"Microsoft.Storage/x","OperationName":"List keys"}"#,
            false,
        ),
        (
            r#"{"protoPayload":{"methodName":"v1.compute.instances.stop"}}"#,
            true,
        ),
        (
            r#"{"protoPayload":{"methodName":"storage.objects.get"}}"#,
            false,
        ),
        (r#"{"nothing":"here"}"#, false),
        (r#"{"eventName":"#, true),
    ];
    let mut with_keys = 0;
    for (record, want) in cases {
        assert_eq!(p.may_match(record.as_bytes()), *want, "{record}");
        // The same answer from the key list, where the record has one.
        let ends = listed(&p, record.as_bytes());
        with_keys += usize::from(ends.is_some());
        assert_eq!(
            p.may_match_keys(record.as_bytes(), keys(&p, &ends)),
            *want,
            "{record} with key ends {ends:?}"
        );
    }
    assert!(with_keys >= 12, "only {with_keys} cases had a key list");
    // Every marker key gets a record through on both paths.
    for m in MARKERS {
        let record = format!(r#"{{"{m}":"x","eventName":"DescribeInstances"}}"#);
        let ends = listed(&p, record.as_bytes());
        assert!(
            p.may_match_keys(record.as_bytes(), keys(&p, &ends)),
            "{record}"
        );
        assert!(p.may_match(record.as_bytes()), "{record}");
    }
}

#[test]
fn an_unpinned_rule_turns_it_off() {
    let p = Prefilter::new(
        &[
            Ok(op(OpKey::CloudTrail, exact("StopInstances"))),
            Err("user-agent-rule".into()),
        ],
        &MARKERS,
    );
    assert!(p.is_off());
    assert!(p.may_match(br#"{"eventName":"DescribeInstances"}"#));
    assert!(p.disabled_by().unwrap().contains("user-agent-rule"));
}

#[test]
fn fields_keywords_and_clauses() {
    // The pack's rule, SigmaHQ's assumed-role rule (two clauses on `type`), a keyword, and
    // a regular expression on `arn`.
    let p = Prefilter::new(
        &[
            Ok(op(OpKey::CloudTrail, exact("StopInstances"))),
            Ok(vec![
                vec![field("type", exact("AssumedRole"))],
                vec![field("type", exact("Role"))],
            ]),
            Ok(vec![vec![(Key::Anywhere, contains("TruffleHog"))]]),
            Ok(vec![vec![field("arn", contains(":assumed-role/aws:"))]]),
            Ok(vec![vec![field(
                "OperationName",
                contains("member to role"),
            )]]),
        ],
        &MARKERS,
    );
    assert!(!p.is_off());
    let cases: &[(&str, bool)] = &[
        (
            r#"{"eventName":"GetObject","userIdentity":{"type":"AssumedRole"}}"#,
            false,
        ),
        (
            r#"{"eventName":"GetObject","userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role"}}}}"#,
            true,
        ),
        (
            r#"{"userIdentity.type":"assumedrole","x.type":"ROLE"}"#,
            true,
        ),
        (r#"{"type":"Role"}"#, false),
        (r#"{"type":["AssumedRole"],"t":{"type":"Role"}}"#, true),
        (
            r#"{"eventName":"GetObject","userAgent":"trufflehog/3"}"#,
            true,
        ),
        (r#"{"eventName":"GetObject","userAgent":"curl"}"#, false),
        (r#"{"eventName":"GetObject","userAgent":"x\/y"}"#, true),
        (
            r#"{"arn":"arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"}"#,
            true,
        ),
        (r#"{"arn":"arn:aws:sts::1:assumed-role/admin/i-1"}"#, false),
        (r#"{"eventName":"StopInstances"}"#, true),
        (r#"{"eventType":"AwsApiCall","subtype":"Role"}"#, false),
        (r#"{"OperationName":"Add member to role"}"#, true),
        (
            r#"{"OperationName":"Add owner","x":"member to role"}"#,
            false,
        ),
    ];
    // With more than operation names pinned, every key is listed.
    check(&p, cases);
}

/// Each record passes, or not, as said: by its bytes and by its list of keys.
fn check(p: &Prefilter, cases: &[(&str, bool)]) {
    for (record, want) in cases {
        assert_eq!(p.may_match(record.as_bytes()), *want, "{record}");
        let ends = listed(p, record.as_bytes());
        assert_eq!(
            p.may_match_keys(record.as_bytes(), keys(p, &ends)),
            *want,
            "{record}"
        );
    }
}

#[test]
fn keys_sifted_by_their_tails() {
    // Every name at least four bytes long: keys are sifted by their last four bytes first.
    let p = Prefilter::new(
        &[
            Ok(op(OpKey::CloudTrail, exact("StopInstances"))),
            Ok(vec![vec![field("sourceIPAddress", exact("203.0.113.9"))]]),
        ],
        &MARKERS,
    );
    let c = p.compiled.as_ref().unwrap();
    assert!(c.tails.is_some());
    let cases: &[(&str, bool)] = &[
        (r#"{"eventTime":"t","eventName":"StopInstances"}"#, true),
        (r#"{"eventTime":"StopInstances","eventType":"x"}"#, false),
        // Same last four bytes as a name, other names.
        (
            r#"{"userName":"StopInstances","nName":"StopInstances"}"#,
            false,
        ),
        (r#"{"a":{"sourceIPAddress":"203.0.113.9"}}"#, true),
        (
            r#"{"sourceIPAddresses":"203.0.113.9","ddress":"203.0.113.9"}"#,
            false,
        ),
        (r#"{"Address":"203.0.113.9"}"#, false),
        (r#"{"x.eventName":"StopInstances"}"#, true),
        (r#"{"eventname":"GetObject"}"#, true),
    ];
    check(&p, cases);
    // A name shorter than four bytes turns the sifting off; such keys are still found.
    let short = Prefilter::new(&[Ok(vec![vec![field("arn", contains("x"))]])], &MARKERS);
    assert!(short.compiled.as_ref().unwrap().tails.is_none());
    let record = br#"{"arn":"x"}"#;
    let ends = listed(&short, record);
    assert!(short.may_match_keys(record, keys(&short, &ends)));
}

#[test]
fn the_quick_test_turns_away_only_values_no_exact_pattern_has() {
    let mut exact_only = compile::Wanted::default();
    let names = ["StopInstances", "RunInstances", "x", "StartInstances"];
    for (atom, name) in names.iter().enumerate() {
        exact_only.add(&exact(name), atom);
    }
    // Every wanted value, in any case, passes.
    for name in names {
        assert!(exact_only.may_hold(name.as_bytes()), "{name}");
        assert!(
            exact_only.may_hold(name.to_uppercase().as_bytes()),
            "{name}"
        );
        assert!(
            exact_only.may_hold(name.to_lowercase().as_bytes()),
            "{name}"
        );
    }
    // An empty value is always looked at.
    assert!(exact_only.may_hold(b""));
    // Most others are turned away (a few may share a bit: then they are looked at).
    let others: Vec<String> = (0..2000).map(|i| format!("Describe{i}Things")).collect();
    let passed = others
        .iter()
        .filter(|o| exact_only.may_hold(o.as_bytes()))
        .count();
    assert!(passed < 100, "{passed} of 2000 passed");
    // What is turned away matches no atom.
    for o in &others {
        if !exact_only.may_hold(o.as_bytes()) {
            let mut any = false;
            exact_only.matching(o.to_lowercase().as_bytes(), |_| any = true);
            assert!(!any, "{o}");
        }
    }
    // With a pattern that is not exact, every value is looked at.
    let mut open = compile::Wanted::default();
    open.add(&exact("StopInstances"), 0);
    open.add(&Pattern::Suffix("instances".into()), 1);
    assert!(open.may_hold(b"DescribeThings"));
}

#[test]
fn the_first_word_turns_away_only_what_the_full_check_would() {
    let names = [
        "StopInstances",
        "RunInstances",
        "x",
        "Stop",
        "abcdefgh",
        "abcdefg",
    ];
    let mut wanted = compile::Wanted::default();
    for (atom, name) in names.iter().enumerate() {
        wanted.add(&exact(name), atom);
    }
    // Whether the value after `":"` in `rest` could be a wanted one: read plainly up to its
    // quote, or, escaped, whether the bytes before its first backslash (which an escape
    // cannot change) begin a wanted value. (The full check, `key_hit`, looks at every escaped
    // value; a `\u` also forces a record through on its own.)
    let full = |rest: &[u8]| {
        let value = &rest[3..];
        let end = value.iter().position(|&b| b == b'"' || b == b'\\');
        let end = end.expect("the values built here end");
        let plain = value[..end].to_ascii_lowercase();
        if value[end] == b'"' {
            let mut any = false;
            wanted.matching(&plain, |_| any = true);
            any
        } else {
            names
                .iter()
                .any(|n| n.to_ascii_lowercase().as_bytes().starts_with(&plain))
        }
    };
    // Values built from pieces of the names, in both cases, with quotes, escapes and what
    // follows a value in a record.
    let pieces: [&[u8]; 12] = [
        b"Stop",
        b"STOP",
        b"instances",
        b"Run",
        b"x",
        b"X",
        b"abcdefg",
        b"h",
        b"\\",
        b"\\u0041",
        b"\"",
        b"\",\"awsRegion\":\"us-east-1\"",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut turned = 0;
    for _ in 0..20_000 {
        let mut rest = b"\":\"".to_vec();
        for _ in 0..(seed % 5 + 1) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            rest.extend_from_slice(pieces[(seed % pieces.len() as u64) as usize]);
        }
        rest.extend_from_slice(b"\"}");
        if wanted.turns_away(&rest) {
            turned += 1;
            assert!(!full(&rest), "{}", String::from_utf8_lossy(&rest));
        }
    }
    assert!(turned > 1000, "only {turned} turned away");
    // Every wanted value, in any case and followed by anything, is looked at.
    for name in names {
        for spelt in [name.to_owned(), name.to_uppercase(), name.to_lowercase()] {
            let rest = format!("\":\"{spelt}\",\"eventSource\":\"ec2.amazonaws.com\"}}");
            assert!(!wanted.turns_away(rest.as_bytes()), "{rest}");
        }
    }
    // A name that is not wanted, spelt compactly, is turned away; spelt otherwise, looked at.
    assert!(wanted.turns_away(b"\":\"DescribeInstances\",\"x\":1}"));
    assert!(!wanted.turns_away(b"\": \"DescribeInstances\",\"x\":1}"));
    // With a pattern that is not exact, nothing is turned away.
    let mut open = compile::Wanted::default();
    open.add(&exact("StopInstances"), 0);
    open.add(&Pattern::Prefix("describe".into()), 1);
    assert!(!open.turns_away(b"\":\"DescribeInstances\",\"x\":1}"));
}
