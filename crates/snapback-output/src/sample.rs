//! Hand-built alerts for tests, benchmarks and documentation of the outputs, so that the formats
//! can be exercised (10,000 alerts, hostile strings in every field) without running detection.

use snapback_model::{Alert, Entity, Evidence, EvidenceRole, Guide, Severity};
use snapback_model::{Cloud, Outcome, ResourceKind};

/// The strings an attacker can put into audit-log fields to break an output: each must arrive
/// as text, in one event, in every format.
pub const HOSTILE: &[(&str, &str)] = &[
    ("tab", "ua\tsev=1\tsrc=6.6.6.6"),
    ("pipe", "ua|LEEF:2.0|evil|x|y|"),
    ("caret", "ua^sev=1^src=6.6.6.6"),
    ("equals", "ua=1 cs1=forged"),
    ("backslash", "C:\\temp\\ua\\"),
    ("cr", "ua\rforged"),
    (
        "lf",
        "ua\n<13>Jan 1 00:00:00 evilhost LEEF:2.0|evil|evil|1|forged|x09|sev=10",
    ),
    ("crlf", "ua\r\nforged: yes"),
    ("syslog-header", "<13>Jan 1 00:00:00 evilhost forged"),
    ("line-separators", "ua\u{2028}a\u{2029}b\u{85}c"),
    ("script", "<script>document.title='PWNED'</script>"),
    ("img", "<img src=x onerror=\"document.title='PWNED'\">"),
    (
        "attr-quote",
        "\"><svg onload=\"document.title='PWNED'\" id=\"pwned\">",
    ),
    ("single-quote", "'><b id='pwned'>x</b>"),
    ("javascript-url", "javascript:document.title='PWNED'"),
    (
        "script-close",
        "</script><script>document.title='PWNED'</script><!--",
    ),
];

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("sample times are valid RFC 3339")
}

/// Alert number `i`: clouds, severities and accounts vary with `i`; ids are unique.
pub fn alert(i: usize) -> Alert {
    let cloud = [Cloud::Aws, Cloud::Azure, Cloud::Gcp][i % 3];
    let risk = [95u8, 82, 64, 45, 30, 10][i % 6];
    let base = jiff::Timestamp::from_second(1_735_732_800 + (i as i64) * 60).expect("in range");
    let t = |s: i64| (base + jiff::SignedDuration::from_secs(s)).to_string();
    let instance = format!("i-{:017x}", 0x0abc_0000 + i);
    let actor = format!("arn:aws:iam::1111222233{:02}:user/alice{}", i % 7, i % 5);
    let ev = |role, op: &str, at: i64, n: usize| Evidence {
        role,
        rule_id: "aws-ec2-stop-start".to_owned(),
        event_id: format!("evt-{i}-{n}"),
        correlation_id: None,
        time: t(at),
        operation: op.to_owned(),
        outcome: Outcome::Success,
        actor: actor.clone(),
        source_ip: Some(format!("203.0.113.{}", i % 250 + 1)),
        user_agent: Some("aws-cli/2.15.0 Python/3.11".to_owned()),
        file: "examples/atomic/AWSLogs/cloudtrail.json".to_owned(),
        offset: (i * 3 + n) as u64 * 1024,
        instant: base + jiff::SignedDuration::from_secs(at),
        act: format!("evt-{i}-{n}"),
    };
    let evidence = vec![
        ev(EvidenceRole::Precursor, "CreateSnapshot", 0, 0),
        ev(EvidenceRole::Revert, "StopInstances", 120, 1),
        ev(EvidenceRole::Revert, "StartInstances", 300, 2),
    ];
    let mut a = Alert {
        alert_id: String::new(),
        rule_id: "aws-ec2-stop-start".to_owned(),
        rule_name: Some("EC2 instance stopped and started (ephemeral storage wiped)".to_owned()),
        title: format!("Instance {instance} stopped and started by {actor}"),
        alert_type: "instance-restart-wipe".to_owned(),
        severity: Severity::from_risk(risk),
        risk_score: risk,
        risk_reasons: vec![
            "base score of the rule: 50".to_owned(),
            "human user, not automation: +15".to_owned(),
        ],
        attack: vec!["T1578.004".to_owned()],
        tactics: vec!["defense-evasion".to_owned()],
        cloud,
        account: format!("1111222233{:02}", i % 7),
        region: "eu-west-1".to_owned(),
        actor: actor.clone(),
        entities: vec![Entity {
            kind: ResourceKind::Instance,
            id: instance.clone(),
        }],
        first_seen: t(0),
        last_seen: t(300),
        escalated: i.is_multiple_of(4),
        confirmed: !i.is_multiple_of(5),
        guide: Guide {
            check: vec![
                "Was the stop/start planned (change ticket, maintenance window)?".to_owned(),
            ],
            respond: vec!["Snapshot the instance's volumes before anything else changes.".to_owned()],
        },
        description: "The instance was stopped and started within minutes, which wipes its instance-store volumes.".to_owned(),
        suppressed: None,
        first_instant: ts(&t(0)),
        last_instant: ts(&t(300)),
        principals: vec![actor.clone()],
        source_ips: vec![],
        base_risk: 0,
        group_key: String::new(),
        evidence,
    };
    a.alert_id = format!("sb-{i:024x}");
    a
}

/// An alert whose actor, user agent, entity, region, title and description all carry `payload`.
pub fn hostile(i: usize, payload: &str) -> Alert {
    let mut a = alert(i);
    a.actor = format!("alice{payload}");
    a.title = format!("Instance {payload} stopped and started");
    a.description = format!("desc {payload}");
    a.entities[0].id = format!("i-0{payload}");
    a.guide.check.push(format!("check {payload}"));
    for e in &mut a.evidence {
        e.user_agent = Some(payload.to_owned());
        e.actor = a.actor.clone();
        e.event_id = format!("{}-{i}", e.event_id);
    }
    a.alert_id = format!("sb-{:024x}", 0xbad0_0000_0000usize + i);
    a
}
