//! A large, realistic corpus for benchmarks: `snapback simulate --volume SIZE`.
//!
//! The atomic scenario ([`crate::records`]) is a story of 79 records; a benchmark needs
//! gigabytes shaped like a busy organisation's trails, with a few reverts hidden in them at known
//! places. Records are rendered straight into byte buffers from templates (no `serde_json::Value`
//! per record) and files are generated in parallel, each a pure function of `(seed, file index)`,
//! so the same seed gives byte-identical trees whatever the number of threads, and 2 GiB is
//! written in well under a minute.
//!
//! The operation mix follows what real trails show: most calls are read-only (`Describe*`,
//! `Get*`, `List*`), S3 data events (`GetObject`, `PutObject`), `AssumeRole`, KMS `Decrypt` and
//! `GenerateDataKey`; a few writes (`CreateTags`, security-group changes, instance launches);
//! about 2 % fail with `AccessDenied`. Revert chains (stop→start of an instance, a volume
//! created from a snapshot and attached, an Azure VM deallocated and started, a GCP instance
//! stopped and started) are planted at positions derived from the seed and listed in
//! `manifest.json`, so a harness can check that every one is alerted.
//!
//! Trees under `--out` (each chosen by `--volume-format`):
//!
//! | tree | content |
//! |---|---|
//! | `gz/AWSLogs/…/*.json.gz` | CloudTrail in the S3 layout, gzip, one `{"Records":[…]}` per file |
//! | `json/AWSLogs/…/*.json` | the same CloudTrail files uncompressed |
//! | `json/insights-activity-logs/…/PT1H.json` | Azure storage-export JSON lines (resource-log schema) |
//! | `json/gcp/cloudaudit.googleapis.com/…/*.json` | Google Cloud log-sink JSON lines |
//! | `jsonl/cloudtrail-NNN.jsonl` | the same CloudTrail records, one per line, in large files |

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use rayon::prelude::*;

/// Which trees to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeFormats {
    pub gz: bool,
    pub json: bool,
    pub jsonl: bool,
}

impl VolumeFormats {
    pub const ALL: VolumeFormats = VolumeFormats {
        gz: true,
        json: true,
        jsonl: true,
    };

    /// `all`, or a comma-separated list of `gz`, `json`, `jsonl`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut f = VolumeFormats {
            gz: false,
            json: false,
            jsonl: false,
        };
        for part in s.split(',').map(str::trim) {
            match part {
                "all" => f = VolumeFormats::ALL,
                "gz" => f.gz = true,
                "json" => f.json = true,
                "jsonl" => f.jsonl = true,
                other => {
                    return Err(format!(
                        "unknown volume format {other:?}: expected all, gz, json or jsonl"
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// Parse a size: `512MiB`, `2GiB`, `100MB`, `1048576`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?}: expected a number and a unit, e.g. 512MiB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "bad size unit {other:?} in {s:?}: use KiB, MiB or GiB"
            ))
        }
    };
    let v = n * mult;
    if v.is_nan() || v < 1.0 {
        return Err(format!("size {s:?} is too small"));
    }
    Ok(v as u64)
}

/// One planted revert chain: what must be alerted.
#[derive(Debug, Clone)]
pub struct PlantedChain {
    /// The correlation rule that must fire.
    pub rule: &'static str,
    /// `aws`, `azure`, `gcp`.
    pub cloud: &'static str,
    pub account: String,
    /// The entity the alert must name (instance id, volume id, VM resource id, instance path).
    pub entity: String,
    /// Event ids (CloudTrail `eventID`, Azure `eventDataId`, GCP `insertId`) of the steps.
    pub events: Vec<String>,
    /// Relative path (under the tree root) of the file holding the first step.
    pub file: String,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct VolumeReport {
    pub files: u64,
    /// Uncompressed bytes of the CloudTrail records (one copy).
    pub aws_bytes: u64,
    pub aws_records: u64,
    pub azure_bytes: u64,
    pub azure_records: u64,
    pub gcp_bytes: u64,
    pub gcp_records: u64,
    /// Compressed bytes of the `gz` tree.
    pub gz_bytes: u64,
    pub chains: Vec<PlantedChain>,
}

const ACCOUNTS: u64 = 24;
const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
];
const RECORDS_PER_FILE: u64 = 400;
/// Typical rendered sizes, to plan the number of files for a target size.
const AWS_RECORD_BYTES: u64 = 1_350;
const AZURE_RECORD_BYTES: u64 = 1_500;
const GCP_RECORD_BYTES: u64 = 1_300;
const JSONL_FILES_MAX_BYTES: u64 = 96 * 1024 * 1024;
/// 2026-11-20T00:00:00Z.
const DAY0_MS: i64 = 1_795_132_800_000;
const SLOT_MS: i64 = 5 * 60_000;

/// SplitMix64, as in `ids.rs`, seeded per file so that files are independent.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, index: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.rotate_left(29));
        r.next();
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, out: &mut String, n: usize) {
        const HEX: &[u8] = b"0123456789abcdef";
        let mut v = self.next();
        for i in 0..n {
            if i % 16 == 15 {
                v = self.next();
            }
            out.push(char::from(HEX[(v & 15) as usize]));
            v >>= 4;
        }
    }
    fn upper(&mut self, out: &mut String, n: usize) {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        for _ in 0..n {
            out.push(char::from(A[self.below(32) as usize]));
        }
    }
    fn uuid(&mut self) -> String {
        let mut h = String::with_capacity(32);
        self.hex(&mut h, 32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            ['8', '9', 'a', 'b'][(self.next() % 4) as usize],
            &h[17..20],
            &h[20..32]
        )
    }
    fn ec2(&mut self, prefix: &str) -> String {
        let mut s = format!("{prefix}-0");
        self.hex(&mut s, 16);
        s
    }
}

fn account_id(seed: u64, a: u64) -> String {
    let mut r = Rng::new(seed, 1, a);
    format!("{:012}", 100_000_000_000 + r.below(899_999_999_999))
}

/// RFC 3339 with whole seconds (CloudTrail), from milliseconds.
fn utc(ms: i64, frac_digits: usize, frac: u64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if frac_digits > 0 {
        let _ = write!(
            s,
            ".{:03}{:0width$}",
            ms.rem_euclid(1000),
            frac % 10u64.pow(frac_digits as u32 - 3),
            width = frac_digits - 3
        );
    }
    s.push('Z');
    s
}

fn date_parts(ms: i64) -> (i16, i8, i8, i8, i8) {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    (dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute())
}

// ---------------------------------------------------------------- AWS

/// The plan of the AWS part: file `k` is account `k % ACCOUNTS`, region `(k / ACCOUNTS) % 6`,
/// five-minute slot `k / (ACCOUNTS * 6)`.
struct AwsPlan {
    seed: u64,
    files: u64,
    accounts: Vec<String>,
    /// (file index, chain number) of every planted step, sorted by file.
    plants: Vec<(u64, AwsStep)>,
}

#[derive(Clone, Debug)]
enum AwsStep {
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

fn slot_start(k: u64) -> i64 {
    DAY0_MS + (k / (ACCOUNTS * REGIONS.len() as u64)) as i64 * SLOT_MS
}

fn aws_key(plan: &AwsPlan, k: u64, ext: &str) -> String {
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

fn aws_plan(seed: u64, bytes: u64) -> (AwsPlan, Vec<PlantedChain>) {
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
    for (i, c) in chains.iter_mut().enumerate() {
        let k = plan
            .plants
            .iter()
            .find(|(_, s)| step_chain(s) == i as u64)
            .map(|(k, _)| *k)
            .unwrap_or(0);
        c.file = aws_key(&plan, k, "json");
    }
    (plan, chains)
}

fn plans_account(accounts: &[String], k: u64) -> &str {
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

/// Who calls in the noise: (role or user, is a service, source IP, user agent).
const AWS_PRINCIPALS: [(&str, &str, &str); 8] = [
    ("assumed-role/AWSReservedSSO_ReadOnly_1a2b3c4d5e6f7a8b/analyst", "198.51.100.23", "console.amazonaws.com"),
    ("assumed-role/app-backend/i-0123456789abcdef0", "10.40.1.17", "aws-sdk-java/2.25.60 Linux/6.1.92 OpenJDK_64-Bit_Server_VM/21.0.3+9-LTS Java/21.0.3 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/standard"),
    ("assumed-role/data-pipeline/etl-runner", "10.40.2.33", "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2"),
    ("assumed-role/ci-deployer/GitHubActions-deploy", "198.51.100.77", "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.72.1"),
    ("user/dev-readonly", "198.51.100.41", "aws-cli/2.17.21 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.9"),
    ("assumed-role/monitoring/cloudwatch-exporter", "10.40.3.9", "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.12.4 cfg/retry-mode#legacy Botocore/1.34.144"),
    ("assumed-role/lambda-thumbnailer/thumbnailer", "10.40.4.51", "aws-sdk-nodejs/3.614.0 linux/v20.15.1 exec-env/AWS_Lambda_nodejs20.x"),
    ("assumed-role/platform-engineer/bob", "198.51.100.52", "aws-cli/2.17.21 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9"),
];

/// (service, eventName, read-only, weight); data events are S3 object calls.
const AWS_MIX: [(&str, &str, bool, u64); 22] = [
    ("ec2", "DescribeInstances", true, 140),
    ("ec2", "DescribeInstanceStatus", true, 60),
    ("ec2", "DescribeVolumes", true, 50),
    ("ec2", "DescribeSnapshots", true, 30),
    ("ec2", "DescribeSecurityGroups", true, 40),
    ("ec2", "DescribeNetworkInterfaces", true, 20),
    ("s3", "GetObject", true, 200),
    ("s3", "PutObject", false, 80),
    ("s3", "HeadObject", true, 40),
    ("s3", "ListObjects", true, 40),
    ("sts", "AssumeRole", true, 80),
    ("sts", "GetCallerIdentity", true, 30),
    ("kms", "Decrypt", true, 80),
    ("kms", "GenerateDataKey", true, 50),
    ("iam", "GetRole", true, 15),
    ("iam", "ListRoles", true, 8),
    ("ssm", "GetParameter", true, 30),
    ("logs", "DescribeLogGroups", true, 10),
    ("ec2", "CreateTags", false, 6),
    ("ec2", "AuthorizeSecurityGroupIngress", false, 2),
    ("ec2", "RunInstances", false, 2),
    ("ec2", "TerminateInstances", false, 2),
];

struct AwsCall<'a> {
    account: &'a str,
    region: &'a str,
    at: i64,
    service: &'a str,
    name: &'a str,
    read_only: bool,
    principal: (&'a str, &'a str, &'a str),
    request: String,
    response: String,
    error: Option<(&'a str, &'a str)>,
    data_event: bool,
    event_id: String,
    request_id: String,
    resources: String,
}

fn render_aws(out: &mut Vec<u8>, c: &AwsCall<'_>) {
    let (who, ip, agent) = c.principal;
    let arn = if who.starts_with("user/") {
        format!("arn:aws:iam::{}:{who}", c.account)
    } else {
        format!("arn:aws:sts::{}:{who}", c.account)
    };
    let kind = if who.starts_with("user/") {
        "IAMUser"
    } else {
        "AssumedRole"
    };
    let _ = write!(
        out,
        r#"{{"eventVersion":"1.10","userIdentity":{{"type":"{kind}","principalId":"AROA5EXAMPLE7ROLE{n}:{sess}","arn":"{arn}","accountId":"{acct}","accessKeyId":"ASIA5EXAMPLE{key:08X}"}},"eventTime":"{time}","eventSource":"{svc}.amazonaws.com","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"{agent}","#,
        n = who.len(),
        sess = who.rsplit('/').next().unwrap_or(who),
        acct = c.account,
        key = (c.at as u64 / 3_600_000) ^ who.len() as u64,
        time = utc(c.at, 0, 0),
        svc = c.service,
        name = c.name,
        region = c.region,
    );
    if let Some((code, message)) = c.error {
        let _ = write!(out, r#""errorCode":"{code}","errorMessage":"{message}","#);
    }
    let _ = write!(
        out,
        r#""requestParameters":{},"responseElements":{},"requestID":"{}","eventID":"{}","readOnly":{},"#,
        c.request,
        if c.error.is_some() {
            "null"
        } else {
            &c.response
        },
        c.request_id,
        c.event_id,
        c.read_only
    );
    if !c.resources.is_empty() {
        let _ = write!(out, r#""resources":{},"#, c.resources);
    }
    let _ = write!(
        out,
        r#""eventType":"AwsApiCall","managementEvent":{},"recipientAccountId":"{}","eventCategory":"{}","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{}.{}.amazonaws.com"}}}}"#,
        !c.data_event,
        c.account,
        if c.data_event { "Data" } else { "Management" },
        c.service,
        c.region
    );
}

fn aws_noise<'a>(
    r: &mut Rng,
    account: &'a str,
    region: &'a str,
    at: i64,
    total_weight: u64,
) -> AwsCall<'a> {
    let mut pick = r.below(total_weight);
    let mut idx = 0;
    for (i, (_, _, _, w)) in AWS_MIX.iter().enumerate() {
        if pick < *w {
            idx = i;
            break;
        }
        pick -= w;
    }
    let (service, name, read_only, _) = AWS_MIX[idx];
    let principal = AWS_PRINCIPALS[r.below(AWS_PRINCIPALS.len() as u64) as usize];
    let instance = format!(
        "i-0{:016x}",
        r.below(5_000) * 0x9E37_79B9 + (account.len() as u64)
    );
    let bucket = format!("{account}-data-{}", r.below(12));
    let key = format!("landing/2026/11/20/part-{:05}.parquet", r.below(40_000));
    let mut data_event = false;
    let mut resources = String::new();
    let (request, response) = match name {
        "DescribeInstances" | "DescribeInstanceStatus" => (
            format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{instance}"}}]}},"filterSet":{{}},"includeAllInstances":false}}"#),
            "null".to_owned(),
        ),
        "DescribeVolumes" => (
            format!(r#"{{"volumeSet":{{}},"filterSet":{{"items":[{{"name":"attachment.instance-id","valueSet":{{"items":[{{"value":"{instance}"}}]}}}}]}}}}"#),
            "null".to_owned(),
        ),
        "DescribeSnapshots" => (
            r#"{"snapshotSet":{},"ownersSet":{"items":[{"owner":"self"}]},"sharedUsersSet":{},"filterSet":{}}"#.to_owned(),
            "null".to_owned(),
        ),
        "DescribeSecurityGroups" | "DescribeNetworkInterfaces" => (
            r#"{"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}}"#.to_owned(),
            "null".to_owned(),
        ),
        "GetObject" | "PutObject" | "HeadObject" | "ListObjects" => {
            data_event = true;
            resources = format!(
                r#"[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::{bucket}/{key}"}},{{"accountId":"{account}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::{bucket}"}}]"#
            );
            (
                format!(r#"{{"bucketName":"{bucket}","Host":"{bucket}.s3.{region}.amazonaws.com","key":"{key}"}}"#),
                "null".to_owned(),
            )
        }
        "AssumeRole" => {
            let session = r.below(1_000_000);
            (
                format!(r#"{{"roleArn":"arn:aws:iam::{account}:role/app-backend","roleSessionName":"session-{session}","durationSeconds":3600}}"#),
                format!(r#"{{"credentials":{{"accessKeyId":"ASIA5EXAMPLE{session:08}","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLE{session}","expiration":"Nov 20, 2026, 11:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROA5EXAMPLEAPPBACKEND:session-{session}","arn":"arn:aws:sts::{account}:assumed-role/app-backend/session-{session}"}}}}"#),
            )
        }
        "Decrypt" | "GenerateDataKey" => {
            let kid = r.below(6);
            resources = format!(
                r#"[{{"accountId":"{account}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{region}:{account}:key/1f0e{kid:04}-7c3b-4d2a-9e1f-5a6b7c8d9e0f"}}]"#
            );
            (
                format!(r#"{{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{{"aws:s3:arn":"arn:aws:s3:::{bucket}/{key}"}}}}"#),
                "null".to_owned(),
            )
        }
        "CreateTags" => (
            format!(r#"{{"resourcesSet":{{"items":[{{"resourceId":"{instance}"}}]}},"tagSet":{{"items":[{{"key":"cost-center","value":"cc-{}"}}]}}}}"#, r.below(90)),
            r#"{"_return":true}"#.to_owned(),
        ),
        "AuthorizeSecurityGroupIngress" => (
            format!(r#"{{"groupId":"sg-0{:016x}","ipPermissions":{{"items":[{{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{{"items":[{{"cidrIp":"10.0.0.0/8"}}]}}}}]}}}}"#, r.below(1 << 40)),
            r#"{"_return":true}"#.to_owned(),
        ),
        "RunInstances" => {
            let new = r.ec2("i");
            (
                r#"{"instancesSet":{"items":[{"imageId":"ami-08bf3b54df9c3cb31","minCount":1,"maxCount":1}]},"instanceType":"t3.medium","blockDeviceMapping":{},"monitoring":{"enabled":false},"disableApiTermination":false}"#.to_owned(),
                format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{new}","imageId":"ami-08bf3b54df9c3cb31","instanceState":{{"code":0,"name":"pending"}},"instanceType":"t3.medium"}}]}}}}"#),
            )
        }
        "TerminateInstances" => (
            format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{instance}"}}]}}}}"#),
            format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{instance}","currentState":{{"code":32,"name":"shutting-down"}},"previousState":{{"code":16,"name":"running"}}}}]}}}}"#),
        ),
        _ => (r#"{"name":"/app/config/feature-flags","withDecryption":true}"#.to_owned(), "null".to_owned()),
    };
    let error = (r.below(50) == 0).then_some((
        "AccessDenied",
        "User is not authorized to perform this operation",
    ));
    AwsCall {
        account,
        region,
        at,
        service,
        name,
        read_only,
        principal,
        request,
        response,
        error,
        data_event,
        event_id: r.uuid(),
        request_id: r.uuid(),
        resources,
    }
}

const ATTACKER: (&str, &str, &str) = (
    "assumed-role/ec2-maintenance/mallory",
    "203.0.113.66",
    "aws-cli/2.17.21 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.9",
);

fn aws_planted<'a>(s: &AwsStep, account: &'a str, region: &'a str, r: &mut Rng) -> AwsCall<'a> {
    let (name, at, event, request, response) = match s {
        AwsStep::Stop {
            instance,
            event,
            at,
            ..
        } => (
            "StopInstances",
            *at,
            event,
            format!(
                r#"{{"instancesSet":{{"items":[{{"instanceId":"{instance}"}}]}},"force":false}}"#
            ),
            format!(
                r#"{{"instancesSet":{{"items":[{{"instanceId":"{instance}","currentState":{{"code":64,"name":"stopping"}},"previousState":{{"code":16,"name":"running"}}}}]}}}}"#
            ),
        ),
        AwsStep::Start {
            instance,
            event,
            at,
            ..
        } => (
            "StartInstances",
            *at,
            event,
            format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{instance}"}}]}}}}"#),
            format!(
                r#"{{"instancesSet":{{"items":[{{"instanceId":"{instance}","currentState":{{"code":0,"name":"pending"}},"previousState":{{"code":80,"name":"stopped"}}}}]}}}}"#
            ),
        ),
        AwsStep::CreateVolume {
            volume,
            snapshot,
            event,
            at,
            ..
        } => (
            "CreateVolume",
            *at,
            event,
            format!(
                r#"{{"snapshotId":"{snapshot}","availabilityZone":"{region}a","volumeType":"gp3","encrypted":false}}"#
            ),
            format!(
                r#"{{"volumeId":"{volume}","size":"8","snapshotId":"{snapshot}","availabilityZone":"{region}a","status":"creating","volumeType":"gp3","encrypted":false}}"#
            ),
        ),
        AwsStep::AttachVolume {
            volume,
            instance,
            event,
            at,
            ..
        } => (
            "AttachVolume",
            *at,
            event,
            format!(r#"{{"volumeId":"{volume}","instanceId":"{instance}","device":"/dev/sdf"}}"#),
            format!(
                r#"{{"volumeId":"{volume}","instanceId":"{instance}","device":"/dev/sdf","status":"attaching","deleteOnTermination":false}}"#
            ),
        ),
    };
    AwsCall {
        account,
        region,
        at,
        service: "ec2",
        name,
        read_only: false,
        principal: ATTACKER,
        request,
        response,
        error: None,
        data_event: false,
        event_id: event.clone(),
        request_id: r.uuid(),
        resources: String::new(),
    }
}

/// The records of AWS file `k`, each rendered, in file order (planted steps at seeded places).
fn aws_file_records(plan: &AwsPlan, k: u64) -> Vec<Vec<u8>> {
    let account = plans_account(&plan.accounts, k);
    let region = REGIONS[((k / ACCOUNTS) % REGIONS.len() as u64) as usize];
    let start = slot_start(k);
    let total: u64 = AWS_MIX.iter().map(|m| m.3).sum();
    let mut r = Rng::new(plan.seed, 4, k);
    let mut out = Vec::with_capacity(RECORDS_PER_FILE as usize + 2);
    for _ in 0..RECORDS_PER_FILE {
        let at = start + r.below(SLOT_MS as u64) as i64;
        let call = aws_noise(&mut r, account, region, at, total);
        let mut buf = Vec::with_capacity(1600);
        render_aws(&mut buf, &call);
        out.push(buf);
    }
    let lo = plan.plants.partition_point(|(f, _)| *f < k);
    for (_, s) in plan.plants[lo..].iter().take_while(|(f, _)| *f == k) {
        let call = aws_planted(s, account, region, &mut r);
        let mut buf = Vec::with_capacity(1600);
        render_aws(&mut buf, &call);
        let at = r.below(out.len() as u64 + 1) as usize;
        out.insert(at, buf);
    }
    out
}

// ---------------------------------------------------------------- Azure

const AZURE_SUBS: u64 = 6;
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

fn azure_sub(seed: u64, s: u64) -> String {
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
fn azure_file(
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
        let mut pick = r.below(total);
        let mut idx = 0;
        for (i, (_, _, w)) in AZURE_MIX.iter().enumerate() {
            if pick < *w {
                idx = i;
                break;
            }
            pick -= w;
        }
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
                let id = render_azure(&mut buf, &op, phase, t, &mut r);
                if *phase == "Start" {
                    events.push(id);
                }
                timed.push((t, buf));
            }
        }
        planted.push(PlantedChain {
            rule: "azure-vm-deallocate-then-start",
            cloud: "azure",
            account: sub.clone(),
            entity: format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}").to_ascii_lowercase(),
            events,
            file: path.clone(),
        });
    }
    timed.sort_by_key(|(t, _)| *t);
    (path, timed.into_iter().map(|(_, b)| b).collect(), planted)
}

// ---------------------------------------------------------------- GCP

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

fn gcp_file(seed: u64, k: u64, chains: &[(u64, u64)]) -> (String, Vec<Vec<u8>>, Vec<PlantedChain>) {
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
        let mut pick = r.below(total);
        let mut idx = 0;
        for (i, (_, _, _, w)) in GCP_MIX.iter().enumerate() {
            if pick < *w {
                idx = i;
                break;
            }
            pick -= w;
        }
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
                    project: &project,
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
                let id = render_gcp(&mut buf, &e, t, &mut r);
                if *first {
                    events.push(id);
                }
                timed.push((t, buf));
            }
        }
        planted.push(PlantedChain {
            rule: "gcp-instance-stop-then-start",
            cloud: "gcp",
            account: project.clone(),
            entity: resource,
            events,
            file: path.clone(),
        });
    }
    timed.sort_by_key(|(t, _)| *t);
    (path, timed.into_iter().map(|(_, b)| b).collect(), planted)
}

// ---------------------------------------------------------------- writing

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, bytes)
}

fn records_container(records: &[Vec<u8>]) -> Vec<u8> {
    let len: usize = records.iter().map(|r| r.len() + 1).sum();
    let mut out = Vec::with_capacity(len + 16);
    out.extend_from_slice(b"{\"Records\":[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.extend_from_slice(b"]}");
    out
}

fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    // No name and mtime 0, as in the atomic layout: same seed, same bytes.
    let mut enc: GzEncoder<Vec<u8>> = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(bytes.len() / 8), Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

/// Write a volume corpus of about `size` bytes (uncompressed, one copy of each record) under
/// `out`. CloudTrail takes 80 %, Azure and Google Cloud 10 % each.
pub fn write_volume(
    size: u64,
    seed: u64,
    formats: VolumeFormats,
    out: &Path,
) -> io::Result<VolumeReport> {
    let aws_target = size / 10 * 8;
    let (plan, mut chains) = aws_plan(seed, aws_target);
    let mut report = VolumeReport::default();

    // CloudTrail: files in parallel; the JSON-lines tree groups consecutive files.
    let per_group = (JSONL_FILES_MAX_BYTES / (RECORDS_PER_FILE * AWS_RECORD_BYTES)).max(1);
    let groups = plan.files.div_ceil(per_group);
    let results: Vec<io::Result<(u64, u64, u64, u64)>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut lines: Vec<u8> = Vec::new();
            let (mut bytes, mut recs, mut gz_bytes, mut files) = (0u64, 0u64, 0u64, 0u64);
            for k in g * per_group..((g + 1) * per_group).min(plan.files) {
                let records = aws_file_records(&plan, k);
                recs += records.len() as u64;
                let container = records_container(&records);
                bytes += container.len() as u64;
                if formats.json {
                    write_file(
                        &out.join("json").join(aws_key(&plan, k, "json")),
                        &container,
                    )?;
                    files += 1;
                }
                if formats.gz {
                    let gz = gzip(&container)?;
                    gz_bytes += gz.len() as u64;
                    write_file(&out.join("gz").join(aws_key(&plan, k, "json.gz")), &gz)?;
                    files += 1;
                }
                if formats.jsonl {
                    for r in &records {
                        lines.extend_from_slice(r);
                        lines.push(b'\n');
                    }
                }
            }
            if formats.jsonl {
                write_file(
                    &out.join("jsonl").join(format!("cloudtrail-{g:04}.jsonl")),
                    &lines,
                )?;
                files += 1;
            }
            Ok((bytes, recs, gz_bytes, files))
        })
        .collect();
    for r in results {
        let (b, n, gz, f) = r?;
        report.aws_bytes += b;
        report.aws_records += n;
        report.gz_bytes += gz;
        report.files += f;
    }

    if formats.json {
        // Azure: files by subscription and hour; GCP: by project and hour.
        let subs: Vec<String> = (0..AZURE_SUBS).map(|s| azure_sub(seed, s)).collect();
        let az_files = (size / 10)
            .div_ceil(RECORDS_PER_FILE * AZURE_RECORD_BYTES)
            .max(1);
        let az_chains: Vec<(u64, u64)> = (0..(az_files / 4).clamp(2, 100))
            .map(|c| (c, (c * 7919 + seed % 13) % az_files))
            .collect();
        let gcp_files = (size / 10)
            .div_ceil(RECORDS_PER_FILE * GCP_RECORD_BYTES)
            .max(1);
        let gcp_chains: Vec<(u64, u64)> = (0..(gcp_files / 4).clamp(2, 100))
            .map(|c| (c, (c * 7907 + seed % 11) % gcp_files))
            .collect();
        let az: Vec<io::Result<(u64, u64, Vec<PlantedChain>)>> = (0..az_files)
            .into_par_iter()
            .map(|k| {
                let (path, lines, planted) = azure_file(seed, k, &subs, &az_chains);
                let mut buf = Vec::new();
                for l in &lines {
                    buf.extend_from_slice(l);
                    buf.push(b'\n');
                }
                write_file(&out.join("json").join(&path), &buf)?;
                Ok((buf.len() as u64, lines.len() as u64, planted))
            })
            .collect();
        for r in az {
            let (b, n, p) = r?;
            report.azure_bytes += b;
            report.azure_records += n;
            report.files += 1;
            chains.extend(p);
        }
        let gcp: Vec<io::Result<(u64, u64, Vec<PlantedChain>)>> = (0..gcp_files)
            .into_par_iter()
            .map(|k| {
                let (path, lines, planted) = gcp_file(seed, k, &gcp_chains);
                let mut buf = Vec::new();
                for l in &lines {
                    buf.extend_from_slice(l);
                    buf.push(b'\n');
                }
                write_file(&out.join("json").join(&path), &buf)?;
                Ok((buf.len() as u64, lines.len() as u64, planted))
            })
            .collect();
        for r in gcp {
            let (b, n, p) = r?;
            report.gcp_bytes += b;
            report.gcp_records += n;
            report.files += 1;
            chains.extend(p);
        }
    }
    report.chains = chains;
    write_file(
        &out.join("manifest.json"),
        manifest(&report, seed, size, formats).as_bytes(),
    )?;
    Ok(report)
}

fn manifest(report: &VolumeReport, seed: u64, size: u64, formats: VolumeFormats) -> String {
    let chains: Vec<serde_json::Value> = report
        .chains
        .iter()
        .map(|c| {
            serde_json::json!({
                "rule": c.rule,
                "cloud": c.cloud,
                "account": c.account,
                "entity": c.entity,
                "events": c.events,
                "file": c.file,
                "trees": if c.cloud == "aws" {
                    let mut t = Vec::new();
                    if formats.gz { t.push("gz"); }
                    if formats.json { t.push("json"); }
                    if formats.jsonl { t.push("jsonl"); }
                    t
                } else {
                    vec!["json"]
                },
            })
        })
        .collect();
    let v = serde_json::json!({
        "seed": seed,
        "size": size,
        "aws": {"bytes": report.aws_bytes, "records": report.aws_records, "gz_bytes": report.gz_bytes},
        "azure": {"bytes": report.azure_bytes, "records": report.azure_records},
        "gcp": {"bytes": report.gcp_bytes, "records": report.gcp_records},
        "chains": chains,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Where the trees are, for callers that print them.
pub fn volume_trees(out: &Path, formats: VolumeFormats) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if formats.gz {
        v.push(out.join("gz"));
    }
    if formats.json {
        v.push(out.join("json"));
    }
    if formats.jsonl {
        v.push(out.join("jsonl"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("100MB").unwrap(), 100_000_000);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn records_are_json_and_deterministic() {
        let (plan, chains) = aws_plan(7, 4 << 20);
        assert!(chains.len() >= 4);
        let a = aws_file_records(&plan, 0);
        assert_eq!(a, aws_file_records(&plan, 0));
        for r in &a {
            let v: serde_json::Value = serde_json::from_slice(r).expect("valid JSON");
            assert!(v["eventName"].is_string());
        }
        let subs: Vec<String> = (0..AZURE_SUBS).map(|s| azure_sub(7, s)).collect();
        let (_, lines, planted) = azure_file(7, 0, &subs, &[(0, 0)]);
        assert_eq!(planted.len(), 1);
        for l in &lines {
            serde_json::from_slice::<serde_json::Value>(l).expect("valid Azure JSON");
        }
        let (_, lines, planted) = gcp_file(7, 0, &[(0, 0)]);
        assert_eq!(planted.len(), 1);
        for l in &lines {
            serde_json::from_slice::<serde_json::Value>(l).expect("valid GCP JSON");
        }
    }
}
