//! The names an upload gives to what it makes, so that anything a killed
//! run leaves behind says which image it belonged to.

/// The volume snapshot a clone hangs from. It ends in `.clone_snap`, the
/// suffix Cinder's RBD driver gives the snapshots it makes for clones, so
/// that Cinder's `delete_volume` knows how to handle the volume later.
pub fn clone_snap(image_id: &str) -> String {
    format!("image-{image_id}.clone_snap")
}

/// The volume snapshot a streamed upload reads from (removed afterwards).
pub fn stream_snap(image_id: &str) -> String {
    format!("image-{image_id}.upload_snap")
}

/// The snapshot Glance's RBD store expects on its images.
pub const GLANCE_SNAP: &str = "snap";

/// Whether `snap` is one of ours, and for which image.
pub fn image_of_snap(snap: &str) -> Option<&str> {
    let rest = snap.strip_prefix("image-")?;
    rest.strip_suffix(".clone_snap")
        .or_else(|| rest.strip_suffix(".upload_snap"))
}

/// The location Glance's RBD store understands.
pub fn location_url(fsid: &str, pool: &str, image: &str) -> String {
    format!("rbd://{fsid}/{pool}/{image}/{GLANCE_SNAP}")
}

/// `id` as a Glance image id: a UUID in its 8-4-4-4-12 hex form, in
/// lower case (as Glance writes it); anything else is refused, so that
/// nothing named after it can be a name this tool did not make.
pub fn image_id(id: &str) -> Result<String, String> {
    let groups: Vec<&str> = id.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let hex = groups
        .iter()
        .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if lens != [8, 4, 4, 4, 12] || !hex {
        return Err(format!(
            "{id:?} is not a Glance image id (a UUID such as \
             6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a)"
        ));
    }
    Ok(id.to_ascii_lowercase())
}

/// A new Glance image id (a random UUID, version 4), for an image this
/// tool is about to create: known before the request, everything named
/// after the image can be found even when the request never answers.
/// `None` when the system has no randomness to give.
pub fn random_image_id() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The volume name Cinder gives volume `id`.
pub fn cinder_volume(id: &str) -> String {
    format!("volume-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(image_of_snap(&clone_snap("abc")), Some("abc"));
        assert_eq!(image_of_snap(&stream_snap("abc")), Some("abc"));
        assert_eq!(image_of_snap("snap"), None);
        assert_eq!(location_url("f", "images", "i"), "rbd://f/images/i/snap");
        assert_eq!(cinder_volume("u"), "volume-u");
    }

    #[test]
    fn random_ids_are_version_4_uuids() {
        let a = random_image_id().unwrap();
        assert_eq!(image_id(&a).as_deref(), Ok(a.as_str()));
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]), "{a}");
        assert_ne!(random_image_id().unwrap(), a);
    }

    #[test]
    fn image_ids_are_uuids() {
        assert_eq!(
            image_id("6F1C1C4E-4a8b-4d0e-9c47-1f7f6f0e0b3a").as_deref(),
            Ok("6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a")
        );
        for bad in [
            "",
            "-",
            "6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a/",
            "é1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3",
        ] {
            assert!(image_id(bad).is_err(), "{bad:?}");
        }
    }
}
