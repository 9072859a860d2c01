//! `snapback demo` on the bundled sample data: the seed's four Atomic Red Team tests and the
//! Google Cloud revert are active alerts, escalated by their precursors; the benign automation
//! is suppressed with a reason, never active. The planted ids are in docs/simulate.md.

use assert_cmd::Command;
use serde_json::Value;

fn demo(args: &[&str]) -> (Vec<Value>, String) {
    let out = Command::cargo_bin("snapback")
        .unwrap()
        .arg("demo")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON alert per line"))
        .collect();
    (alerts, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn entities(a: &Value) -> Vec<String> {
    a["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn operations(a: &Value) -> Vec<String> {
    a["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["role"] == "revert")
        .map(|e| e["operation"].as_str().unwrap().to_owned())
        .collect()
}

/// The active alert about this entity whose revert steps include these operations.
fn find<'a>(alerts: &'a [Value], entity: &str, ops: &[&str]) -> &'a Value {
    alerts
        .iter()
        .filter(|a| a.get("suppressed").is_none())
        .find(|a| {
            entities(a).iter().any(|e| {
                e.to_ascii_lowercase()
                    .ends_with(&entity.to_ascii_lowercase())
            }) && ops
                .iter()
                .all(|op| operations(a).iter().any(|o| o.eq_ignore_ascii_case(op)))
        })
        .unwrap_or_else(|| {
            let seen: Vec<String> = alerts
                .iter()
                .map(|a| format!("{} {:?} {:?}", a["title"], entities(a), operations(a)))
                .collect();
            panic!(
                "no active alert on {entity} with {ops:?}; alerts:\n{}",
                seen.join("\n")
            )
        })
}

#[test]
fn demo_raises_the_four_seed_tests_and_the_gcp_revert() {
    let (alerts, stderr) = demo(&["--format", "jsonl", "--show-suppressed"]);
    // Test 1: EC2 stop then start of web-1, after an SSH key push and an SSM command.
    let t1 = find(
        &alerts,
        "i-040352f9f03857c60",
        &["StopInstances", "StartInstances"],
    );
    // Test 2: a volume from the shared snapshot attached as the root device.
    let t2 = find(
        &alerts,
        "vol-0472cb4cd1abd6699",
        &["CreateVolume", "AttachVolume"],
    );
    // Test 3: an Azure disk copied from a snapshot, then named as the VM's OS disk by the
    // VM write: linked by the disk id.
    let t3 = find(
        &alerts,
        "vm-web-01-osdisk-restored",
        &[
            "MICROSOFT.COMPUTE/DISKS/WRITE",
            "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
        ],
    );
    assert_eq!(t3["rule_name"], "azure-disk-restored-then-vm-changed");
    assert_eq!(t3["risk_score"], 100, "80, escalated by the SAS export");
    // Test 4: an AMI registered from a snapshot, then launched.
    let t4 = find(
        &alerts,
        "ami-0352e347a33ad7dc4",
        &["RegisterImage", "RunInstances"],
    );
    for (name, a) in [
        ("test 1", t1),
        ("test 2", t2),
        ("test 3", t3),
        ("test 4", t4),
    ] {
        assert_eq!(
            a["escalated"], true,
            "{name} follows precursors by the same principal"
        );
        assert_eq!(a["severity"], "critical", "{name}");
        assert!(a["risk_score"].as_u64().unwrap() >= 90, "{name}");
        assert!(
            a["attack"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "T1578.004"),
            "{name}"
        );
        let precursors = a["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["role"] == "precursor")
            .count();
        assert!(precursors >= 1, "{name} carries its precursor as evidence");
    }
    // Every active alert is the attacker's; every suppressed one is automation.
    for a in &alerts {
        let actor = a["actor"].as_str().unwrap();
        if a.get("suppressed").is_none() {
            assert!(
                actor.contains("mallory"),
                "active alert by {actor}: {}",
                a["title"]
            );
        } else {
            assert!(
                !actor.contains("mallory"),
                "the attacker was suppressed: {}",
                a["title"]
            );
            assert!(!a["suppressed"]["reason"].as_str().unwrap().is_empty());
        }
    }
    assert!(
        alerts.iter().any(|a| a.get("suppressed").is_some()),
        "benign automation is shown under --show-suppressed"
    );
    // Alerts come highest risk first.
    let risks: Vec<u64> = alerts
        .iter()
        .filter(|a| a.get("suppressed").is_none())
        .map(|a| a["risk_score"].as_u64().unwrap())
        .collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risks:?}");
    assert!(stderr.contains("alerts suppressed"), "{stderr}");
}

#[test]
fn demo_scores_the_gcp_boot_disk_swap_like_test_2() {
    let (alerts, _) = demo(&["--format", "jsonl"]);
    // Test 2: CreateVolume, DetachVolume of the old root, AttachVolume as root.
    let t2 = find(
        &alerts,
        "vol-0472cb4cd1abd6699",
        &["CreateVolume", "DetachVolume", "AttachVolume"],
    );
    // Google Cloud: disks.insert from the snapshot, detachDisk, attachDisk as boot of web-1;
    // the by-instance swap and the generic restored-disk attach are merged into it.
    let gcp = find(
        &alerts,
        "web-1-restored",
        &[
            "v1.compute.disks.insert",
            "v1.compute.instances.detachDisk",
            "v1.compute.instances.attachDisk",
        ],
    );
    assert_eq!(t2["rule_name"], "aws-ebs-restored-volume-attached-as-root");
    assert_eq!(gcp["rule_name"], "gcp-restored-disk-attached-as-boot");
    for key in ["risk_score", "severity", "alert_type", "escalated"] {
        assert_eq!(gcp[key], t2[key], "{key}");
    }
    let merged = |a: &Value| -> Vec<String> {
        a["risk_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.as_str())
            .filter(|r| r.starts_with("also matched"))
            .map(|r| {
                r.split(" (")
                    .nth(1)
                    .unwrap_or("")
                    .split(',')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        merged(gcp),
        ["gcp-instance-boot-disk-swap", "gcp-restored-disk-attached"]
    );
    assert_eq!(
        merged(t2),
        [
            "aws-ec2-root-volume-swap",
            "aws-ebs-restored-volume-attached"
        ]
    );
}

#[test]
fn demo_ids_are_stable_across_runs() {
    let (a, _) = demo(&["--format", "jsonl"]);
    let (b, _) = demo(&["--format", "jsonl"]);
    let ids = |v: &[Value]| {
        v.iter()
            .map(|a| a["alert_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&a), ids(&b));
}

#[test]
fn min_risk_hides_lower_alerts() {
    let (all, _) = demo(&["--format", "jsonl"]);
    let (high, _) = demo(&["--format", "jsonl", "--min-risk", "90"]);
    assert!(high.len() < all.len() || all.iter().all(|a| a["risk_score"].as_u64().unwrap() >= 90));
    assert!(high.iter().all(|a| a["risk_score"].as_u64().unwrap() >= 90));
}

#[test]
fn state_caps_from_the_config_evict_and_say_so() {
    // A cap of 10 retained events on the sample data: evictions are reported, and the alerts
    // found before the events went are still there.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("caps.toml");
    std::fs::write(&config, "[state]\nmax_retained_events = 10\n").unwrap();
    let (capped, stderr) = demo(&["--format", "jsonl", "--config", config.to_str().unwrap()]);
    assert!(
        stderr.contains("matched events evicted"),
        "no eviction reported: {stderr}"
    );
    let (all, _) = demo(&["--format", "jsonl"]);
    assert!(
        capped.len() >= all.len() / 2,
        "{} alerts with the cap, {} without",
        capped.len(),
        all.len()
    );
    std::fs::write(&config, "[state]\nmax_retained_events = 1\n").unwrap();
    let out = Command::cargo_bin("snapback")
        .unwrap()
        .args(["demo", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("state.max_retained_events"));
}
