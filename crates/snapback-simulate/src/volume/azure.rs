//! The Azure part of the volume corpus: activity-log lines in the storage-export layout, by
//! subscription and hour, with VM deallocate→start chains planted in chosen files.
//!
//! Why apart: Azure's resource-log schema, its Start/Accept/Success phases and its file layout
//! share nothing with CloudTrail's but the seeded stream ([`super::rng`]).

use std::io::Write as _;

use super::rng::{date_parts, utc, Rng};
use super::{PlantedChain, DAY0_MS, RECORDS_PER_FILE};

pub(super) const AZURE_SUBS: u64 = 6;
const AZURE_MIX: [(&str, &str, u64); 6] = [
    (
        "Microsoft.Storage/storageAccounts/listKeys/action",
        "Administrative",
        30,
    ),
    (
        "Microsoft.Resources/deployments/write",
        "Administrative",
        15,
    ),
    (
        "Microsoft.Network/networkSecurityGroups/securityRules/write",
        "Administrative",
        10,
    ),
    (
        "Microsoft.Authorization/policies/audit/action",
        "Policy",
        30,
    ),
    (
        "Microsoft.Compute/virtualMachines/extensions/write",
        "Administrative",
        10,
    ),
    (
        "Microsoft.Web/sites/config/list/action",
        "Administrative",
        15,
    ),
];

pub(super) fn azure_sub(seed: u64, s: u64) -> String {
    let mut r = Rng::new(seed, 5, s);
    let mut h = String::new();
    r.hex(&mut h, 32);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

struct AzureOp<'a> {
    sub: &'a str,
    rg: String,
    provider_path: String,
    operation: &'a str,
    category: &'a str,
    correlation: String,
    caller: (&'a str, &'a str),
}

fn render_azure(out: &mut Vec<u8>, op: &AzureOp<'_>, phase: &str, at: i64, r: &mut Rng) -> String {
    let entity = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{}",
        op.sub, op.rg, op.provider_path
    );
    let resource_id = entity.to_ascii_uppercase();
    let (signature, status) = match phase {
        "Start" => ("Started.", ""),
        "Accept" => ("Accepted.Accepted", "Accepted"),
        _ => ("Succeeded.", "OK"),
    };
    let event_data_id = r.uuid();
    let _ = write!(
        out,
        r#"{{"time":"{time}","resourceId":"{resource_id}","operationName":"{opname}","category":"{cat}","resultType":"{phase}","resultSignature":"{signature}","durationMs":{dur},"callerIpAddress":"{ip}","correlationId":"{corr}","identity":{{"authorization":{{"scope":"{entity}","action":"{op}","evidence":{{"role":"Contributor","roleAssignmentScope":"/subscriptions/{sub}","principalType":"User"}}}},"claims":{{"aud":"https://management.core.windows.net/","iss":"https://sts.windows.net/f6010a4e-4ad2-4bd0-af2a-5c6ee2cd724a/","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"{upn}","http://schemas.microsoft.com/identity/claims/tenantid":"f6010a4e-4ad2-4bd0-af2a-5c6ee2cd724a","ipaddr":"{ip}","name":"{upn}","ver":"1.0"}}}},"level":"Information","location":"global","properties":{{"eventDataId":"{event_data_id}","entity":"{entity}","message":"{op}","hierarchy":"f6010a4e-4ad2-4bd0-af2a-5c6ee2cd724a/{sub}","statusCode":"{status}","eventCategory":"{cat}"}}}}"#,
        time = utc(at, 7, r.below(10_000)),
        opname = op.operation.to_ascii_uppercase(),
        cat = op.category,
        dur = if phase == "Start" {
            0
        } else {
            100 + r.below(60_000)
        },
        ip = op.caller.1,
        corr = op.correlation,
        op = op.operation,
        sub = op.sub,
        upn = op.caller.0,
    );
    event_data_id
}

const AZURE_CALLERS: [(&str, &str); 4] = [
    ("alice@northwindlabs.example", "198.51.100.23"),
    ("deploy-bot@northwindlabs.example", "198.51.100.77"),
    ("carol@northwindlabs.example", "198.51.100.61"),
    ("dan@northwindlabs.example", "198.51.100.62"),
];

/// Azure file `k`: subscription `k % AZURE_SUBS`, hour `k / AZURE_SUBS`.
pub(super) fn azure_file(
    seed: u64,
    k: u64,
    subs: &[String],
    chains: &[(u64, u64)],
) -> (String, Vec<Vec<u8>>, Vec<PlantedChain>) {
    let sub = &subs[(k % AZURE_SUBS) as usize];
    let hour_start = DAY0_MS + (k / AZURE_SUBS) as i64 * 3_600_000;
    let (y, m, d, hh, _) = date_parts(hour_start);
    let path = format!(
        "insights-activity-logs/resourceId=/SUBSCRIPTIONS/{}/y={y:04}/m={m:02}/d={d:02}/h={hh:02}/m=00/PT1H.json",
        sub.to_ascii_uppercase()
    );
    let mut r = Rng::new(seed, 6, k);
    let total: u64 = AZURE_MIX.iter().map(|m| m.2).sum();
    let mut timed: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut planted = Vec::new();
    let ops = RECORDS_PER_FILE / 2;
    for _ in 0..ops {
        let idx = r.pick(total, AZURE_MIX.iter().map(|m| m.2));
        let (operation, category, _) = AZURE_MIX[idx];
        let rg = format!("rg-app-{:02}", r.below(20));
        let object = operation.rsplit_once('/').map_or(operation, |x| x.0);
        let object = object
            .trim_end_matches("/listKeys")
            .trim_end_matches("/config/list");
        let provider_path = format!("{object}/res-{:04}", r.below(3000));
        let op = AzureOp {
            sub,
            rg,
            provider_path,
            operation,
            category,
            correlation: r.uuid(),
            caller: AZURE_CALLERS[r.below(4) as usize],
        };
        let at = hour_start + r.below(3_590_000) as i64;
        let phases: &[&str] = if category == "Policy" {
            &["Success"]
        } else {
            &["Start", "Success"]
        };
        for (i, phase) in phases.iter().enumerate() {
            let mut buf = Vec::with_capacity(1600);
            let t = at + i as i64 * 900;
            render_azure(&mut buf, &op, phase, t, &mut r);
            timed.push((t, buf));
        }
    }
    for &(c, ck) in chains {
        if ck != k {
            continue;
        }
        planted.push(plant_chain(c, sub, hour_start, &path, &mut r, &mut timed));
    }
    timed.sort_by_key(|(t, _)| *t);
    (path, timed.into_iter().map(|(_, b)| b).collect(), planted)
}

/// Chain `c` in the file `path` of subscription `sub` from `hour_start`: the attacker deallocates
/// then starts a VM, three phases each; its lines go to `timed`.
fn plant_chain(
    c: u64,
    sub: &str,
    hour_start: i64,
    path: &str,
    r: &mut Rng,
    timed: &mut Vec<(i64, Vec<u8>)>,
) -> PlantedChain {
    let vm = format!("vm-rev-{c:03}");
    let rg = "rg-prod-web".to_owned();
    let mut events = Vec::new();
    let t0 = hour_start + 60_000 + r.below(600_000) as i64;
    for (j, operation) in [
        "Microsoft.Compute/virtualMachines/deallocate/action",
        "Microsoft.Compute/virtualMachines/start/action",
    ]
    .iter()
    .enumerate()
    {
        let op = AzureOp {
            sub,
            rg: rg.clone(),
            provider_path: format!("Microsoft.Compute/virtualMachines/{vm}"),
            operation,
            category: "Administrative",
            correlation: r.uuid(),
            caller: ("mallory@northwindlabs.example", "203.0.113.66"),
        };
        for (i, phase) in ["Start", "Accept", "Success"].iter().enumerate() {
            let mut buf = Vec::with_capacity(1600);
            let t = t0 + j as i64 * 900_000 + i as i64 * 40_000;
            let id = render_azure(&mut buf, &op, phase, t, r);
            if *phase == "Start" {
                events.push(id);
            }
            timed.push((t, buf));
        }
    }
    PlantedChain {
            rule: "azure-vm-deallocate-then-start",
            cloud: "azure",
            account: sub.to_owned(),
            entity: format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}").to_ascii_lowercase(),
            events,
            file: path.to_owned(),
        }
}
