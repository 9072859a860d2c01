//! The timeline: every planted record, its principal, its ids and its time.
//! `docs/simulate.md` tells the same story in prose; keep them in step.
//!
//! This root owns the [`Timeline`] every record is pushed on and the order of the story; the
//! episodes are in submodules by cloud and role: `aws_cast` (the AWS principals and resources),
//! `aws_attack` (recon, precursors and reverts of tests 1, 2 and 4), `aws_benign` (the AWS
//! look-alikes), `azure_timeline` (test 3 and its look-alikes) and `gcp_timeline` (the Google
//! Cloud revert and its look-alike). Records keep the order in which they are pushed.

mod aws_attack;
mod aws_benign;
mod aws_cast;
mod azure_timeline;
mod gcp_timeline;

use serde_json::Value;

use crate::aws::Call;
use crate::azure::{AzCall, Tenancy};
use crate::clock;
use crate::gcp::GcpCall;
use crate::ids::Ids;
use crate::{AtomicTest, Cloud, Part, Planted, Story};
use aws_cast::{Principals, Resources};

const T1: Story = Story::Atomic(AtomicTest::Ec2StopStart);
const T2: Story = Story::Atomic(AtomicTest::EbsVolumeFromSnapshot);
const T3: Story = Story::Atomic(AtomicTest::AzureDiskFromSnapshot);
const T4: Story = Story::Atomic(AtomicTest::AmiFromSnapshot);
const NOISE: Story = Story::Noise;

/// The attacker's address in every cloud (TEST-NET-3).
pub(crate) const ATTACKER_IP: &str = "203.0.113.66";

struct Timeline<'a> {
    ids: &'a Ids,
    tenancy: Tenancy,
    out: Vec<Planted>,
}

impl Timeline<'_> {
    fn push(
        &mut self,
        cloud: Cloud,
        story: Story,
        part: Part,
        why: &'static str,
        at: i64,
        record: Value,
    ) {
        self.out.push(Planted {
            cloud,
            story,
            part,
            time: clock::timestamp(at),
            why,
            record,
        });
    }

    fn aws(&mut self, story: Story, part: Part, why: &'static str, call: Call<'_>) {
        let at = call.at;
        let record = call.record(self.ids);
        self.push(Cloud::Aws, story, part, why, at, record);
    }

    fn azure(&mut self, story: Story, part: Part, why: &'static str, call: AzCall<'_>) {
        for (at, record) in call.records(self.ids, &self.tenancy) {
            self.push(Cloud::Azure, story, part, why, at, record);
        }
    }

    fn gcp(&mut self, story: Story, part: Part, why: &'static str, call: GcpCall<'_>) {
        for (at, record) in call.entries(self.ids) {
            self.push(Cloud::Gcp, story, part, why, at, record);
        }
    }
}

pub(crate) fn build(ids: &Ids) -> Vec<Planted> {
    let mut t = Timeline {
        ids,
        tenancy: Tenancy::new(ids),
        out: Vec::new(),
    };
    build_aws(&mut t);
    azure_timeline::build_azure(&mut t);
    gcp_timeline::build_gcp(&mut t);
    t.out
}

/// The AWS episodes in timeline order.
fn build_aws(t: &mut Timeline<'_>) {
    let who = Principals::new();
    let res = Resources::new(t.ids);
    aws_benign::dlm_snapshots(t, &who, &res);
    aws_attack::recon(t, &who, &res);
    aws_attack::test1_precursors(t, &who, &res);
    aws_attack::test2_precursor(t, &who, &res);
    aws_benign::ops_browsing(t, &who, &res);
    aws_benign::ci_environment(t, &who, &res);
    aws_attack::test4_precursors(t, &who, &res);
    aws_benign::backup_restore(t, &who, &res);
    aws_benign::auto_scaling(t, &who, &res);
    aws_benign::reboot(t, &who, &res);
    aws_benign::denied_stop_start(t, &who, &res);
    aws_benign::dry_run_stop_start(t, &who, &res);
    aws_attack::test1_revert(t, &who, &res);
    aws_attack::test2_revert(t, &who, &res);
    aws_attack::test4_revert(t, &who, &res);
}
