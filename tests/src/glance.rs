//! Our Keystone/Glance client for the bed (feature `glance`).

use futures_util::StreamExt;
use glance_client::{CloudConfig, ConfigLoader, Glance};

use crate::Testbed;

impl Testbed {
    /// The client configuration of the bed's uploader from its `OS_*`
    /// variables alone ([`Testbed::os_env`]; no clouds.yaml).
    pub fn glance_config(&self) -> CloudConfig {
        ConfigLoader::with_env(self.os_env())
            .config_files(vec![])
            .load()
            .expect("config from OS_* variables")
    }

    /// The bed's Glance, as the uploader ([`Testbed::glance_config`]).
    pub async fn glance(&self) -> Glance {
        glance_client::connect(self.glance_config())
            .await
            .expect("connect to Glance")
    }
}

/// The whole data of Glance image `id`.
pub async fn glance_download(glance: &Glance, id: &str) -> Vec<u8> {
    let mut stream = glance.download(id).await.expect("download");
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.expect("download chunk"));
    }
    got
}

/// Waits (up to a minute) until Glance has computed the image's hash and
/// ended the task that did it (the locations API hashes in the background).
pub async fn glance_wait_hashed(glance: &Glance, id: &str) {
    for _ in 0..120 {
        match glance.show_image(id).await {
            // The hash is saved a moment before the import task ends and
            // gives up the image's `os_glance_import_task` lock; a delete in
            // between gets a 500 from Glance.
            Ok(img)
                if img.os_hash_value.is_some()
                    && img.property(glance_client::IMPORT_LOCK).is_none() =>
            {
                return
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => return,
            Err(_) => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("Glance never finished hashing image {id}");
}

/// Deletes Glance image `id` (gone already is fine), retrying for half a
/// minute while Glance refuses (an image busy with a task).
pub async fn glance_delete(glance: &Glance, id: &str) {
    for _ in 0..30 {
        match glance.delete_image(id).await {
            Ok(()) => return,
            Err(e) if e.is_not_found() => return,
            Err(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    }
    panic!("could not delete Glance image {id}");
}
