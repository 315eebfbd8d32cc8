//! Discovery and reads: the requests that only look at the database and values.

use super::{Access, Builder, Ctx, Fail, Hooks, ValueStore};
use crate::att::codes::{ErrorCode, Opcode};
use crate::att::db::Kind;
use crate::att::lists::HandleSet;
use crate::att::uuid::Uuid;

/// Longest value in a Read By Type entry: its Length byte also counts the 2-byte handle.
const READ_BY_TYPE_VALUE_MAX: usize = 253;

/// A handle range as the spec requires it: start not 0 and not after end (§3.4.3.1).
fn check_range(start: u16, end: u16) -> Result<(), Fail> {
    if start == 0 || start > end {
        return Err(Fail::Error(start, ErrorCode::INVALID_HANDLE));
    }
    Ok(())
}

/// The wire bytes of a UUID and how many there are.
fn uuid_bytes(uuid: &Uuid) -> ([u8; 16], usize) {
    let mut bytes = [0u8; 16];
    let n = uuid.write_le(&mut bytes).unwrap_or(0);
    (bytes, n)
}

/// The answer when a search found nothing: Attribute Not Found at the range's start.
fn not_found(start: u16) -> Fail {
    Fail::Error(start, ErrorCode::ATTRIBUTE_NOT_FOUND)
}

impl<S: ValueStore + ?Sized, H: Hooks + ?Sized> Ctx<'_, S, H> {
    /// Find Information: (handle, type) pairs, all of the first one's UUID size (§3.4.3.1).
    pub(super) fn find_information(&mut self, start: u16, end: u16, out: &mut [u8]) -> Result<usize, Fail> {
        check_range(start, end)?;
        let mut b = Builder::new(out);
        // The Format byte is patched once the first entry says which it is.
        b.push(&[&[Opcode::FIND_INFORMATION_RSP.0, 0]]);
        let mut format = None;
        for (handle, attr) in self.db.range(start, end) {
            let (uuid, n) = uuid_bytes(&attr.attribute_type());
            if format.is_some_and(|f| f != n) || !b.push(&[&handle.to_le_bytes(), &uuid[..n]]) {
                break;
            }
            format = Some(n);
        }
        let n = format.ok_or(not_found(start))?;
        b.set(1, if n == 2 { 0x01 } else { 0x02 });
        Ok(b.len)
    }

    /// Find By Type Value: (handle, group end) of attributes whose type and value match.
    ///
    /// Only declarations are compared, whose values the database owns: that covers the one
    /// GATT procedure using this request (Discover Primary Service by UUID) without reading
    /// application values behind their permissions. A service UUID matches in either size.
    pub(super) fn find_by_type_value(
        &mut self,
        start: u16,
        end: u16,
        attribute_type: u16,
        value: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        check_range(start, end)?;
        let wanted = Uuid::Uuid16(attribute_type);
        let mut b = Builder::new(out);
        b.push(&[&[Opcode::FIND_BY_TYPE_VALUE_RSP.0]]);
        let mut found = false;
        for (handle, attr) in self.db.range(start, end) {
            if !attr.attribute_type().same_as(&wanted) {
                continue;
            }
            let matches = match attr.kind {
                Kind::Service => Uuid::from_le_slice(value).is_some_and(|u| u.same_as(&attr.uuid)),
                Kind::Declaration => self.db.declaration_value(handle).is_some_and(|d| d.as_slice() == value),
                _ => false,
            };
            if !matches {
                continue;
            }
            if !b.push(&[&handle.to_le_bytes(), &self.db.group_end(handle).to_le_bytes()]) {
                break;
            }
            found = true;
        }
        if !found {
            return Err(not_found(start));
        }
        Ok(b.len)
    }

    /// Read By Type: (handle, value) pairs of one length (§3.4.4.1). An error on the first
    /// match is the response; on a later one the list just ends before it.
    pub(super) fn read_by_type(&mut self, start: u16, end: u16, wanted: Uuid, out: &mut [u8]) -> Result<usize, Fail> {
        check_range(start, end)?;
        let db = self.db;
        let mut b = Builder::new(out);
        b.push(&[&[Opcode::READ_BY_TYPE_RSP.0, 0]]);
        let value_max = b.room().saturating_sub(2).min(READ_BY_TYPE_VALUE_MAX);
        let mut entry_len = None;
        for (handle, attr) in db.range(start, end) {
            if !attr.attribute_type().same_as(&wanted) {
                continue;
            }
            if let Some(len) = entry_len {
                // Fit is checked before the application is asked, so it only hears about
                // reads that are really answered.
                let n = self.value(handle, attr).as_slice().len().min(value_max);
                if 2 + n != len || b.room() < len || self.check(handle, attr, Access::Read).is_err() {
                    break;
                }
            } else {
                self.check(handle, attr, Access::Read)?;
            }
            let value = self.value(handle, attr);
            let v = value.as_slice();
            let v = v.get(..value_max).unwrap_or(v);
            if !b.push(&[&handle.to_le_bytes(), v]) {
                break;
            }
            entry_len = Some(2 + v.len());
        }
        let len = entry_len.ok_or(not_found(start))?;
        b.set(1, len as u8);
        Ok(b.len)
    }

    /// Read By Group Type: (start, end, service UUID) of primary services, one UUID size
    /// per response (§3.4.4.9).
    pub(super) fn read_by_group_type(
        &mut self,
        start: u16,
        end: u16,
        group_type: Uuid,
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        check_range(start, end)?;
        // Primary services are the only groups this server has; secondary ones aren't supported.
        if !group_type.same_as(&Uuid::PRIMARY_SERVICE) {
            return Err(Fail::Error(start, ErrorCode::UNSUPPORTED_GROUP_TYPE));
        }
        let mut b = Builder::new(out);
        b.push(&[&[Opcode::READ_BY_GROUP_TYPE_RSP.0, 0]]);
        let mut entry_len = None;
        for (handle, attr) in self.db.range(start, end) {
            if attr.kind != Kind::Service {
                continue;
            }
            let (uuid, n) = uuid_bytes(&attr.uuid);
            let group_end = self.db.group_end(handle);
            if entry_len.is_some_and(|len| len != 4 + n)
                || !b.push(&[&handle.to_le_bytes(), &group_end.to_le_bytes(), &uuid[..n]])
            {
                break;
            }
            entry_len = Some(4 + n);
        }
        let len = entry_len.ok_or(not_found(start))?;
        b.set(1, len as u8);
        Ok(b.len)
    }

    /// Read and Read Blob: the value from `offset`, cut at ATT_MTU-1 (§3.4.4.3, §3.4.4.5).
    pub(super) fn read(&mut self, handle: u16, offset: u16, blob: bool, out: &mut [u8]) -> Result<usize, Fail> {
        let attr = self.attribute(handle)?;
        self.check(handle, &attr, Access::Read)?;
        let value = self.value(handle, &attr);
        // An offset equal to the length is valid and reads nothing: that ends a long read.
        let rest = value.as_slice().get(usize::from(offset)..).ok_or(Fail::Error(handle, ErrorCode::INVALID_OFFSET))?;
        let op = if blob { Opcode::READ_BLOB_RSP } else { Opcode::READ_RSP };
        let mut b = Builder::new(out);
        b.push(&[&[op.0]]);
        b.push_cut(rest);
        Ok(b.len)
    }

    /// Read Multiple (values concatenated) and Read Multiple Variable (each with its length),
    /// cut at ATT_MTU-1 (§3.4.4.7, §3.4.4.11). Any error fails the whole request.
    pub(super) fn read_multiple(&mut self, handles: HandleSet, variable: bool, out: &mut [u8]) -> Result<usize, Fail> {
        for handle in handles.iter() {
            let attr = self.attribute(handle)?;
            self.check(handle, &attr, Access::Read)?;
        }
        let op = if variable { Opcode::READ_MULTIPLE_VARIABLE_RSP } else { Opcode::READ_MULTIPLE_RSP };
        let mut b = Builder::new(out);
        b.push(&[&[op.0]]);
        for handle in handles.iter() {
            let Ok(attr) = self.attribute(handle) else { break };
            let value = self.value(handle, &attr);
            let v = value.as_slice();
            let length = u16::try_from(v.len()).unwrap_or(u16::MAX).to_le_bytes();
            if (variable && !b.push_cut(&length)) || !b.push_cut(v) {
                break;
            }
        }
        Ok(b.len)
    }
}

impl Builder<'_> {
    /// Appends as much of `bytes` as fits; true if all of it did.
    pub(super) fn push_cut(&mut self, bytes: &[u8]) -> bool {
        let n = bytes.len().min(self.room());
        self.push(&[bytes.get(..n).unwrap_or(&[])]);
        n == bytes.len()
    }
}
