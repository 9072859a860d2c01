//! The Google Cloud part of the volume corpus: audit-log sink lines by project and hour, with
//! instance stop→start chains (first and last operation entries) planted in chosen files.
//!
//! Why apart: the `protoPayload` schema, the long-running operation entries and the sink's
//! layout are Google Cloud's own; only the seeded stream ([`super::rng`]) is shared.

use std::io::Write as _;

use super::rng::{date_parts, utc, Rng};
use super::{PlantedChain, DAY0_MS, RECORDS_PER_FILE};

const GCP_PROJECTS: u64 = 4;
const GCP_MIX: [(&str, &str, bool, u64); 6] = [
    ("storage.googleapis.com", "storage.objects.get", true, 50),
    ("storage.googleapis.com", "storage.objects.list", true, 20),
    (
        "compute.googleapis.com",
        "v1.compute.instances.setLabels",
        false,
        8,
    ),
    (
        "compute.googleapis.com",
        "v1.compute.firewalls.patch",
        false,
        4,
    ),
    (
        "iam.googleapis.com",
        "google.iam.admin.v1.GetServiceAccount",
        true,
        10,
    ),
    (
        "container.googleapis.com",
        "io.k8s.core.v1.pods.get",
        true,
        20,
    ),
];

struct GcpEntry<'a> {
    project: &'a str,
    service: &'a str,
    method: &'a str,
    resource: String,
    principal: &'a str,
    ip: &'a str,
    operation: Option<(&'a str, bool)>,
    data_access: bool,
}

fn render_gcp(out: &mut Vec<u8>, e: &GcpEntry<'_>, at: i64, r: &mut Rng) -> String {
    let mut insert = String::from("-");
    r.hex(&mut insert, 12);
    let log = if e.data_access {
        "data_access"
    } else {
        "activity"
    };
    let _ = write!(
        out,
        r#"{{"insertId":"{insert}","logName":"projects/{p}/logs/cloudaudit.googleapis.com%2F{log}","#,
        p = e.project
    );
    if let Some((id, first)) = e.operation {
        let _ = write!(
            out,
            r#""operation":{{"id":"{id}","producer":"{svc}","{which}":true}},"#,
            svc = e.service,
            which = if first { "first" } else { "last" }
        );
    }
    let _ = write!(
        out,
        r#""protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{{"principalEmail":"{who}"}},"authorizationInfo":[{{"granted":true,"permission":"{perm}","resource":"{res}"}}],"methodName":"{method}","requestMetadata":{{"callerIp":"{ip}","callerSuppliedUserAgent":"google-cloud-sdk gcloud/497.0.0 command/gcloud.compute","requestAttributes":{{}},"destinationAttributes":{{}}}},"resourceName":"{res}","serviceName":"{svc}","status":{{}}}},"receiveTimestamp":"{recv}","resource":{{"labels":{{"project_id":"{p}"}},"type":"{rtype}"}},"severity":"{sev}","timestamp":"{time}"}}"#,
        who = e.principal,
        perm = e.method.trim_start_matches("v1."),
        res = e.resource,
        method = e.method,
        ip = e.ip,
        svc = e.service,
        recv = utc(at + 400, 9, r.below(1_000_000)),
        p = e.project,
        rtype = if e.service == "compute.googleapis.com" {
            "gce_instance"
        } else {
            "audited_resource"
        },
        sev = if e.data_access { "INFO" } else { "NOTICE" },
        time = utc(at, 6, r.below(1000)),
    );
    insert
}

pub(super) fn gcp_file(
    seed: u64,
    k: u64,
    chains: &[(u64, u64)],
) -> (String, Vec<Vec<u8>>, Vec<PlantedChain>) {
    let project = format!("northwind-prod-{:04}", 1000 + (k % GCP_PROJECTS) * 37);
    let hour_start = DAY0_MS + (k / GCP_PROJECTS) as i64 * 3_600_000;
    let (y, m, d, hh, _) = date_parts(hour_start);
    let path = format!(
        "gcp/{project}/cloudaudit.googleapis.com/activity/{y:04}/{m:02}/{d:02}/{hh:02}:00:00_{hh:02}:59:59_S0.json"
    );
    let mut r = Rng::new(seed, 7, k);
    let total: u64 = GCP_MIX.iter().map(|m| m.3).sum();
    let mut timed: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut planted = Vec::new();
    for _ in 0..RECORDS_PER_FILE {
        let idx = r.pick(total, GCP_MIX.iter().map(|m| m.3));
        let (service, method, read, _) = GCP_MIX[idx];
        let resource = match service {
            "storage.googleapis.com" => format!(
                "projects/_/buckets/{project}-lake/objects/raw/part-{:05}.avro",
                r.below(50_000)
            ),
            "compute.googleapis.com" => format!(
                "projects/{project}/zones/us-central1-a/instances/worker-{}",
                r.below(400)
            ),
            _ => format!(
                "projects/{project}/serviceAccounts/app-{}@{project}.iam.gserviceaccount.com",
                r.below(30)
            ),
        };
        let e = GcpEntry {
            project: &project,
            service,
            method,
            resource,
            principal: [
                "etl@northwindlabs.example",
                "svc-app@northwind.iam.gserviceaccount.com",
                "erin@northwindlabs.example",
            ][r.below(3) as usize],
            ip: "198.51.100.90",
            operation: None,
            data_access: read,
        };
        let at = hour_start + r.below(3_590_000) as i64;
        let mut buf = Vec::with_capacity(1400);
        render_gcp(&mut buf, &e, at, &mut r);
        timed.push((at, buf));
    }
    for &(c, ck) in chains {
        if ck != k {
            continue;
        }
        planted.push(plant_chain(
            c, &project, hour_start, &path, &mut r, &mut timed,
        ));
    }
    timed.sort_by_key(|(t, _)| *t);
    (path, timed.into_iter().map(|(_, b)| b).collect(), planted)
}

/// Chain `c` in the file `path` of `project` from `hour_start`: the attacker stops then starts
/// an instance, a first and a last operation entry each; its lines go to `timed`.
fn plant_chain(
    c: u64,
    project: &str,
    hour_start: i64,
    path: &str,
    r: &mut Rng,
    timed: &mut Vec<(i64, Vec<u8>)>,
) -> PlantedChain {
    let resource = format!("projects/{project}/zones/us-central1-a/instances/cache-rev-{c:03}");
    let t0 = hour_start + 60_000 + r.below(600_000) as i64;
    let mut events = Vec::new();
    for (j, method) in ["v1.compute.instances.stop", "v1.compute.instances.start"]
        .iter()
        .enumerate()
    {
        let mut opid = String::from("operation-");
        r.hex(&mut opid, 24);
        for (i, first) in [true, false].iter().enumerate() {
            let e = GcpEntry {
                project,
                service: "compute.googleapis.com",
                method,
                resource: resource.clone(),
                principal: "mallory@northwindlabs.example",
                ip: "203.0.113.66",
                operation: Some((&opid, *first)),
                data_access: false,
            };
            let t = t0 + j as i64 * 600_000 + i as i64 * 30_000;
            let mut buf = Vec::with_capacity(1400);
            let id = render_gcp(&mut buf, &e, t, r);
            if *first {
                events.push(id);
            }
            timed.push((t, buf));
        }
    }
    PlantedChain {
        rule: "gcp-instance-stop-then-start",
        cloud: "gcp",
        account: project.to_owned(),
        entity: resource,
        events,
        file: path.to_owned(),
    }
}
