//! The events Python sees, and their encoding as ring records.
#![forbid(unsafe_code)]
use crate::att::uuid::Uuid;

/// The status events carry for a request that got no answer in time
/// (NimBLE's BLE_HS_ETIMEOUT, which its backend reports as it is).
pub const STATUS_TIMEOUT: u16 = 13;

/// One event for Python; data is borrowed while encoding and decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// CENTRAL/PERIPHERAL CONNECT/DISCONNECT (`code` is the IRQ number).
    Link { code: u8, handle: u16, addr_type: u8, addr: [u8; 6] },
    /// CONNECTION_UPDATE, in HCI units.
    ConnUpdate { handle: u16, interval: u16, latency: u16, timeout: u16, status: u16 },
    /// SCAN_RESULT.
    ScanResult { addr_type: u8, addr: [u8; 6], adv_type: u8, rssi: i8, data: &'a [u8] },
    /// SCAN_DONE.
    ScanDone,
    /// MTU_EXCHANGED.
    MtuExchanged { handle: u16, mtu: u16 },
    /// GATTS_WRITE, with the value as written (see `deliver`).
    GattsWrite { handle: u16, value_handle: u16, data: &'a [u8] },
    /// GATTS_INDICATE_DONE.
    IndicateDone { handle: u16, value_handle: u16, status: u8 },
    /// GATTC_SERVICE_RESULT.
    Service { handle: u16, start: u16, end: u16, uuid: Uuid },
    /// GATTC_CHARACTERISTIC_RESULT.
    Characteristic { handle: u16, value_handle: u16, end_handle: u16, properties: u8, uuid: Uuid },
    /// GATTC_DESCRIPTOR_RESULT.
    Descriptor { handle: u16, dsc_handle: u16, uuid: Uuid },
    /// GATTC_*_DONE of a discovery (`code` is the IRQ number).
    DiscoverDone { code: u8, handle: u16, status: u16 },
    /// GATTC_READ_RESULT, GATTC_NOTIFY or GATTC_INDICATE (`code`).
    Data { code: u8, handle: u16, value_handle: u16, data: &'a [u8] },
    /// GATTC_READ_DONE or GATTC_WRITE_DONE (`code`).
    Status { code: u8, handle: u16, value_handle: u16, status: u16 },
    /// GATTS_READ_REQUEST: Python's answer goes back to the link.
    ReadRequest { handle: u16, value_handle: u16 },
    /// L2CAP_ACCEPT (answered back to the channel table), _CONNECT, _DISCONNECT,
    /// _RECV or _SEND_READY (`code`); `a`–`c` are the IRQ tuple's fields after the cid.
    L2cap { code: u8, handle: u16, cid: u16, a: u16, b: u16, c: u16 },
    /// ENCRYPTION_UPDATE.
    Encryption { handle: u16, encrypted: bool, authenticated: bool, bonded: bool, key_size: u8 },
    /// PASSKEY_ACTION with MicroPython's action code.
    Passkey { handle: u16, action: u8, passkey: u32 },
    /// SET_SECRET: the application stores `value` under (`sec_type`, `key`).
    SetSecret { sec_type: u8, key: &'a [u8], value: &'a [u8] },
}

struct W<'b> {
    buf: &'b mut [u8],
    at: usize,
}

impl W<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        self.buf.get_mut(self.at..self.at + bytes.len())?.copy_from_slice(bytes);
        self.at += bytes.len();
        Some(())
    }
    fn u8(&mut self, v: u8) -> Option<()> {
        self.put(&[v])
    }
    fn u16(&mut self, v: u16) -> Option<()> {
        self.put(&v.to_le_bytes())
    }
    fn uuid(&mut self, u: &Uuid) -> Option<()> {
        self.u8(u.wire_len() as u8)?;
        let n = u.write_le(self.buf.get_mut(self.at..)?)?;
        self.at += n;
        Some(())
    }
    fn data(&mut self, d: &[u8]) -> Option<()> {
        self.u16(d.len() as u16)?;
        self.put(d)
    }
}

struct R<'b> {
    buf: &'b [u8],
    at: usize,
}

impl<'b> R<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let s = self.buf.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn addr(&mut self) -> Option<[u8; 6]> {
        self.take(6)?.try_into().ok()
    }
    fn uuid(&mut self) -> Option<Uuid> {
        let n = self.u8()? as usize;
        Uuid::from_le_slice(self.take(n)?)
    }
    fn data(&mut self) -> Option<&'b [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

impl<'a> Event<'a> {
    /// Encodes into `buf`; the length, or None if it doesn't fit.
    pub fn encode(&self, buf: &mut [u8]) -> Option<usize> {
        let mut w = W { buf, at: 0 };
        match *self {
            Event::Link { code, handle, addr_type, addr } => {
                w.u8(1)?;
                w.u8(code)?;
                w.u16(handle)?;
                w.u8(addr_type)?;
                w.put(&addr)?;
            }
            Event::ConnUpdate { handle, interval, latency, timeout, status } => {
                w.u8(2)?;
                for v in [handle, interval, latency, timeout, status] {
                    w.u16(v)?;
                }
            }
            Event::ScanResult { addr_type, addr, adv_type, rssi, data } => {
                w.u8(3)?;
                w.u8(addr_type)?;
                w.put(&addr)?;
                w.u8(adv_type)?;
                w.u8(rssi as u8)?;
                w.data(data)?;
            }
            Event::ScanDone => w.u8(4)?,
            Event::MtuExchanged { handle, mtu } => {
                w.u8(5)?;
                w.u16(handle)?;
                w.u16(mtu)?;
            }
            Event::GattsWrite { handle, value_handle, data } => {
                w.u8(6)?;
                w.u16(handle)?;
                w.u16(value_handle)?;
                w.data(data)?;
            }
            Event::IndicateDone { handle, value_handle, status } => {
                w.u8(7)?;
                w.u16(handle)?;
                w.u16(value_handle)?;
                w.u8(status)?;
            }
            Event::Service { handle, start, end, uuid } => {
                w.u8(8)?;
                for v in [handle, start, end] {
                    w.u16(v)?;
                }
                w.uuid(&uuid)?;
            }
            Event::Characteristic { handle, value_handle, end_handle, properties, uuid } => {
                w.u8(9)?;
                for v in [handle, value_handle, end_handle] {
                    w.u16(v)?;
                }
                w.u8(properties)?;
                w.uuid(&uuid)?;
            }
            Event::Descriptor { handle, dsc_handle, uuid } => {
                w.u8(10)?;
                w.u16(handle)?;
                w.u16(dsc_handle)?;
                w.uuid(&uuid)?;
            }
            Event::DiscoverDone { code, handle, status } => {
                w.u8(11)?;
                w.u8(code)?;
                w.u16(handle)?;
                w.u16(status)?;
            }
            Event::Data { code, handle, value_handle, data } => {
                w.u8(12)?;
                w.u8(code)?;
                w.u16(handle)?;
                w.u16(value_handle)?;
                w.data(data)?;
            }
            Event::L2cap { code, handle, cid, a, b, c } => {
                w.u8(20)?;
                w.u8(code)?;
                for v in [handle, cid, a, b, c] {
                    w.u16(v)?;
                }
            }
            Event::ReadRequest { handle, value_handle } => {
                w.u8(14)?;
                w.u16(handle)?;
                w.u16(value_handle)?;
            }
            Event::Encryption { handle, encrypted, authenticated, bonded, key_size } => {
                w.u8(15)?;
                w.u16(handle)?;
                w.u8(encrypted as u8 | (authenticated as u8) << 1 | (bonded as u8) << 2)?;
                w.u8(key_size)?;
            }
            Event::Passkey { handle, action, passkey } => {
                w.u8(16)?;
                w.u16(handle)?;
                w.u8(action)?;
                w.put(&passkey.to_le_bytes())?;
            }
            Event::SetSecret { sec_type, key, value } => {
                w.u8(17)?;
                w.u8(sec_type)?;
                w.data(key)?;
                w.data(value)?;
            }
            Event::Status { code, handle, value_handle, status } => {
                w.u8(13)?;
                w.u8(code)?;
                w.u16(handle)?;
                w.u16(value_handle)?;
                w.u16(status)?;
            }
        }
        Some(w.at)
    }

    /// Decodes a record made by `encode`.
    pub fn decode(buf: &'a [u8]) -> Option<Event<'a>> {
        let mut r = R { buf, at: 0 };
        Some(match r.u8()? {
            1 => Event::Link { code: r.u8()?, handle: r.u16()?, addr_type: r.u8()?, addr: r.addr()? },
            2 => Event::ConnUpdate {
                handle: r.u16()?,
                interval: r.u16()?,
                latency: r.u16()?,
                timeout: r.u16()?,
                status: r.u16()?,
            },
            3 => Event::ScanResult {
                addr_type: r.u8()?,
                addr: r.addr()?,
                adv_type: r.u8()?,
                rssi: r.u8()? as i8,
                data: r.data()?,
            },
            4 => Event::ScanDone,
            5 => Event::MtuExchanged { handle: r.u16()?, mtu: r.u16()? },
            6 => Event::GattsWrite { handle: r.u16()?, value_handle: r.u16()?, data: r.data()? },
            7 => Event::IndicateDone { handle: r.u16()?, value_handle: r.u16()?, status: r.u8()? },
            8 => Event::Service { handle: r.u16()?, start: r.u16()?, end: r.u16()?, uuid: r.uuid()? },
            9 => Event::Characteristic {
                handle: r.u16()?,
                value_handle: r.u16()?,
                end_handle: r.u16()?,
                properties: r.u8()?,
                uuid: r.uuid()?,
            },
            10 => Event::Descriptor { handle: r.u16()?, dsc_handle: r.u16()?, uuid: r.uuid()? },
            11 => Event::DiscoverDone { code: r.u8()?, handle: r.u16()?, status: r.u16()? },
            12 => Event::Data { code: r.u8()?, handle: r.u16()?, value_handle: r.u16()?, data: r.data()? },
            13 => Event::Status { code: r.u8()?, handle: r.u16()?, value_handle: r.u16()?, status: r.u16()? },
            14 => Event::ReadRequest { handle: r.u16()?, value_handle: r.u16()? },
            20 => {
                Event::L2cap { code: r.u8()?, handle: r.u16()?, cid: r.u16()?, a: r.u16()?, b: r.u16()?, c: r.u16()? }
            }
            15 => {
                let handle = r.u16()?;
                let flags = r.u8()?;
                Event::Encryption {
                    handle,
                    encrypted: flags & 1 != 0,
                    authenticated: flags & 2 != 0,
                    bonded: flags & 4 != 0,
                    key_size: r.u8()?,
                }
            }
            16 => Event::Passkey {
                handle: r.u16()?,
                action: r.u8()?,
                passkey: u32::from_le_bytes(r.take(4)?.try_into().ok()?),
            },
            17 => Event::SetSecret { sec_type: r.u8()?, key: r.data()?, value: r.data()? },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips() {
        let data = [1u8, 2, 3, 4, 5];
        let uuid = Uuid::from_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788);
        let all = [
            Event::Link { code: 7, handle: 64, addr_type: 1, addr: [1, 2, 3, 4, 5, 6] },
            Event::ConnUpdate { handle: 1, interval: 40, latency: 2, timeout: 400, status: 0 },
            Event::ScanResult { addr_type: 0, addr: [9; 6], adv_type: 4, rssi: -60, data: &data },
            Event::ScanDone,
            Event::MtuExchanged { handle: 1, mtu: 185 },
            Event::GattsWrite { handle: 1, value_handle: 12, data: &data },
            Event::IndicateDone { handle: 1, value_handle: 12, status: 13 },
            Event::Service { handle: 1, start: 10, end: 20, uuid },
            Event::Characteristic {
                handle: 1,
                value_handle: 12,
                end_handle: 14,
                properties: 0x1a,
                uuid: Uuid::from(0x2a00u16),
            },
            Event::Descriptor { handle: 1, dsc_handle: 13, uuid: Uuid::CCCD },
            Event::DiscoverDone { code: 10, handle: 1, status: 0 },
            Event::Data { code: 15, handle: 1, value_handle: 12, data: &[0xaa; 300] },
            Event::Status { code: 17, handle: 1, value_handle: 12, status: 3 },
            Event::ReadRequest { handle: 1, value_handle: 12 },
            Event::L2cap { code: 22, handle: 1, cid: 0x40, a: 0x80, b: 512, c: 1024 },
            Event::Encryption { handle: 1, encrypted: true, authenticated: false, bonded: true, key_size: 16 },
            Event::Encryption { handle: 2, encrypted: false, authenticated: true, bonded: false, key_size: 7 },
            Event::Passkey { handle: 1, action: 4, passkey: 999_999 },
            Event::SetSecret { sec_type: 2, key: &[1, 2, 3, 4, 5, 6, 7], value: &[0x55; 52] },
        ];
        let mut buf = [0u8; 400];
        for e in all {
            let n = e.encode(&mut buf).unwrap();
            assert_eq!(Event::decode(&buf[..n]), Some(e));
            // Truncated records never decode (and never panic).
            for cut in 0..n {
                assert_eq!(Event::decode(&buf[..cut]).filter(|d| *d == e), None);
            }
        }
        assert_eq!(Event::Data { code: 15, handle: 1, value_handle: 1, data: &[0; 400] }.encode(&mut buf), None);
    }
}
