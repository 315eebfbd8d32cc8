//! The list parameters of ATT PDUs: checked on construction, iterated without failing.
//!
//! Each type wraps entries exactly as they lie on the wire (so parsing copies nothing and
//! emitting is one copy). The constructors enforce the spec's layout, which is what lets
//! the iterators be infallible: they read through the same bounds-checked cursor and
//! simply stop where an entry would run past the end.

use super::uuid::Uuid;
use super::wire::{Error, Reader};

/// Which UUID size a Find Information Response carries (its Format byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Format 0x01: 16-bit UUIDs, 4-byte entries.
    Uuid16,
    /// Format 0x02: 128-bit UUIDs, 18-byte entries.
    Uuid128,
}

impl Format {
    /// The Format byte on the wire.
    pub const fn to_byte(self) -> u8 {
        match self {
            Format::Uuid16 => 0x01,
            Format::Uuid128 => 0x02,
        }
    }

    /// Bytes each UUID takes in this format.
    pub const fn uuid_len(self) -> usize {
        match self {
            Format::Uuid16 => 2,
            Format::Uuid128 => 16,
        }
    }
}

/// The (handle, UUID) list of a Find Information Response; at least one whole entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InformationData<'a> {
    pub(super) format: Format,
    pub(super) bytes: &'a [u8],
}

impl<'a> InformationData<'a> {
    /// Wraps entries already laid out on the wire (handle, then UUID of the format's size).
    pub fn new(format: Format, bytes: &'a [u8]) -> Result<Self, Error> {
        check_entries(bytes, 2 + format.uuid_len())?;
        Ok(Self { format, bytes })
    }

    /// The UUID size of every entry.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The entries as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The (handle, attribute type) entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, Uuid)> + 'a {
        let (mut r, n) = (Reader(self.bytes), self.format.uuid_len());
        core::iter::from_fn(move || Some((r.u16().ok()?, Uuid::from_le_slice(r.take(n).ok()?)?)))
    }
}

/// The (found handle, group end handle) list of a Find By Type Value Response; at least one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlesInformation<'a>(pub(super) &'a [u8]);

impl<'a> HandlesInformation<'a> {
    /// Wraps 4-byte entries already laid out on the wire.
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        check_entries(bytes, 4)?;
        Ok(Self(bytes))
    }

    /// The entries as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The (found attribute handle, group end handle) entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u16)> + 'a {
        let mut r = Reader(self.0);
        core::iter::from_fn(move || Some((r.u16().ok()?, r.u16().ok()?)))
    }
}

/// The attribute data list of a Read By Type Response: entries of `length` bytes, at least one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeData<'a> {
    pub(super) length: u8,
    pub(super) bytes: &'a [u8],
}

impl<'a> AttributeData<'a> {
    /// Wraps entries (handle, then `length - 2` value bytes) already laid out on the wire.
    pub fn new(length: u8, bytes: &'a [u8]) -> Result<Self, Error> {
        if length < 2 {
            return Err(Error::Invalid);
        }
        check_entries(bytes, length.into())?;
        Ok(Self { length, bytes })
    }

    /// The Length byte: size of each entry, handle included.
    pub fn length(&self) -> u8 {
        self.length
    }

    /// The entries as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The (handle, value) entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        let (mut r, n) = (Reader(self.bytes), usize::from(self.length).saturating_sub(2));
        core::iter::from_fn(move || Some((r.u16().ok()?, r.take(n).ok()?)))
    }
}

/// The attribute data list of a Read By Group Type Response: entries of `length` bytes, at least one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupData<'a> {
    pub(super) length: u8,
    pub(super) bytes: &'a [u8],
}

impl<'a> GroupData<'a> {
    /// Wraps entries (start, end, then `length - 4` value bytes) already laid out on the wire.
    pub fn new(length: u8, bytes: &'a [u8]) -> Result<Self, Error> {
        if length < 4 {
            return Err(Error::Invalid);
        }
        check_entries(bytes, length.into())?;
        Ok(Self { length, bytes })
    }

    /// The Length byte: size of each entry, both handles included.
    pub fn length(&self) -> u8 {
        self.length
    }

    /// The entries as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The (group start handle, group end handle, value) entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u16, &'a [u8])> + 'a {
        let (mut r, n) = (Reader(self.bytes), usize::from(self.length).saturating_sub(4));
        core::iter::from_fn(move || Some((r.u16().ok()?, r.u16().ok()?, r.take(n).ok()?)))
    }
}

/// The handles of a Read Multiple (Variable) Request: two or more, as the spec requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleSet<'a>(pub(super) &'a [u8]);

impl<'a> HandleSet<'a> {
    /// Wraps little-endian handles already laid out on the wire.
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        check_entries(bytes, 2)?;
        if bytes.len() < 4 {
            return Err(Error::Truncated);
        }
        Ok(Self(bytes))
    }

    /// The handles as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The handles in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        let mut r = Reader(self.0);
        core::iter::from_fn(move || r.u16().ok())
    }
}

/// One tuple of a Read Multiple Variable Response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthValue<'a> {
    /// The attribute value's full length.
    pub length: u16,
    /// The value bytes present; shorter than `length` only in a last tuple cut at ATT_MTU-1.
    pub value: &'a [u8],
}

/// The (length, value) tuples of a Read Multiple Variable Response, taken as they come.
///
/// The server cuts the list at ATT_MTU-1 bytes wherever that falls (Vol 3 Part F §3.4.4.12),
/// so any byte string is accepted: the last value may be short and a lone trailing length
/// byte is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthValues<'a>(pub(super) &'a [u8]);

impl<'a> LengthValues<'a> {
    /// Wraps tuples already laid out on the wire.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// The tuples as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The tuples in order, the last one possibly cut short.
    pub fn iter(&self) -> impl Iterator<Item = LengthValue<'a>> + 'a {
        let mut r = Reader(self.0);
        core::iter::from_fn(move || {
            let length = r.u16().ok()?;
            let value = r.take(length.into()).unwrap_or_else(|_| r.rest());
            Some(LengthValue { length, value })
        })
    }
}

/// The (handle, length, value) tuples of a Multiple Handle Value Notification; whole, at least one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleLengthValues<'a>(pub(super) &'a [u8]);

impl<'a> HandleLengthValues<'a> {
    /// Wraps tuples already laid out on the wire, checking every length.
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader(bytes);
        loop {
            r.u16()?;
            let length = r.u16()?;
            r.take(length.into())?;
            if r.0.is_empty() {
                return Ok(Self(bytes));
            }
        }
    }

    /// The tuples as they are on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The (handle, value) tuples in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        let mut r = Reader(self.0);
        core::iter::from_fn(move || {
            let handle = r.u16().ok()?;
            let length = r.u16().ok()?;
            Some((handle, r.take(length.into()).ok()?))
        })
    }
}

/// Checks a list of fixed-size entries: at least one, and no partial entry at the end.
fn check_entries(bytes: &[u8], entry_len: usize) -> Result<(), Error> {
    if bytes.is_empty() || bytes.len().checked_rem(entry_len) != Some(0) {
        return Err(Error::Truncated);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_information_entries() {
        let mut wide = vec![0x10, 0x00];
        wide.extend(0u8..16);
        let d = InformationData::new(Format::Uuid128, &wide).unwrap();
        let uuid: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(d.iter().collect::<Vec<_>>(), [(0x10, Uuid::Uuid128(uuid))]);
        assert_eq!(InformationData::new(Format::Uuid16, &wide), Err(Error::Truncated), "18 is not a multiple of 4");
        assert_eq!(InformationData::new(Format::Uuid16, &[]), Err(Error::Truncated));
    }

    #[test]
    fn handle_lists() {
        let d = HandlesInformation::new(&[0x01, 0x00, 0x05, 0x00, 0x06, 0x00, 0xff, 0xff]).unwrap();
        assert_eq!(d.iter().collect::<Vec<_>>(), [(1, 5), (6, 0xffff)]);
        assert_eq!(HandlesInformation::new(&[1, 0, 5]), Err(Error::Truncated));
        let h = HandleSet::new(&[0x03, 0x00, 0x00, 0x01]).unwrap();
        assert_eq!(h.iter().collect::<Vec<_>>(), [3, 0x100]);
        assert_eq!(HandleSet::new(&[0x03, 0x00]), Err(Error::Truncated), "the spec asks for two or more");
    }

    #[test]
    fn attribute_data_with_empty_values() {
        // Length 2: entries are bare handles (attributes with empty values).
        let d = AttributeData::new(2, &[0x01, 0x00, 0x02, 0x00]).unwrap();
        assert_eq!(d.iter().collect::<Vec<_>>(), [(1, &[][..]), (2, &[][..])]);
        let g = GroupData::new(4, &[0x01, 0x00, 0x02, 0x00]).unwrap();
        assert_eq!(g.iter().collect::<Vec<_>>(), [(1, 2, &[][..])]);
        assert_eq!(AttributeData::new(1, &[0x01]), Err(Error::Invalid));
        assert_eq!(GroupData::new(3, &[0x01, 0x00, 0x02]), Err(Error::Invalid));
        assert_eq!(AttributeData::new(3, &[]), Err(Error::Truncated));
    }

    #[test]
    fn length_values_cut_at_the_mtu() {
        let whole = LengthValues::new(&[0x02, 0x00, 0xaa, 0xbb, 0x00, 0x00]);
        let got: Vec<_> = whole.iter().map(|t| (t.length, t.value)).collect();
        assert_eq!(got, [(2, &[0xaa, 0xbb][..]), (0, &[][..])]);
        // The last value is partial: its length says 5, one byte made it into the PDU.
        let cut = LengthValues::new(&[0x01, 0x00, 0x11, 0x05, 0x00, 0x22]);
        let got: Vec<_> = cut.iter().map(|t| (t.length, t.value)).collect();
        assert_eq!(got, [(1, &[0x11][..]), (5, &[0x22][..])]);
        // A cut through a length field leaves one byte that names nothing.
        let lone = LengthValues::new(&[0x01, 0x00, 0x11, 0x05]);
        assert_eq!(lone.iter().count(), 1);
        assert_eq!(LengthValues::new(&[]).iter().count(), 0);
    }

    #[test]
    fn handle_length_values_must_be_whole() {
        let l = HandleLengthValues::new(&[0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x42]).unwrap();
        assert_eq!(l.iter().collect::<Vec<_>>(), [(3, &[][..]), (5, &[0x42][..])]);
        assert_eq!(HandleLengthValues::new(&[0x03, 0x00, 0x01]), Err(Error::Truncated));
        assert_eq!(HandleLengthValues::new(&[0x03, 0x00, 0x00, 0x00, 0x05]), Err(Error::Truncated));
    }
}
