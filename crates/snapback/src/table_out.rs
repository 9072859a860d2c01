//! Tables of any length in bounded memory (issue 13, item 10): `events` and `aql run` print
//! the same table as before, laid out by comfy-table. Rows are kept in memory up to the sort
//! buffer; a table that fits is printed exactly as it always was. Beyond it, rows are spooled
//! to a temporary file while each column's widest cell is noted, then printed in chunks laid
//! out at those widths (a first row of blanks as wide as each column fixes the layout, and is
//! not printed), which gives the same lines.

use std::io::{self, Write};

use snapback_spill::{Record, Sorter, SpillError, SpillOptions};

const CHUNK: usize = 1024;

struct Cells(Vec<String>);

impl Record for Cells {
    fn encode(&self, out: &mut Vec<u8>) {
        for c in &self.0 {
            out.extend_from_slice(&(c.len() as u64).to_le_bytes());
            out.extend_from_slice(c.as_bytes());
        }
    }

    fn decode(mut b: &[u8]) -> Result<Self, SpillError> {
        let mut cells = Vec::new();
        while !b.is_empty() {
            let corrupt = || SpillError::Corrupt("table row".into());
            let (len, rest) = b.split_first_chunk::<8>().ok_or_else(corrupt)?;
            let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| corrupt())?;
            if len > rest.len() {
                return Err(corrupt());
            }
            let (cell, rest) = rest.split_at(len);
            cells.push(String::from_utf8(cell.to_vec()).map_err(|_| corrupt())?);
            b = rest;
        }
        Ok(Cells(cells))
    }

    fn encoded_len(&self) -> usize {
        self.0.iter().map(|c| c.len() + 32).sum()
    }
}

type Spool = Sorter<Cells, fn(&Cells, &Cells) -> std::cmp::Ordering>;

fn keep_order(_: &Cells, _: &Cells) -> std::cmp::Ordering {
    std::cmp::Ordering::Equal
}

/// A table being filled row by row, printed at the end.
pub struct TableOut {
    header: Vec<String>,
    spill: SpillOptions,
    rows: Vec<Vec<String>>,
    /// Rows beyond the buffer, once there are any.
    spool: Option<Spool>,
    widths: Vec<u16>,
}

fn table(header: Option<&[String]>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    if let Some(h) = header {
        t.set_header(h);
    }
    t
}

impl TableOut {
    /// Cells must already be safe for a terminal (`text::terminal`).
    pub fn new(header: Vec<String>, spill: SpillOptions) -> TableOut {
        TableOut {
            header,
            spill,
            rows: Vec::new(),
            spool: None,
            widths: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> Result<(), SpillError> {
        self.rows.push(cells);
        match &self.spool {
            None if self.rows.len() <= self.spill.max_records.max(CHUNK) => Ok(()),
            None => {
                let header = self.header.clone();
                self.note_widths(Some(&header));
                self.spool = Some(Sorter::new(self.spill.clone(), keep_order as _));
                self.flush_rows()
            }
            Some(_) if self.rows.len() >= CHUNK => {
                self.note_widths(None);
                self.flush_rows()
            }
            Some(_) => Ok(()),
        }
    }

    fn note_widths(&mut self, header: Option<&[String]>) {
        let mut t = table(header);
        for r in &self.rows {
            t.add_row(r);
        }
        let widths = t.column_max_content_widths();
        if self.widths.len() < widths.len() {
            self.widths.resize(widths.len(), 0);
        }
        for (w, n) in self.widths.iter_mut().zip(widths) {
            *w = (*w).max(n);
        }
    }

    fn flush_rows(&mut self) -> Result<(), SpillError> {
        if let Some(spool) = &mut self.spool {
            for r in self.rows.drain(..) {
                spool.push(Cells(r))?;
            }
        }
        Ok(())
    }

    /// Print the table (followed by a newline, as `writeln!` of a comfy-table does).
    pub fn write(mut self, out: &mut impl Write) -> io::Result<()> {
        let Some(spool) = self.spool.take() else {
            let mut t = table(Some(&self.header));
            for r in &self.rows {
                t.add_row(r);
            }
            return writeln!(out, "{t}");
        };
        self.note_widths(None);
        let tail = std::mem::take(&mut self.rows);
        let blanks: Vec<String> = self
            .widths
            .iter()
            .map(|w| " ".repeat(usize::from(*w)))
            .collect();
        let mut chunk: Vec<Vec<String>> = Vec::new();
        let mut first = true;
        let mut failure: Option<io::Error> = None;
        let mut print = |chunk: &mut Vec<Vec<String>>, first: &mut bool| -> io::Result<()> {
            let mut t = table(first.then_some(self.header.as_slice()));
            t.add_row(&blanks);
            for r in chunk.drain(..) {
                t.add_row(r);
            }
            let text = t.to_string();
            let skip = usize::from(*first);
            for (i, line) in text.split('\n').enumerate() {
                if i != skip {
                    writeln!(out, "{line}")?;
                }
            }
            *first = false;
            Ok(())
        };
        let drained = spool.drain(&mut |Cells(r)| {
            chunk.push(r);
            if chunk.len() >= CHUNK {
                if let Err(e) = print(&mut chunk, &mut first) {
                    failure = Some(e);
                    return false;
                }
            }
            true
        });
        if let Some(e) = failure {
            return Err(e);
        }
        drained.map_err(io::Error::other)?;
        chunk.extend(tail);
        if !chunk.is_empty() || first {
            print(&mut chunk, &mut first)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[Vec<String>], max_records: usize) -> String {
        let header = vec!["A".to_string(), "WIDE HEADER".into(), "C".into()];
        let spill = SpillOptions {
            max_records,
            ..SpillOptions::default()
        };
        let mut t = TableOut::new(header, spill);
        for r in rows {
            t.row(r.clone()).unwrap();
        }
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn spooled_table_prints_the_same_lines() {
        let words = [
            "x",
            "",
            "日本語テキスト",
            "e\u{301}",
            "a much longer cell here",
            "🦀",
        ];
        let rows: Vec<Vec<String>> = (0..5000)
            .map(|i| {
                (0..3)
                    .map(|c| format!("{}{}", words[(i * 7 + c * 3) % words.len()], i % 13))
                    .collect()
            })
            .collect();
        let whole = render(&rows, usize::MAX);
        assert_eq!(render(&rows, 1), whole);
        assert_eq!(render(&rows, 3000), whole);
        assert_eq!(render(&rows[..1], 1), render(&rows[..1], usize::MAX));
        assert_eq!(render(&[], 1), render(&[], usize::MAX));
    }
}
