//! What the pipeline's tests feed it: a CloudTrail EC2 call on instance `i-0victim`, by the
//! IAM user mallory of `account`, as one line of JSON (no newline).

pub fn ec2_call(account: &str, time: &str, name: &str, id: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/mallory"),
                         "accountId": account, "userName": "mallory"},
        "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0victim"}]}},
        "responseElements": null, "eventID": id, "eventType": "AwsApiCall",
        "recipientAccountId": account
    })
    .to_string()
}
