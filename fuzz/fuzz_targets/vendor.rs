//! Any bytes as a vendor's HTTP answer. Layout: byte 0 picks the vendor (Contrast, Carbon
//! Black, Abnormal), bytes 1–2 the status (big-endian, folded into 100..=599 and, for half the
//! values, onto the statuses the connectors treat specially), byte 3 the length of a
//! `Retry-After` header value that follows (0 = no header), the rest is the body. It goes
//! through the shared classification and every parser the vendor's connector applies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_bridge::fuzzing::{Vendor, vendor_answer};

const COMMON: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 405, 409, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let vendor = match data[0] % 3 {
        0 => Vendor::Contrast,
        1 => Vendor::CarbonBlack,
        _ => Vendor::Abnormal,
    };
    let raw = u16::from_be_bytes([data[1], data[2]]);
    let status = if raw & 0x8000 == 0 {
        COMMON[usize::from(raw) % COMMON.len()]
    } else {
        100 + (raw & 0x7fff) % 500
    };
    let ra_len = usize::from(data[3]).min(data.len() - 4);
    let (retry_after, body) = data[4..].split_at(ra_len);
    let retry_after = (ra_len > 0).then_some(retry_after);
    vendor_answer(vendor, status, retry_after, body);
});
