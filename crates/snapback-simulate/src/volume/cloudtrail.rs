//! The CloudTrail records of the volume corpus: the weighted mix of everyday calls, the
//! attacker's planted steps, and their rendering straight into bytes.
//!
//! Why templates and not `serde_json::Value`: a benchmark corpus runs to gigabytes, and
//! formatting each record into a byte buffer is what keeps 2 GiB under a minute.

use std::io::Write as _;

use super::plan::{plans_account, slot_start, AwsPlan, AwsStep};
use super::rng::{utc, Rng};
use super::{ACCOUNTS, RECORDS_PER_FILE, REGIONS, SLOT_MS};

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
    let idx = r.pick(total_weight, AWS_MIX.iter().map(|m| m.3));
    let (service, name, read_only, _) = AWS_MIX[idx];
    let principal = AWS_PRINCIPALS[r.below(AWS_PRINCIPALS.len() as u64) as usize];
    let instance = format!(
        "i-0{:016x}",
        r.below(5_000) * 0x9E37_79B9 + (account.len() as u64)
    );
    let bucket = format!("{account}-data-{}", r.below(12));
    let key = format!("landing/2026/11/20/part-{:05}.parquet", r.below(40_000));
    let (request, response, data_event, resources) =
        noise_payload(name, r, account, region, &instance, &bucket, &key);
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

/// The request and response of an everyday call `name` on `instance` or `bucket`/`key`, whether
/// it is an S3 data event, and the `resources` of data and KMS calls (else empty).
fn noise_payload(
    name: &str,
    r: &mut Rng,
    account: &str,
    region: &str,
    instance: &str,
    bucket: &str,
    key: &str,
) -> (String, String, bool, String) {
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
    (request, response, data_event, resources)
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
pub(super) fn aws_file_records(plan: &AwsPlan, k: u64) -> Vec<Vec<u8>> {
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
