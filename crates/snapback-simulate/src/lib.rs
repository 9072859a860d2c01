//! Authored, deterministic audit-log telemetry for MITRE ATT&CK T1578.004 "Revert Cloud
//! Instance": the signals each of the four Atomic Red Team tests in the seed leaves, plus a
//! Google Cloud revert, set among benign look-alikes, in the clouds' own delivery layouts.
//!
//! Why authored and not captured: the detector needs known answers. Every record here is
//! planted on one timeline ([`records`]) with its role in the story ([`Story`], [`Part`]), so a
//! test can say exactly which alerts must fire and which records must stay quiet. The records
//! follow the shapes in `shared/spec/revert-operations.md` and the real records in
//! `shared/corpus/` (every top-level field, string-encoded Azure bodies, GCP first/last entries).
//!
//! Pure core, I/O on top: [`records`] and [`files`] compute everything in memory from a seed;
//! [`write`] (and [`atomic`], [`all`]) only put those bytes on disk. Identifiers derive from
//! `(seed, label)`, times from a fixed base (2026-11-20T09:00:00Z), and JSON keys are written
//! sorted and gzip headers fixed, so a seed always yields byte-identical files.
//!
//! ```
//! use snapback_simulate::{records, AtomicTest, Part, Selection, DEFAULT_SEED};
//!
//! let planted = records(Selection::Test(AtomicTest::EbsVolumeFromSnapshot), DEFAULT_SEED);
//! let revert = |name: &str| {
//!     planted.iter()
//!         .find(|p| p.part == Part::Revert && p.record["eventName"] == name)
//!         .map(|p| &p.record)
//!         .unwrap()
//! };
//! // The volume CreateVolume returned is the one AttachVolume puts on the root device.
//! assert_eq!(
//!     revert("CreateVolume")["responseElements"]["volumeId"],
//!     revert("AttachVolume")["requestParameters"]["volumeId"],
//! );
//! assert_eq!(revert("AttachVolume")["requestParameters"]["device"], "/dev/xvda");
//! ```
#![forbid(unsafe_code)]

mod aws;
mod azure;
mod clock;
mod gcp;
mod ids;
mod layout;
mod scenario;
pub mod volume;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use layout::LogFile;

/// The seed used when none is given: T1578.004 without the dot.
pub const DEFAULT_SEED: u64 = 1_578_004;

/// The four Atomic Red Team tests of T1578.004 that the seed document describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomicTest {
    /// Test 1: AWS EC2 stop and start of one instance (instance-store reset).
    Ec2StopStart,
    /// Test 2: AWS EBS volume created from a snapshot and attached as the root volume.
    EbsVolumeFromSnapshot,
    /// Test 3: Azure managed disk copied from a snapshot and swapped in as the OS disk.
    AzureDiskFromSnapshot,
    /// Test 4: AWS AMI registered from a snapshot and launched.
    AmiFromSnapshot,
}

impl AtomicTest {
    pub const ALL: [AtomicTest; 4] = [
        AtomicTest::Ec2StopStart,
        AtomicTest::EbsVolumeFromSnapshot,
        AtomicTest::AzureDiskFromSnapshot,
        AtomicTest::AmiFromSnapshot,
    ];

    /// The test's number in the seed document, 1 to 4.
    pub fn number(self) -> u8 {
        match self {
            AtomicTest::Ec2StopStart => 1,
            AtomicTest::EbsVolumeFromSnapshot => 2,
            AtomicTest::AzureDiskFromSnapshot => 3,
            AtomicTest::AmiFromSnapshot => 4,
        }
    }

    pub fn from_number(n: u8) -> Option<Self> {
        AtomicTest::ALL.into_iter().find(|t| t.number() == n)
    }

    pub fn cloud(self) -> Cloud {
        match self {
            AtomicTest::AzureDiskFromSnapshot => Cloud::Azure,
            _ => Cloud::Aws,
        }
    }

    /// The test's title in the seed document.
    pub fn title(self) -> &'static str {
        match self {
            AtomicTest::Ec2StopStart => "AWS EC2 Stop and Start Instance (Ephemeral Storage Reset)",
            AtomicTest::EbsVolumeFromSnapshot => {
                "AWS EBS Volume Restore from Snapshot (Disk Revert)"
            }
            AtomicTest::AzureDiskFromSnapshot => "Azure Managed Disk Creation from Snapshot",
            AtomicTest::AmiFromSnapshot => {
                "AWS AMI Registration from Snapshot (Instance Replacement Revert)"
            }
        }
    }
}

/// What to simulate: one test (its attack and the benign noise of its cloud), or everything
/// (the four tests, the Google Cloud revert, and all the noise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    Test(AtomicTest),
    All,
}

/// The error of parsing a [`Selection`] from text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectionParseError(String);

impl fmt::Display for SelectionParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown test {:?}: expected 1, 2, 3, 4 or all", self.0)
    }
}

impl std::error::Error for SelectionParseError {}

impl FromStr for Selection {
    type Err = SelectionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Selection::All);
        }
        s.parse::<u8>()
            .ok()
            .and_then(AtomicTest::from_number)
            .map(Selection::Test)
            .ok_or_else(|| SelectionParseError(s.to_string()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cloud {
    Aws,
    Azure,
    Gcp,
}

/// Which story a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Story {
    /// One of the seed's Atomic Red Team tests.
    Atomic(AtomicTest),
    /// The Google Cloud revert (not a seed test; for detection coverage).
    GcpRevert,
    /// Benign activity that resembles a revert and must not alert.
    Noise,
}

/// The part a record plays in its story.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Attacker activity hours before the revert that the kill-chain rule links to it
    /// (snapshot shared out, SSH key pushed, SSM command, SAS export, IAM grant).
    Precursor,
    /// Attacker read-only reconnaissance; nothing should alert on it alone.
    Recon,
    /// A step of the revert itself.
    Revert,
    /// Benign; must not raise an active alert.
    Benign,
}

/// One planted record and its place in the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Planted {
    pub cloud: Cloud,
    pub story: Story,
    pub part: Part,
    /// Event time (CloudTrail `eventTime`, Azure `time`, GCP `timestamp`).
    pub time: jiff::Timestamp,
    /// Why the record is there, and for benign records why it must not alert.
    pub why: &'static str,
    /// The record exactly as written.
    pub record: serde_json::Value,
}

impl Selection {
    fn includes(self, p: &Planted) -> bool {
        match self {
            Selection::All => true,
            Selection::Test(t) => {
                p.story == Story::Atomic(t) || (p.story == Story::Noise && p.cloud == t.cloud())
            }
        }
    }
}

/// Every record of the selection, in scenario order (by time within each story).
pub fn records(selection: Selection, seed: u64) -> Vec<Planted> {
    let ids = ids::Ids::new(seed);
    scenario::build(&ids)
        .into_iter()
        .filter(|p| selection.includes(p))
        .collect()
}

/// The files of the selection, with their exact bytes, sorted by path.
pub fn files(selection: Selection, seed: u64) -> Vec<LogFile> {
    let ids = ids::Ids::new(seed);
    layout::files(&records(selection, seed), &ids)
}

/// Writes the selection's files under `out` (creating directories) and returns their paths.
/// Existing files of the same name are replaced; nothing else in `out` is touched.
pub fn write(selection: Selection, seed: u64, out: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for file in files(selection, seed) {
        let path = out.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &file.bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Writes one Atomic Red Team test (with its cloud's benign noise) under `out`, default seed.
pub fn atomic(test: AtomicTest, out: &Path) -> io::Result<Vec<PathBuf>> {
    write(Selection::Test(test), DEFAULT_SEED, out)
}

/// Writes the four tests, the Google Cloud revert and all the benign noise, default seed.
pub fn all(out: &Path) -> io::Result<Vec<PathBuf>> {
    write(Selection::All, DEFAULT_SEED, out)
}
