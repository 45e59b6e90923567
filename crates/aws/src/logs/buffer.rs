//! The shipper's queue of pending events: bounded memory, with a spill file for the rest.
//!
//! The queue, oldest first, is `[spill file][memory]`. New events go to the back of memory; when
//! memory holds more than its bound, its oldest events move to the end of the spill file, which
//! is still in front of everything left in memory, so the order is kept. The shipper takes events
//! from the front: the spill file first, then memory. When the spill file has been read to its
//! end it is emptied (truncated), so it does not grow with the total volume, only with the
//! backlog.
//!
//! The spill file holds one JSON object per line, `{"timestamp_ms": <i64>, "message": <string>}`,
//! the format of the file the shipper leaves behind with the events it could not deliver.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::logs::LogEvent;

/// What an event costs in memory, for the bound: its message and the event itself.
pub(crate) fn memory_cost(e: &LogEvent) -> usize {
    e.message.len() + std::mem::size_of::<LogEvent>()
}

/// Writes `e` as one JSON line.
pub(crate) fn write_line(w: &mut impl Write, e: &LogEvent) -> io::Result<()> {
    serde_json::to_writer(&mut *w, e)?;
    w.write_all(b"\n")
}

/// The pending events of one shipper.
#[derive(Debug)]
pub(crate) struct Buffer {
    memory: VecDeque<LogEvent>,
    memory_bytes: usize,
    max_memory_bytes: usize,
    spill: Spill,
    /// Events that went through the spill file, ever.
    spilled_total: u64,
    /// Events that could not be read back from the spill file (a damaged file): lost.
    lost: u64,
    /// The first spill-file error, if any.
    error: Option<String>,
}

impl Buffer {
    pub(crate) fn new(max_memory_bytes: usize, spill_path: PathBuf) -> Buffer {
        Buffer {
            memory: VecDeque::new(),
            memory_bytes: 0,
            max_memory_bytes,
            spill: Spill::new(spill_path),
            spilled_total: 0,
            lost: 0,
            error: None,
        }
    }

    /// Adds an event at the back. When memory goes over its bound, moves the oldest events in
    /// memory to the spill file. If the spill file cannot be written (disk full), the events
    /// stay in memory, over the bound: memory is the lesser evil compared with losing lines.
    pub(crate) fn push(&mut self, e: LogEvent) {
        self.memory_bytes += memory_cost(&e);
        self.memory.push_back(e);
        while self.memory_bytes > self.max_memory_bytes {
            let Some(oldest) = self.memory.front() else {
                break;
            };
            if let Err(err) = self.spill.append(oldest) {
                self.note_error(format!(
                    "cannot write the spill file {}: {err}",
                    self.spill.path.display()
                ));
                break;
            }
            self.spilled_total += 1;
            if let Some(oldest) = self.memory.pop_front() {
                self.memory_bytes -= memory_cost(&oldest);
            }
        }
    }

    /// Takes the oldest pending event, if any.
    pub(crate) fn pop(&mut self) -> Option<LogEvent> {
        while self.spill.unread() > 0 {
            match self.spill.read_one() {
                Ok(Some(e)) => return Some(e),
                Ok(None) => {}
                Err(err) => {
                    let lost = self.spill.unread();
                    self.lost += lost;
                    self.note_error(format!(
                        "cannot read the spill file {} back ({lost} events lost): {err}",
                        self.spill.path.display()
                    ));
                    self.spill.reset();
                }
            }
        }
        let e = self.memory.pop_front()?;
        self.memory_bytes -= memory_cost(&e);
        Some(e)
    }

    /// How many events are pending (in the spill file and in memory).
    pub(crate) fn len(&self) -> u64 {
        self.spill.unread() + self.memory.len() as u64
    }

    /// Whether no event is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held in memory (as [`memory_cost`] counts them).
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    pub(crate) fn spilled_total(&self) -> u64 {
        self.spilled_total
    }

    #[cfg(test)]
    pub(crate) fn lost(&self) -> u64 {
        self.lost
    }

    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub(crate) fn spill_path(&self) -> &Path {
        &self.spill.path
    }

    /// Writes every pending event, oldest first, as JSON lines to `out`, and empties the
    /// buffer. Returns how many were written.
    pub(crate) fn drain_to(&mut self, out: &mut impl Write) -> io::Result<u64> {
        let mut n = 0;
        while let Some(e) = self.pop() {
            write_line(out, &e)?;
            n += 1;
        }
        Ok(n)
    }

    /// Removes the spill file if it exists (it holds nothing pending once drained).
    pub(crate) fn remove_spill_file(&mut self) {
        self.spill.close_and_remove();
    }

    fn note_error(&mut self, text: String) {
        if self.error.is_none() {
            self.error = Some(text);
        }
    }
}

/// A FIFO of events in a file: appended at the end, read from a cursor.
#[derive(Debug)]
struct Spill {
    path: PathBuf,
    /// Open while the file has unread events or has been written since the last reset.
    files: Option<SpillFiles>,
    written: u64,
    read: u64,
    line: String,
}

#[derive(Debug)]
struct SpillFiles {
    writer: BufWriter<File>,
    reader: BufReader<File>,
    /// Bytes in the writer's buffer not yet visible to the reader.
    dirty: bool,
}

impl Spill {
    fn new(path: PathBuf) -> Spill {
        Spill {
            path,
            files: None,
            written: 0,
            read: 0,
            line: String::new(),
        }
    }

    fn unread(&self) -> u64 {
        self.written - self.read
    }

    fn open(&mut self) -> io::Result<&mut SpillFiles> {
        if self.files.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&self.path)?;
            // A second open, not `try_clone`: a cloned descriptor shares the file offset, and
            // the reader's cursor must move independently of the writer's.
            let reader = BufReader::new(File::open(&self.path)?);
            self.files = Some(SpillFiles {
                writer: BufWriter::with_capacity(256 * 1024, file),
                reader,
                dirty: false,
            });
        }
        match self.files.as_mut() {
            Some(f) => Ok(f),
            None => Err(io::Error::other("spill file not open")),
        }
    }

    fn append(&mut self, e: &LogEvent) -> io::Result<()> {
        let files = self.open()?;
        write_line(&mut files.writer, e)?;
        files.dirty = true;
        self.written += 1;
        Ok(())
    }

    /// Reads the next line. `Ok(None)` only when nothing is unread.
    fn read_one(&mut self) -> io::Result<Option<LogEvent>> {
        if self.unread() == 0 {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let files = self.open()?;
        if files.dirty {
            files.writer.flush()?;
            files.dirty = false;
        }
        let n = files.reader.read_line(&mut line);
        self.line = line;
        let n = n?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the spill file ends early",
            ));
        }
        let e: LogEvent = serde_json::from_str(&self.line)?;
        self.read += 1;
        if self.unread() == 0 {
            // Everything read: start the file again from nothing.
            self.reset();
        }
        Ok(Some(e))
    }

    /// Forgets everything in the file and empties it.
    fn reset(&mut self) {
        self.written = 0;
        self.read = 0;
        if let Some(files) = self.files.as_mut() {
            let emptied = files
                .writer
                .get_mut()
                .set_len(0)
                .and_then(|()| files.writer.seek(SeekFrom::Start(0)).map(drop))
                .and_then(|()| files.reader.seek(SeekFrom::Start(0)).map(drop));
            if emptied.is_err() {
                // Reopened (and truncated) on the next append.
                self.files = None;
            }
        }
    }

    fn close_and_remove(&mut self) {
        let had = self.files.take().is_some();
        self.written = 0;
        self.read = 0;
        if had {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize) -> LogEvent {
        LogEvent {
            timestamp_ms: i as i64,
            message: format!("line {i} ünïcødé \"quoted\" \\ \n newline"),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!(
            "airtask-logs-buffer-{}-{name}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn fifo_in_memory_without_a_file() {
        let path = temp("memory");
        let mut b = Buffer::new(1 << 20, path.clone());
        for i in 0..100 {
            b.push(ev(i));
        }
        assert_eq!(b.len(), 100);
        for i in 0..100 {
            assert_eq!(b.pop(), Some(ev(i)));
        }
        assert_eq!(b.pop(), None);
        assert_eq!(b.spilled_total(), 0);
        assert!(!path.exists());
    }

    #[test]
    fn spills_and_keeps_order_within_the_bound() {
        let path = temp("spill");
        let bound = 10 * memory_cost(&ev(0));
        let mut b = Buffer::new(bound, path.clone());
        let mut next_out = 0;
        let mut next_in = 0;
        // Interleave pushes and pops so reads happen while the file is being written.
        for round in 0..50 {
            for _ in 0..(20 + round % 7) {
                b.push(ev(next_in));
                next_in += 1;
                assert!(b.memory_bytes() <= bound);
            }
            for _ in 0..(15 + round % 5) {
                assert_eq!(b.pop(), Some(ev(next_out)));
                next_out += 1;
            }
        }
        assert!(b.spilled_total() > 0);
        assert!(path.exists());
        while let Some(e) = b.pop() {
            assert_eq!(e, ev(next_out));
            next_out += 1;
        }
        assert_eq!(next_out, next_in);
        assert_eq!(b.lost(), 0);
        // Read to the end: the file was emptied.
        assert_eq!(std::fs::metadata(&path).expect("spill file").len(), 0);
        b.remove_spill_file();
        assert!(!path.exists());
    }

    #[test]
    fn drain_writes_everything_in_order() {
        let path = temp("drain");
        let mut b = Buffer::new(3 * memory_cost(&ev(0)), path.clone());
        for i in 0..10 {
            b.push(ev(i));
        }
        assert!(b.spilled_total() >= 7);
        let mut out = Vec::new();
        assert_eq!(b.drain_to(&mut out).expect("drain"), 10);
        let lines: Vec<LogEvent> = String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines, (0..10).map(ev).collect::<Vec<_>>());
        assert!(b.is_empty());
        b.remove_spill_file();
    }

    #[test]
    fn unwritable_spill_file_keeps_events_in_memory() {
        let path = std::env::temp_dir().join("airtask-no-such-dir/x/spill.jsonl");
        let mut b = Buffer::new(1, path);
        for i in 0..5 {
            b.push(ev(i));
        }
        assert!(b.error().is_some());
        for i in 0..5 {
            assert_eq!(b.pop(), Some(ev(i)));
        }
        assert_eq!(b.lost(), 0);
    }
}
