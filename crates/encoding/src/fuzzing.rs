//! Bodies of the fuzz targets, public so that ordinary tests can replay the
//! fuzzers' saved corpora through exactly the same code.
//!
//! Each function accepts any bytes and panics only when it finds a bug (an
//! encoding that does not decode back to the same value).

use crate::features::CEPH_FEATURES_ALL;
use crate::{Decode, Encode, EntityAddr, EntityAddrVec};

/// Decodes `data` as an `entity_addr_t` and as an `entity_addrvec_t`.
/// Whatever decodes is re-encoded in the `MSG_ADDR2` form and must decode to
/// the same value, and re-encode to the same bytes; it is also encoded in
/// the legacy form, which must decode, and round-trip from then on.
///
/// # Panics
///
/// When a decoded value does not survive re-encoding (a bug).
pub fn entity_addr(data: &[u8]) {
    if let Ok(addr) = EntityAddr::decode_exact(data) {
        check_round_trip(&addr);
    }
    if let Ok(vec) = EntityAddrVec::decode_exact(data) {
        check_round_trip(&vec);
    }
}

fn check_round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(value: &T) {
    let modern = value.to_bytes(CEPH_FEATURES_ALL);
    let again = T::decode_exact(&modern);
    assert_eq!(again.as_ref(), Ok(value), "MSG_ADDR2 round trip");
    if let Ok(again) = again {
        assert_eq!(
            again.to_bytes(CEPH_FEATURES_ALL),
            modern,
            "re-encoding is stable"
        );
    }
    // The legacy form drops what it cannot carry (the type, non-IP
    // families), so it is checked once that loss has happened.
    let from_legacy = T::decode_exact(&value.to_bytes(0));
    assert!(from_legacy.is_ok(), "legacy form decodes: {from_legacy:?}");
    if let Ok(from_legacy) = from_legacy {
        let again = T::decode_exact(&from_legacy.to_bytes(0));
        assert_eq!(again.as_ref(), Ok(&from_legacy), "legacy round trip");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn accepts_junk() {
        super::entity_addr(&[]);
        super::entity_addr(&[1, 1, 1, 0, 0, 0, 0]);
        super::entity_addr(&[2, 1, 0, 0, 0, 0]);
        super::entity_addr(&[0; 200]);
    }
}
