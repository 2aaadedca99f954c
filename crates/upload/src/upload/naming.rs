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
}
