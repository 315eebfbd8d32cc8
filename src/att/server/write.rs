//! Writes: Write Request and Command, CCCDs, and queued writes (Prepare/Execute).

use super::{emit, Access, Ctx, Event, Fail, Hooks, ValueStore, MAX_VALUE_LEN};
use crate::att::codes::ErrorCode;
use crate::att::db::{Attribute, Kind};
use crate::att::wire::Pdu;
use crate::config::{PREPARE_QUEUE_BYTES, PREPARE_QUEUE_ENTRIES};

/// One stretch of queued bytes for one attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Run {
    handle: u16,
    /// Where in the attribute value the bytes go.
    offset: usize,
    /// Where in the queue's buffer they are.
    start: usize,
    len: usize,
}

/// The prepared writes of one link, in arrival order.
///
/// A part that continues the previous one (same handle, offset right after it) extends that
/// run, so a long write costs one run however small the MTU, and the buffer bounds the bytes.
#[derive(Clone, Debug)]
pub(super) struct PrepareQueue {
    bytes: [u8; PREPARE_QUEUE_BYTES],
    used: usize,
    runs: [Run; PREPARE_QUEUE_ENTRIES],
    count: usize,
}

impl PrepareQueue {
    /// An empty queue.
    pub(super) const fn new() -> Self {
        let run = Run { handle: 0, offset: 0, start: 0, len: 0 };
        Self { bytes: [0; PREPARE_QUEUE_BYTES], used: 0, runs: [run; PREPARE_QUEUE_ENTRIES], count: 0 }
    }

    fn clear(&mut self) {
        self.used = 0;
        self.count = 0;
    }

    /// Queues a part; false (queue unchanged) when there is no room for it.
    fn push(&mut self, handle: u16, offset: usize, data: &[u8]) -> bool {
        let end = self.used + data.len();
        let Some(dst) = self.bytes.get_mut(self.used..end) else { return false };
        let continues = self
            .count
            .checked_sub(1)
            .and_then(|i| self.runs.get_mut(i))
            .filter(|last| last.handle == handle && last.offset + last.len == offset);
        if let Some(last) = continues {
            last.len += data.len();
        } else if let Some(slot) = self.runs.get_mut(self.count) {
            *slot = Run { handle, offset, start: self.used, len: data.len() };
            self.count += 1;
        } else {
            return false;
        }
        dst.copy_from_slice(data);
        self.used = end;
        true
    }

    fn data(&self, run: &Run) -> &[u8] {
        self.bytes.get(run.start..run.start + run.len).unwrap_or(&[])
    }
}

impl<S: ValueStore + ?Sized, H: Hooks + ?Sized> Ctx<'_, S, H> {
    /// Write Request: write, then an empty Write Response (§3.4.5.1).
    pub(super) fn write_request(&mut self, handle: u16, value: &[u8], out: &mut [u8]) -> Result<usize, Fail> {
        self.write_value(handle, value)?;
        emit(Pdu::WriteRsp, out)
    }

    /// A whole-value write after the permission checks, with its event.
    pub(super) fn write_value(&mut self, handle: u16, value: &[u8]) -> Result<(), Fail> {
        let attr = self.attribute(handle)?;
        self.check(handle, &attr, Access::Write)?;
        check_length(handle, &attr, 0, value.len())?;
        self.store_value(handle, &attr, 0, value)?;
        self.written(handle, &attr);
        Ok(())
    }

    /// Writes a value that passed its checks: CCCDs into the link, the rest into the store.
    fn store_value(&mut self, handle: u16, attr: &Attribute, offset: usize, data: &[u8]) -> Result<(), Fail> {
        match (attr.kind, data) {
            (Kind::Cccd, &[lo, hi]) => self.link.set_cccd(handle, u16::from_le_bytes([lo, hi])),
            (Kind::Cccd, _) => return Err(Fail::Error(handle, ErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH)),
            _ => self.store.write(handle, offset, data).map_err(|code| Fail::Error(handle, code))?,
        }
        Ok(())
    }

    /// Reports a completed write.
    fn written(&mut self, handle: u16, attr: &Attribute) {
        let event = match attr.kind {
            Kind::Cccd => Event::CccdChanged { handle, value: self.link.cccd(handle) },
            _ => Event::Written { handle },
        };
        self.hooks.event(event);
    }

    /// Prepare Write: check access now, queue the part, echo it (§3.4.6.1). Offsets and
    /// lengths are checked at execution, when the whole value is known.
    pub(super) fn prepare_write(
        &mut self,
        handle: u16,
        offset: u16,
        value: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let attr = self.attribute(handle)?;
        self.check(handle, &attr, Access::Write)?;
        if !self.link.queue.push(handle, offset.into(), value) {
            return Err(Fail::Error(handle, ErrorCode::PREPARE_QUEUE_FULL));
        }
        emit(Pdu::PrepareWriteRsp { handle, offset, value }, out)
    }

    /// Execute Write: apply the queue in order, or drop it (§3.4.6.3). The queue is empty
    /// afterwards either way.
    pub(super) fn execute_write(&mut self, commit: bool, out: &mut [u8]) -> Result<usize, Fail> {
        let result = if commit { self.execute() } else { Ok(()) };
        self.link.queue.clear();
        result?;
        emit(Pdu::ExecuteWriteRsp, out)
    }

    fn execute(&mut self) -> Result<(), Fail> {
        // Copied out so the runs can be walked while values are written.
        let (runs, count) = (self.link.queue.runs, self.link.queue.count);
        let runs = runs.get(..count).unwrap_or(&[]);
        // Everything is checked before anything is written, so a bad part changes nothing.
        for (i, run) in runs.iter().enumerate() {
            let attr = self.attribute(run.handle)?;
            let length = match runs.get(..i).unwrap_or(&[]).iter().rev().find(|r| r.handle == run.handle) {
                Some(before) => before.offset + before.len,
                None => self.value(run.handle, &attr).as_slice().len(),
            };
            if run.offset > length {
                return Err(Fail::Error(run.handle, ErrorCode::INVALID_OFFSET));
            }
            check_length(run.handle, &attr, run.offset, run.len)?;
        }
        for run in runs {
            let attr = self.attribute(run.handle)?;
            // Field by field, so the queued bytes can be read while the store is written.
            let data = self.link.queue.data(run);
            match (attr.kind, data) {
                (Kind::Cccd, &[lo, hi]) => self.link.set_cccd(run.handle, u16::from_le_bytes([lo, hi])),
                (Kind::Cccd, _) => return Err(Fail::Error(run.handle, ErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH)),
                _ => self.store.write(run.handle, run.offset, data).map_err(|code| Fail::Error(run.handle, code))?,
            }
        }
        // One event per attribute, however many parts it took.
        for (i, run) in runs.iter().enumerate() {
            if !runs.get(..i).unwrap_or(&[]).iter().any(|r| r.handle == run.handle) {
                let attr = self.attribute(run.handle)?;
                self.written(run.handle, &attr);
            }
        }
        Ok(())
    }
}

/// Whether `len` bytes at `offset` make a value the attribute can take: a CCCD is exactly
/// 2 bytes, anything else at most 512.
fn check_length(handle: u16, attr: &Attribute, offset: usize, len: usize) -> Result<(), Fail> {
    let ok = match attr.kind {
        Kind::Cccd => offset == 0 && len == 2,
        _ => offset + len <= MAX_VALUE_LEN,
    };
    ok.then_some(()).ok_or(Fail::Error(handle, ErrorCode::INVALID_ATTRIBUTE_VALUE_LENGTH))
}
