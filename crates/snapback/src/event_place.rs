//! An event's place in time order, for the bounded sorters of `snapback events` and
//! `snapback replay`: event time, then provenance (the same input always comes out in the same
//! order), then arrival. One definition, so the two commands order and spill alike.

use std::cmp::Ordering;
use std::sync::Arc;

use snapback_ingest::Event;
use snapback_spill::SpillError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPlace {
    nanos: i128,
    file: Arc<str>,
    record: u64,
    offset: u64,
    seq: u64,
}

impl EventPlace {
    /// The place of `e`, the `seq`th event read.
    pub fn of(e: &Event, seq: u64) -> EventPlace {
        EventPlace {
            nanos: e.time.instant.as_nanosecond(),
            file: e.provenance.file.clone(),
            record: e.provenance.record,
            offset: e.provenance.offset,
            seq,
        }
    }

    /// Where the record came from, as diagnostics write it (`file#record`).
    pub fn provenance(&self) -> String {
        format!("{}#{}", self.file, self.record)
    }

    /// Appended to a spilled record: 48 bytes and the file name.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.nanos.to_le_bytes());
        for n in [self.record, self.offset, self.seq, self.file.len() as u64] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(self.file.as_bytes());
    }

    /// The place at the start of `b`, and the bytes after it.
    pub fn decode(b: &[u8]) -> Result<(EventPlace, &[u8]), SpillError> {
        let corrupt = || SpillError::Corrupt("event place".into());
        let (nanos, mut b) = b.split_first_chunk::<16>().ok_or_else(corrupt)?;
        let mut n = [0u64; 4];
        for x in &mut n {
            let (v, rest) = b.split_first_chunk::<8>().ok_or_else(corrupt)?;
            *x = u64::from_le_bytes(*v);
            b = rest;
        }
        let flen = usize::try_from(n[3]).map_err(|_| corrupt())?;
        let file = b.get(..flen).ok_or_else(corrupt)?;
        let file = std::str::from_utf8(file).map_err(|_| corrupt())?;
        let place = EventPlace {
            nanos: i128::from_le_bytes(*nanos),
            file: Arc::from(file),
            record: n[0],
            offset: n[1],
            seq: n[2],
        };
        Ok((place, &b[flen..]))
    }

    /// About how much memory it takes.
    pub fn encoded_len(&self) -> usize {
        self.file.len() + 64
    }
}

impl Ord for EventPlace {
    fn cmp(&self, b: &Self) -> Ordering {
        self.nanos
            .cmp(&b.nanos)
            .then_with(|| self.file.cmp(&b.file))
            .then(self.record.cmp(&b.record))
            .then(self.offset.cmp(&b.offset))
            .then(self.seq.cmp(&b.seq))
    }
}

impl PartialOrd for EventPlace {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_survives_encoding_and_orders_by_time_first() {
        let p = EventPlace {
            nanos: -5,
            file: Arc::from("a/b.json.gz"),
            record: 7,
            offset: 1234,
            seq: 9,
        };
        let mut bytes = Vec::new();
        p.encode(&mut bytes);
        bytes.extend_from_slice(b"rest");
        let (back, rest) = EventPlace::decode(&bytes).unwrap();
        assert_eq!((&back, rest), (&p, &b"rest"[..]));
        assert_eq!(back.provenance(), "a/b.json.gz#7");
        assert!(EventPlace::decode(&bytes[..20]).is_err());
        let later = EventPlace {
            nanos: -4,
            file: Arc::from("0"),
            ..p.clone()
        };
        assert!(p < later, "time before file name");
    }
}
