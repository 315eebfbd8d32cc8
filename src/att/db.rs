//! The GATT server's attribute database: what attributes exist, in handle order, and who may
//! read or write them. Values are not kept here: characteristic values and descriptors live in
//! the caller's store (MicroPython's gatts db), CCCD values per connection in the ATT server;
//! only declaration values, which follow from the structure, are produced here.
//!
//! The builder mirrors `gatts_register_services`: [`Database::begin`] starts over with the GAP
//! and GATT services, then services, characteristics and descriptors are appended in order.
//! Handles are dense from 1, so handle `h` is entry `h - 1`.
#![forbid(unsafe_code)]

use crate::att::uuid::Uuid;
use crate::config::MAX_ATTRIBUTES;

/// MicroPython's characteristic and descriptor flags (`_FLAG_*`); the low 8 bits are the GATT
/// characteristic properties byte.
pub mod flags {
    /// Broadcast property (server characteristic configuration); no effect on access.
    pub const BROADCAST: u16 = 0x0001;
    /// Readable.
    pub const READ: u16 = 0x0002;
    /// Writable with Write Command.
    pub const WRITE_NO_RESPONSE: u16 = 0x0004;
    /// Writable with Write Request (and Prepare/Execute Write).
    pub const WRITE: u16 = 0x0008;
    /// Notifiable: gets a CCCD.
    pub const NOTIFY: u16 = 0x0010;
    /// Indicatable: gets a CCCD.
    pub const INDICATE: u16 = 0x0020;
    /// Authenticated signed writes property.
    pub const AUTHENTICATED_SIGNED_WRITE: u16 = 0x0040;
    /// Writable auxiliaries (extended property); no effect on access here.
    pub const AUX_WRITE: u16 = 0x0100;
    /// Reads need an encrypted link.
    pub const READ_ENCRYPTED: u16 = 0x0200;
    /// Reads need an authenticated (MITM-protected) link.
    pub const READ_AUTHENTICATED: u16 = 0x0400;
    /// Reads need the application's authorization.
    pub const READ_AUTHORIZED: u16 = 0x0800;
    /// Writes need an encrypted link.
    pub const WRITE_ENCRYPTED: u16 = 0x1000;
    /// Writes need an authenticated (MITM-protected) link.
    pub const WRITE_AUTHENTICATED: u16 = 0x2000;
    /// Writes need the application's authorization.
    pub const WRITE_AUTHORIZED: u16 = 0x4000;
}

/// Handle of the GAP Device Name value (its value comes from the caller's store).
pub const GAP_DEVICE_NAME_HANDLE: u16 = 3;
/// Handle of the GAP Appearance value (its value comes from the caller's store).
pub const GAP_APPEARANCE_HANDLE: u16 = 5;
/// Handle of the GATT Service Changed value (indicate only; 4 bytes: affected handle range).
pub const SERVICE_CHANGED_HANDLE: u16 = 8;
/// Handle of the Service Changed CCCD.
pub const SERVICE_CHANGED_CCCD_HANDLE: u16 = 9;
/// First handle given to the application's services.
pub const FIRST_USER_HANDLE: u16 = 10;

/// The GAP service UUID.
const GAP_SERVICE: u16 = 0x1800;
/// The GATT service UUID.
const GATT_SERVICE: u16 = 0x1801;
/// Characteristic UUIDs of the built-in services.
const DEVICE_NAME: u16 = 0x2a00;
const APPEARANCE: u16 = 0x2a01;
const SERVICE_CHANGED: u16 = 0x2a05;

/// What an attribute is; its type UUID and access follow from this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A primary service declaration (type 0x2800); the attribute's `uuid` is the service's.
    Service,
    /// A characteristic declaration (type 0x2803); `uuid` and `flags` are the characteristic's,
    /// whose value is always the next handle.
    Declaration,
    /// A characteristic value; its type is the characteristic's UUID.
    Value,
    /// A descriptor registered by the application; its type is `uuid`.
    Descriptor,
    /// A Client Characteristic Configuration descriptor (0x2902), kept per connection;
    /// `flags` are its characteristic's.
    Cccd,
}

/// One attribute: kind, UUID and MicroPython flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// What the attribute is.
    pub kind: Kind,
    /// The service, characteristic or descriptor UUID (in its shortest form).
    pub uuid: Uuid,
    /// MicroPython flags of the characteristic or descriptor (0 for service declarations).
    pub flags: u16,
}

/// What an access to one attribute needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Permission {
    /// The access is possible at all.
    pub allowed: bool,
    /// The link must be encrypted.
    pub encryption: bool,
    /// The link must be encrypted with an authenticated key.
    pub authentication: bool,
    /// The application must authorize each access.
    pub authorization: bool,
}

impl Permission {
    /// Open to anyone (declarations, CCCDs).
    const OPEN: Permission =
        Permission { allowed: true, encryption: false, authentication: false, authorization: false };
    /// Never possible.
    const DENIED: Permission =
        Permission { allowed: false, encryption: false, authentication: false, authorization: false };

    /// `allowed` from any of `allow_bits`, the security needs from the three given bits.
    fn from_flags(flags: u16, allow_bits: u16, enc: u16, auth: u16, authz: u16) -> Permission {
        Permission {
            allowed: flags & allow_bits != 0,
            encryption: flags & enc != 0,
            authentication: flags & auth != 0,
            authorization: flags & authz != 0,
        }
    }
}

impl Attribute {
    /// The attribute type as ATT sees it.
    pub fn attribute_type(&self) -> Uuid {
        match self.kind {
            Kind::Service => Uuid::PRIMARY_SERVICE,
            Kind::Declaration => Uuid::CHARACTERISTIC,
            Kind::Cccd => Uuid::CCCD,
            Kind::Value | Kind::Descriptor => self.uuid,
        }
    }

    /// The GATT characteristic properties byte (the low 8 bits of MicroPython's flags).
    pub fn properties(&self) -> u8 {
        self.flags as u8
    }

    /// Whether the value is produced by the database (service and characteristic declarations).
    pub fn is_declaration(&self) -> bool {
        matches!(self.kind, Kind::Service | Kind::Declaration)
    }

    /// What reading needs.
    pub fn read_permission(&self) -> Permission {
        use flags::*;
        match self.kind {
            Kind::Service | Kind::Declaration | Kind::Cccd => Permission::OPEN,
            Kind::Value | Kind::Descriptor => {
                Permission::from_flags(self.flags, READ, READ_ENCRYPTED, READ_AUTHENTICATED, READ_AUTHORIZED)
            }
        }
    }

    /// What writing needs.
    ///
    /// Either write flag allows both Write Request and Write Command, as in MicroPython's
    /// NimBLE backend: the properties tell a client which to use, and refusing the other
    /// would only break clients that pick differently.
    pub fn write_permission(&self) -> Permission {
        use flags::*;
        match self.kind {
            Kind::Service | Kind::Declaration => Permission::DENIED,
            Kind::Cccd => Permission::OPEN,
            Kind::Value | Kind::Descriptor => Permission::from_flags(
                self.flags,
                WRITE | WRITE_NO_RESPONSE,
                WRITE_ENCRYPTED,
                WRITE_AUTHENTICATED,
                WRITE_AUTHORIZED,
            ),
        }
    }
}

/// Longest declaration value: properties, value handle, 128-bit UUID.
const DECLARATION_MAX: usize = 1 + 2 + 16;

/// A declaration value built by the database (at most 19 bytes, kept inline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeclarationValue {
    bytes: [u8; DECLARATION_MAX],
    len: u8,
}

impl DeclarationValue {
    /// The value bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Why the database refused an addition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbError {
    /// [`MAX_ATTRIBUTES`] would be exceeded; nothing was added.
    Full,
    /// A characteristic needs a service before it.
    NoService,
    /// A descriptor needs a characteristic before it.
    NoCharacteristic,
}

/// The attribute database; fixed capacity, no heap.
#[derive(Clone, Debug)]
pub struct Database {
    attrs: heapless::Vec<Attribute, MAX_ATTRIBUTES>,
    /// Whether descriptors may be added now (a characteristic is open in the current service).
    in_characteristic: bool,
}

impl Default for Database {
    fn default() -> Self {
        Self::new()
    }
}

impl Database {
    /// An empty database (no GAP/GATT services yet); call [`Database::begin`] before serving.
    pub const fn new() -> Self {
        Self { attrs: heapless::Vec::new(), in_characteristic: false }
    }

    /// Starts over with only the GAP and GATT services (handles 1 to 9).
    pub fn begin(&mut self) {
        use flags::*;
        self.attrs.clear();
        self.in_characteristic = false;
        // Nine attributes always fit: MAX_ATTRIBUTES is checked below to leave room for them.
        let builtin = [
            (GAP_SERVICE, None),
            (DEVICE_NAME, Some(READ)),
            (APPEARANCE, Some(READ)),
            (GATT_SERVICE, None),
            (SERVICE_CHANGED, Some(INDICATE)),
        ];
        for (uuid, chr) in builtin {
            let _ = match chr {
                None => self.add_service(Uuid::Uuid16(uuid)).map(drop),
                Some(f) => self.add_characteristic(Uuid::Uuid16(uuid), f).map(drop),
            };
        }
        self.in_characteristic = false;
    }

    /// Appends a primary service declaration; returns its handle.
    pub fn add_service(&mut self, uuid: Uuid) -> Result<u16, DbError> {
        let handle = self.push(Attribute { kind: Kind::Service, uuid: uuid.shortened(), flags: 0 })?;
        self.in_characteristic = false;
        Ok(handle)
    }

    /// Appends a characteristic (declaration, value, and a CCCD when it notifies or indicates);
    /// returns the value handle and the CCCD handle.
    pub fn add_characteristic(&mut self, uuid: Uuid, flags: u16) -> Result<(u16, Option<u16>), DbError> {
        if self.attrs.is_empty() {
            return Err(DbError::NoService);
        }
        let has_cccd = flags & (flags::NOTIFY | flags::INDICATE) != 0;
        // All or nothing: check room first so a full table never keeps half a characteristic.
        if self.attrs.len() + 2 + usize::from(has_cccd) > MAX_ATTRIBUTES {
            return Err(DbError::Full);
        }
        let uuid = uuid.shortened();
        self.push(Attribute { kind: Kind::Declaration, uuid, flags })?;
        let value = self.push(Attribute { kind: Kind::Value, uuid, flags })?;
        let cccd = match has_cccd {
            true => Some(self.push(Attribute { kind: Kind::Cccd, uuid: Uuid::CCCD, flags })?),
            false => None,
        };
        self.in_characteristic = true;
        Ok((value, cccd))
    }

    /// Appends a descriptor to the last characteristic; returns its handle.
    pub fn add_descriptor(&mut self, uuid: Uuid, flags: u16) -> Result<u16, DbError> {
        if !self.in_characteristic {
            return Err(DbError::NoCharacteristic);
        }
        self.push(Attribute { kind: Kind::Descriptor, uuid: uuid.shortened(), flags })
    }

    fn push(&mut self, attr: Attribute) -> Result<u16, DbError> {
        self.attrs.push(attr).map_err(|_| DbError::Full)?;
        // At most MAX_ATTRIBUTES entries, and config keeps that far below 0xFFFF.
        Ok(self.attrs.len() as u16)
    }

    /// The highest handle in use (0 when empty).
    pub fn last_handle(&self) -> u16 {
        self.attrs.len() as u16
    }

    /// The attribute at `handle`, if there is one.
    pub fn get(&self, handle: u16) -> Option<&Attribute> {
        self.attrs.get(usize::from(handle).checked_sub(1)?)
    }

    /// The attributes with handles in `start..=end`, in handle order.
    pub fn range(&self, start: u16, end: u16) -> impl Iterator<Item = (u16, &Attribute)> + '_ {
        let first = usize::from(start.max(1)) - 1;
        let last = usize::from(end).min(self.attrs.len());
        self.attrs.get(first..last).unwrap_or(&[]).iter().zip(start.max(1)..).map(|(a, h)| (h, a))
    }

    /// The last handle of the group `handle` starts: a service's last attribute, or `handle`
    /// itself for attributes that don't group others.
    pub fn group_end(&self, handle: u16) -> u16 {
        match self.get(handle) {
            Some(a) if a.kind == Kind::Service => self
                .range(handle.saturating_add(1), u16::MAX)
                .find(|(_, a)| a.kind == Kind::Service)
                .map_or(self.last_handle(), |(h, _)| h - 1),
            _ => handle,
        }
    }

    /// The value of a declaration at `handle`; `None` for other attributes.
    pub fn declaration_value(&self, handle: u16) -> Option<DeclarationValue> {
        let attr = self.get(handle)?;
        let mut v = DeclarationValue { bytes: [0; DECLARATION_MAX], len: 0 };
        let n = match attr.kind {
            Kind::Service => attr.uuid.write_le(&mut v.bytes)?,
            Kind::Declaration => {
                let [lo, hi] = handle.checked_add(1)?.to_le_bytes();
                v.bytes[..3].copy_from_slice(&[attr.properties(), lo, hi]);
                3 + attr.uuid.write_le(v.bytes.get_mut(3..)?)?
            }
            _ => return None,
        };
        v.len = n as u8;
        Some(v)
    }

    /// The CCCD handle of the characteristic whose value is at `value_handle`.
    pub fn cccd_of(&self, value_handle: u16) -> Option<u16> {
        let is_value = self.get(value_handle)?.kind == Kind::Value;
        let cccd = value_handle.checked_add(1)?;
        (is_value && self.get(cccd)?.kind == Kind::Cccd).then_some(cccd)
    }

    /// Whether `handle` belongs to the built-in GAP or GATT services (served without asking
    /// the application).
    pub fn is_builtin(&self, handle: u16) -> bool {
        handle < FIRST_USER_HANDLE
    }
}

// The built-in services must always fit, and handles must fit ATT's 16 bits.
const _: () = assert!(MAX_ATTRIBUTES >= FIRST_USER_HANDLE as usize - 1 && MAX_ATTRIBUTES < 0xffff);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Database {
        let mut db = Database::new();
        db.begin();
        db
    }

    #[test]
    fn builtin_services_come_first() {
        let db = sample();
        assert_eq!(db.last_handle(), FIRST_USER_HANDLE - 1);
        let types: Vec<u16> = db.range(1, 0xffff).map(|(_, a)| a.attribute_type().as_u16().unwrap()).collect();
        assert_eq!(types, [0x2800, 0x2803, 0x2a00, 0x2803, 0x2a01, 0x2800, 0x2803, 0x2a05, 0x2902]);
        assert_eq!(db.get(GAP_DEVICE_NAME_HANDLE).unwrap().uuid, Uuid::Uuid16(DEVICE_NAME));
        assert_eq!(db.get(GAP_APPEARANCE_HANDLE).unwrap().uuid, Uuid::Uuid16(APPEARANCE));
        assert_eq!(db.get(SERVICE_CHANGED_HANDLE).unwrap().uuid, Uuid::Uuid16(SERVICE_CHANGED));
        assert_eq!(db.cccd_of(SERVICE_CHANGED_HANDLE), Some(SERVICE_CHANGED_CCCD_HANDLE));
        assert_eq!(db.group_end(1), 5);
        assert_eq!(db.group_end(6), 9);
        assert_eq!(db.declaration_value(1).unwrap().as_slice(), [0x00, 0x18]);
        assert_eq!(db.declaration_value(2).unwrap().as_slice(), [0x02, 0x03, 0x00, 0x00, 0x2a]);
        assert_eq!(db.declaration_value(3), None);
    }

    #[test]
    fn registration_returns_micropython_handles() {
        let mut db = sample();
        let custom = Uuid::from_u128(0x6e400001_b5a3_f393_e0a9_e50e24dcca9e);
        assert_eq!(db.add_service(Uuid::Uuid16(0x180d)), Ok(10));
        assert_eq!(db.add_characteristic(Uuid::Uuid16(0x2a37), flags::READ | flags::NOTIFY), Ok((12, Some(13))));
        assert_eq!(db.add_descriptor(Uuid::Uuid16(0x2901), flags::READ), Ok(14));
        assert_eq!(db.add_characteristic(custom, flags::WRITE), Ok((16, None)));
        assert_eq!(db.add_service(custom), Ok(17));
        assert_eq!(db.add_descriptor(Uuid::Uuid16(0x2901), 0), Err(DbError::NoCharacteristic));
        assert_eq!(db.group_end(10), 16);
        assert_eq!(db.group_end(17), 17);
        assert_eq!(db.cccd_of(12), Some(13));
        assert_eq!(db.cccd_of(16), None);
        assert_eq!(db.cccd_of(13), None);
        let decl = db.declaration_value(15).unwrap();
        assert_eq!(decl.as_slice().len(), 19);
        assert_eq!(decl.as_slice()[..3], [0x08, 16, 0]);
        // A 128-bit form of a 16-bit UUID is stored short, as a client expects to see it.
        let mut db2 = sample();
        db2.add_service(Uuid::from_u128(0x0000180d_0000_1000_8000_00805f9b34fb)).unwrap();
        assert_eq!(db2.get(10).unwrap().uuid, Uuid::Uuid16(0x180d));
        // begin() starts over.
        db.begin();
        assert_eq!(db.last_handle(), 9);
        assert_eq!(db.add_characteristic(Uuid::Uuid16(1), 0), Ok((11, None)), "joins the GATT service");
    }

    #[test]
    fn full_table_is_an_error_not_a_panic() {
        let mut db = Database::new();
        assert_eq!(db.add_characteristic(Uuid::Uuid16(1), 0), Err(DbError::NoService));
        db.begin();
        db.add_service(Uuid::Uuid16(0x180d)).unwrap();
        let mut last = Ok((0, None));
        while last.is_ok() {
            last = db.add_characteristic(Uuid::Uuid16(0x2a37), flags::NOTIFY);
        }
        assert_eq!(last, Err(DbError::Full));
        // A characteristic needing three slots is refused whole, never left half added.
        assert!(db.last_handle() as usize > MAX_ATTRIBUTES - 3);
        assert_eq!(db.get(db.last_handle()).unwrap().kind, Kind::Cccd);
        while db.add_descriptor(Uuid::Uuid16(0x2901), 0).is_ok() {}
        assert_eq!(db.last_handle() as usize, MAX_ATTRIBUTES);
        assert_eq!(db.add_service(Uuid::Uuid16(1)), Err(DbError::Full));
        assert_eq!(db.add_descriptor(Uuid::Uuid16(1), 0), Err(DbError::Full));
    }

    #[test]
    fn ranges_and_permissions() {
        let db = sample();
        assert_eq!(db.range(0, 0).count(), 0);
        assert_eq!(db.range(0, 2).map(|(h, _)| h).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(db.range(8, 0xffff).map(|(h, _)| h).collect::<Vec<_>>(), [8, 9]);
        assert_eq!(db.range(9, 3).count(), 0);
        assert_eq!(db.range(100, 200).count(), 0);
        assert_eq!(db.get(0), None);
        assert_eq!(db.get(10), None);
        let value = Attribute {
            kind: Kind::Value,
            uuid: Uuid::Uuid16(1),
            flags: flags::READ | flags::READ_AUTHENTICATED | flags::WRITE_NO_RESPONSE | flags::WRITE_AUTHORIZED,
        };
        let r = value.read_permission();
        assert!(r.allowed && r.authentication && !r.encryption && !r.authorization);
        let w = value.write_permission();
        assert!(w.allowed && w.authorization && !w.authentication);
        assert!(!db.get(1).unwrap().write_permission().allowed);
        assert!(db.get(9).unwrap().write_permission().allowed);
        assert!(!db.get(SERVICE_CHANGED_HANDLE).unwrap().read_permission().allowed);
    }
}
