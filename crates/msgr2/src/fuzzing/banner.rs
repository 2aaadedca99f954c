//! The body of the `msgr2_banner` fuzz target.

use bytes::BytesMut;

use crate::banner::{Banner, BANNER_HEAD_LEN};

/// Decodes the input as a peer's banner, whole and fed one byte at a time.
///
/// Panics on a bug: both ways must agree; an incomplete banner consumes
/// nothing and asks for more than it has; a decoded banner's raw bytes are
/// the front of the input, and it re-encodes to a banner that decodes to
/// the same feature words.
pub fn banner(data: &[u8]) {
    let mut whole = BytesMut::from(data);
    let at_once = Banner::decode(&mut whole);

    let mut trickle = BytesMut::new();
    let mut fed = 0;
    let trickled = loop {
        match Banner::decode(&mut trickle) {
            Ok(None) if fed < data.len() => {
                assert!(Banner::needed(&trickle) > trickle.len());
                assert_eq!(trickle.len(), fed, "an incomplete banner was consumed");
                trickle.extend_from_slice(&data[fed..=fed]);
                fed += 1;
            }
            other => break other,
        }
    };

    match (&at_once, &trickled) {
        (Ok(Some((b1, raw1))), Ok(Some((b2, raw2)))) => {
            assert_eq!(b1, b2);
            assert_eq!(raw1, raw2);
            assert!(raw1.len() >= BANNER_HEAD_LEN + 16);
            assert_eq!(&raw1[..], &data[..raw1.len()]);
            assert_eq!(&whole[..], &data[raw1.len()..]);
            let _ = Banner::ours().check_peer(b1);
            let mut out = BytesMut::new();
            b1.encode(&mut out);
            let again = Banner::decode(&mut out);
            assert_eq!(again.map(|b| b.map(|(b, _)| b)), Ok(Some(*b1)));
        }
        (Ok(None), Ok(None)) => assert_eq!(&whole[..], data),
        (Err(e1), Err(e2)) => assert_eq!(e1, e2),
        _ => panic!("whole: {at_once:?}, byte by byte: {trickled:?}"),
    }
}
