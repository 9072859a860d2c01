//! `s3://bucket/prefix`, `az://container/prefix`, `gs://bucket/prefix`: what the operator names.

use std::fmt;

use crate::error::ObjstoreError;

/// Which cloud's store, and so which delivery layout and which credential chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Amazon S3 (CloudTrail: `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`).
    S3,
    /// Azure Blob Storage (diagnostic settings export: `…/y=YYYY/m=MM/d=DD/h=HH/m=00/`).
    Azure,
    /// Google Cloud Storage (a log sink: `<log name>/YYYY/MM/DD/`).
    Gcs,
}

impl Cloud {
    /// The URL scheme snapback prints for it.
    pub fn scheme(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Azure => "az",
            Cloud::Gcs => "gs",
        }
    }
}

/// A parsed store URL: the cloud, the bucket (or container) and the key prefix under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreUrl {
    pub cloud: Cloud,
    /// The bucket (S3, GCS) or container (Azure).
    pub bucket: String,
    /// The key prefix, without a leading `/`; empty for the whole bucket. A trailing `/` is
    /// kept as written: `AWSLogs/` names a folder, `AWSLogs/x.json.gz` may name one object.
    pub prefix: String,
}

impl StoreUrl {
    /// Whether `arg` is meant as a store URL (`s3://`, `az://`, `azure://`, `gs://`), not a
    /// path.
    pub fn looks_like(arg: &str) -> bool {
        ["s3://", "az://", "azure://", "gs://"]
            .iter()
            .any(|s| arg.len() > s.len() && arg[..s.len()].eq_ignore_ascii_case(s))
    }

    /// Parse `s3://bucket/prefix`, `az://container/prefix` (also `azure://`) or
    /// `gs://bucket/prefix`. The account of an Azure container comes from the environment
    /// (`AZURE_STORAGE_ACCOUNT_NAME`, a connection string, or the emulator).
    pub fn parse(arg: &str) -> Result<StoreUrl, ObjstoreError> {
        let bad = |why: &str| ObjstoreError::BadUrl {
            url: arg.to_owned(),
            why: why.to_owned(),
        };
        let (scheme, rest) = arg
            .split_once("://")
            .ok_or_else(|| bad("expected s3://, az:// or gs://"))?;
        let cloud = match scheme.to_ascii_lowercase().as_str() {
            "s3" => Cloud::S3,
            "az" | "azure" => Cloud::Azure,
            "gs" => Cloud::Gcs,
            _ => return Err(bad("expected s3://, az:// or gs://")),
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket or container named after the scheme"));
        }
        if bucket.contains(['@', ':', '?', '#']) || bucket.chars().any(char::is_whitespace) {
            return Err(bad(
                "the bucket or container name holds a character no store allows (an account \
                 goes in AZURE_STORAGE_ACCOUNT_NAME, not the URL)",
            ));
        }
        if prefix.contains("//") {
            return Err(bad("an empty path segment (`//`) in the prefix"));
        }
        Ok(StoreUrl {
            cloud,
            bucket: bucket.to_owned(),
            prefix: prefix.trim_start_matches('/').to_owned(),
        })
    }

    /// The URL of the object at `key` of this bucket: what provenance names.
    pub fn object_url(&self, key: &str) -> String {
        format!("{}://{}/{}", self.cloud.scheme(), self.bucket, key)
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}/{}",
            self.cloud.scheme(),
            self.bucket,
            self.prefix
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_schemes_and_their_parts() {
        let u = StoreUrl::parse("s3://trail/AWSLogs/111122223333/CloudTrail/").unwrap();
        assert_eq!(
            (u.cloud, u.bucket.as_str(), u.prefix.as_str()),
            (Cloud::S3, "trail", "AWSLogs/111122223333/CloudTrail/")
        );
        let u = StoreUrl::parse("az://insights-activity-logs").unwrap();
        assert_eq!(
            (u.cloud, u.bucket.as_str(), u.prefix.as_str()),
            (Cloud::Azure, "insights-activity-logs", "")
        );
        let u = StoreUrl::parse("gs://sink/cloudaudit.googleapis.com/activity/2026/03/").unwrap();
        assert_eq!(u.cloud, Cloud::Gcs);
        assert_eq!(
            u.object_url("a/b.json"),
            "gs://sink/a/b.json",
            "provenance names the object"
        );
        assert!(StoreUrl::looks_like("S3://b/x"));
        assert!(!StoreUrl::looks_like("./s3:/b"));
        assert!(!StoreUrl::looks_like("s3://"));
    }

    #[test]
    fn what_is_not_a_store_url_says_why() {
        for bad in [
            "s3:/bucket",
            "ftp://bucket/x",
            "s3:///x",
            "az://acct@container/x",
            "s3://b/a//c",
        ] {
            let e = StoreUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
