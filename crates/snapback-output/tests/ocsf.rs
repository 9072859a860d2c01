//! OCSF Detection Findings, validated by a published implementation (py-ocsf-models on PyPI).

mod support;

use snapback_model::Suppression;
use snapback_output::{ocsf, sample, write_lines, LineFormat};

fn findings() -> Vec<snapback_model::Alert> {
    let mut v: Vec<_> = (0..6).map(sample::alert).collect();
    let mut s = sample::alert(6);
    s.suppressed = Some(Suppression {
        by: "filter:known-automation".into(),
        reason: "the AWS Backup service role".into(),
    });
    v.push(s);
    let mut bare = sample::alert(7);
    bare.attack.clear();
    bare.tactics.clear();
    bare.rule_name = None;
    for e in &mut bare.evidence {
        e.source_ip = None;
        e.user_agent = None;
    }
    v.push(bare);
    for (i, (_, p)) in sample::HOSTILE.iter().enumerate() {
        v.push(sample::hostile(100 + i, p));
    }
    v
}

#[test]
fn every_finding_validates_with_py_ocsf_models() {
    if !support::have_py_ocsf_models() {
        return;
    }
    let alerts = findings();
    let refs: Vec<_> = alerts.iter().collect();
    let mut out = Vec::new();
    write_lines(LineFormat::Ocsf, &refs, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), alerts.len());
    let report = support::validate_ocsf(&text);
    assert!(
        report.contains(&format!("validated {} finding(s)", alerts.len())),
        "{report}"
    );
}

#[test]
fn finding_maps_the_alert() {
    let mut a = sample::alert(1);
    a.suppressed = Some(Suppression {
        by: "allow:1".into(),
        reason: "change ticket CHG-7".into(),
    });
    let f = ocsf::finding(&a);
    assert_eq!(f["class_uid"], 2004);
    assert_eq!(f["category_uid"], 2);
    assert_eq!(f["type_uid"], 200401);
    assert_eq!(f["finding_info"]["uid"], a.alert_id.as_str());
    assert_eq!(f["metadata"]["uid"], a.alert_id.as_str());
    assert_eq!(f["metadata"]["product"]["name"], "snapback");
    assert_eq!(f["severity_id"], 4); // risk 82: high
    assert_eq!(f["severity"], "High");
    assert_eq!(f["risk_score"], 82);
    assert_eq!(f["status_id"], 3);
    assert_eq!(f["status"], "Suppressed");
    assert_eq!(f["status_detail"], "allow:1: change ticket CHG-7");
    assert_eq!(f["cloud"]["provider"], "Azure");
    assert_eq!(f["cloud"]["account"]["uid"], a.account.as_str());
    assert_eq!(f["cloud"]["region"], "eu-west-1");
    assert_eq!(f["actor"]["user"]["name"], a.actor.as_str());
    assert_eq!(f["time"], a.last_instant.as_millisecond());
    assert_eq!(
        f["finding_info"]["first_seen_time"],
        a.first_instant.as_millisecond()
    );
    let atk = &f["finding_info"]["attacks"][0];
    assert_eq!(atk["technique"]["uid"], "T1578");
    assert_eq!(atk["sub_technique"]["uid"], "T1578.004");
    assert_eq!(atk["sub_technique"]["name"], "Revert Cloud Instance");
    assert_eq!(atk["tactic"]["uid"], "TA0005");
    assert_eq!(f["finding_info"]["analytic"]["uid"], a.rule_id.as_str());
    assert_eq!(f["evidences"].as_array().unwrap().len(), 3);
    assert_eq!(f["evidences"][1]["api"]["operation"], "StopInstances");
    assert_eq!(f["evidences"][1]["src_endpoint"]["ip"], "203.0.113.2");
    assert_eq!(f["resources"][0]["type"], "instance");
    assert_eq!(f["resources"][0]["uid"], a.entities[0].id.as_str());
}
