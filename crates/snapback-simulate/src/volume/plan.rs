//! Where the CloudTrail part goes: the account, region and five-minute slot of each file, its S3
//! key, and the revert chains planted across files (stop→start, restored volume attached).
//!
//! Why apart from the record writer: the plan is computed once, before any file is rendered,
//! so that every planted step knows its file and the manifest can name it; the files are then
//! rendered from the plan independently ([`super::cloudtrail`]).

use super::rng::{date_parts, Rng};
use super::{
    PlantedChain, ACCOUNTS, AWS_RECORD_BYTES, DAY0_MS, RECORDS_PER_FILE, REGIONS, SLOT_MS,
};

fn account_id(seed: u64, a: u64) -> String {
    let mut r = Rng::new(seed, 1, a);
    format!("{:012}", 100_000_000_000 + r.below(899_999_999_999))
}

/// The plan of the AWS part: file `k` is account `k % ACCOUNTS`, region `(k / ACCOUNTS) % 6`,
/// five-minute slot `k / (ACCOUNTS * 6)`.
pub(super) struct AwsPlan {
    pub(super) seed: u64,
    pub(super) files: u64,
    pub(super) accounts: Vec<String>,
    /// (file index, chain number) of every planted step, sorted by file.
    pub(super) plants: Vec<(u64, AwsStep)>,
}

#[derive(Clone, Debug)]
pub(super) enum AwsStep {
    Stop {
        chain: u64,
        instance: String,
        event: String,
        at: i64,
    },
    Start {
        chain: u64,
        instance: String,
        event: String,
        at: i64,
    },
    CreateVolume {
        chain: u64,
        volume: String,
        snapshot: String,
        event: String,
        at: i64,
    },
    AttachVolume {
        chain: u64,
        volume: String,
        instance: String,
        event: String,
        at: i64,
    },
}

pub(super) fn slot_start(k: u64) -> i64 {
    DAY0_MS + (k / (ACCOUNTS * REGIONS.len() as u64)) as i64 * SLOT_MS
}

pub(super) fn aws_key(plan: &AwsPlan, k: u64, ext: &str) -> String {
    let account = &plan.accounts[(k % ACCOUNTS) as usize];
    let region = REGIONS[((k / ACCOUNTS) % REGIONS.len() as u64) as usize];
    let end = slot_start(k) + SLOT_MS;
    let (y, m, d, hh, mm) = date_parts(end);
    let mut r = Rng::new(plan.seed, 2, k);
    let mut tag = String::new();
    r.upper(&mut tag, 16);
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/{y:04}/{m:02}/{d:02}/{account}_CloudTrail_{region}_{y:04}{m:02}{d:02}T{hh:02}{mm:02}Z_{tag}.{ext}"
    )
}

pub(super) fn aws_plan(seed: u64, bytes: u64) -> (AwsPlan, Vec<PlantedChain>) {
    let files = bytes.div_ceil(RECORDS_PER_FILE * AWS_RECORD_BYTES).max(1);
    let accounts: Vec<String> = (0..ACCOUNTS).map(|a| account_id(seed, a)).collect();
    let per_slot = ACCOUNTS * REGIONS.len() as u64;
    let n_chains = (files / 40).clamp(4, 400);
    let mut plants = Vec::new();
    let mut chains = Vec::new();
    for c in 0..n_chains {
        let mut r = Rng::new(seed, 3, c);
        let k = (c * files / n_chains + r.below((files / n_chains).max(1))).min(files - 1);
        // The second step goes to the same account and region five minutes later when the
        // trail has that file, else into the same file.
        let k2 = if k + per_slot < files {
            k + per_slot
        } else {
            k
        };
        let t1 = slot_start(k) + 30_000 + r.below(200_000) as i64;
        let t2 = slot_start(k2) + 250_000 + r.below(40_000) as i64;
        let account = plans_account(&accounts, k);
        let region = REGIONS[((k / ACCOUNTS) % REGIONS.len() as u64) as usize];
        let instance = r.ec2("i");
        let (e1, e2) = (r.uuid(), r.uuid());
        let file = String::new();
        if c % 2 == 0 {
            plants.push((
                k,
                AwsStep::Stop {
                    chain: c,
                    instance: instance.clone(),
                    event: e1.clone(),
                    at: t1,
                },
            ));
            plants.push((
                k2,
                AwsStep::Start {
                    chain: c,
                    instance: instance.clone(),
                    event: e2.clone(),
                    at: t2,
                },
            ));
            chains.push(PlantedChain {
                rule: "aws-ec2-stop-then-start",
                cloud: "aws",
                account: format!("{account}/{region}"),
                entity: instance,
                events: vec![e1, e2],
                file,
            });
        } else {
            let volume = r.ec2("vol");
            let snapshot = r.ec2("snap");
            plants.push((
                k,
                AwsStep::CreateVolume {
                    chain: c,
                    volume: volume.clone(),
                    snapshot,
                    event: e1.clone(),
                    at: t1,
                },
            ));
            plants.push((
                k2,
                AwsStep::AttachVolume {
                    chain: c,
                    volume: volume.clone(),
                    instance,
                    event: e2.clone(),
                    at: t2,
                },
            ));
            chains.push(PlantedChain {
                rule: "aws-ebs-restored-volume-attached",
                cloud: "aws",
                account: format!("{account}/{region}"),
                entity: volume,
                events: vec![e1, e2],
                file,
            });
        }
    }
    plants.sort_by_key(|(k, _)| *k);
    let plan = AwsPlan {
        seed,
        files,
        accounts,
        plants,
    };
    name_files(&plan, &mut chains);
    (plan, chains)
}

/// Sets each chain's `file` to the key (in the `json` tree) of the file of its first step.
fn name_files(plan: &AwsPlan, chains: &mut [PlantedChain]) {
    for (i, c) in chains.iter_mut().enumerate() {
        let k = plan
            .plants
            .iter()
            .find(|(_, s)| step_chain(s) == i as u64)
            .map(|(k, _)| *k)
            .unwrap_or(0);
        c.file = aws_key(plan, k, "json");
    }
}

pub(super) fn plans_account(accounts: &[String], k: u64) -> &str {
    &accounts[(k % ACCOUNTS) as usize]
}

fn step_chain(s: &AwsStep) -> u64 {
    match s {
        AwsStep::Stop { chain, .. }
        | AwsStep::Start { chain, .. }
        | AwsStep::CreateVolume { chain, .. }
        | AwsStep::AttachVolume { chain, .. } => *chain,
    }
}
