//! Keystone's service catalog, as returned with a token, and the choice of
//! an endpoint by service type, interface and region.

use serde::Deserialize;

use crate::config::Interface;
use crate::error::{Error, Result};

/// The services of a token's catalog.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Catalog {
    /// The services.
    pub services: Vec<Service>,
}

/// One service of the catalog.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Service {
    /// The service type (`image`, `identity`, ...).
    #[serde(rename = "type")]
    pub service_type: String,
    /// The service name (`glance`, ...), if given.
    #[serde(default)]
    pub name: Option<String>,
    /// Its endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of a service.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Endpoint {
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// The region id.
    #[serde(default)]
    pub region_id: Option<String>,
    /// The region (older name of the region id).
    #[serde(default)]
    pub region: Option<String>,
    /// The endpoint's URL.
    pub url: String,
}

impl Endpoint {
    fn in_region(&self, region: &str) -> bool {
        self.region_id.as_deref() == Some(region) || self.region.as_deref() == Some(region)
    }
}

impl Catalog {
    /// The URL of the endpoint of service type `service_type` with the
    /// given interface, in `region` when one is given (any region
    /// otherwise: the first listed). The trailing `/` is removed.
    pub fn endpoint(
        &self,
        service_type: &str,
        interface: Interface,
        region: Option<&str>,
    ) -> Result<String> {
        let services: Vec<&Service> = self
            .services
            .iter()
            .filter(|s| s.service_type == service_type)
            .collect();
        if services.is_empty() {
            let mut types: Vec<&str> = self
                .services
                .iter()
                .map(|s| s.service_type.as_str())
                .collect();
            types.sort_unstable();
            types.dedup();
            return Err(Error::Catalog(format!(
                "no {service_type:?} service in the catalog (services: {})",
                if types.is_empty() {
                    "none - is the token scoped to a project?".to_string()
                } else {
                    types.join(", ")
                }
            )));
        }
        let endpoints = || services.iter().flat_map(|s| s.endpoints.iter());
        let found = endpoints().find(|e| {
            e.interface.eq_ignore_ascii_case(interface.as_str())
                && region.is_none_or(|r| e.in_region(r))
        });
        match found {
            Some(e) => Ok(e.url.trim_end_matches('/').to_string()),
            None => {
                let available: Vec<String> = endpoints()
                    .map(|e| {
                        format!(
                            "{} in {}",
                            e.interface,
                            e.region_id
                                .as_deref()
                                .or(e.region.as_deref())
                                .unwrap_or("no region")
                        )
                    })
                    .collect();
                Err(Error::Catalog(format!(
                    "no {interface} endpoint of service {service_type:?}{} (endpoints: {})",
                    region
                        .map(|r| format!(" in region {r}"))
                        .unwrap_or_default(),
                    if available.is_empty() {
                        "none".to_string()
                    } else {
                        available.join(", ")
                    }
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        serde_json::from_str(
            r#"[
              {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "url": "http://k:5000/v3"}]},
              {"type": "image", "name": "glance", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "region": "RegionOne", "url": "http://g1:9292/"},
                {"interface": "internal", "region_id": "RegionOne", "url": "http://g1-int:9292"},
                {"interface": "public", "region_id": "RegionTwo", "url": "http://g2:9292"},
                {"interface": "admin", "region": "RegionTwo", "url": "http://g2-adm:9292"}]}
            ]"#,
        )
        .unwrap()
    }

    #[test]
    fn picks_by_interface_and_region() {
        let c = catalog();
        assert_eq!(
            c.endpoint("image", Interface::Public, Some("RegionOne"))
                .unwrap(),
            "http://g1:9292"
        );
        assert_eq!(
            c.endpoint("image", Interface::Public, Some("RegionTwo"))
                .unwrap(),
            "http://g2:9292"
        );
        assert_eq!(
            c.endpoint("image", Interface::Internal, None).unwrap(),
            "http://g1-int:9292"
        );
        // The legacy `region` field matches too.
        assert_eq!(
            c.endpoint("image", Interface::Admin, Some("RegionTwo"))
                .unwrap(),
            "http://g2-adm:9292"
        );
        assert_eq!(
            c.endpoint("image", Interface::Public, None).unwrap(),
            "http://g1:9292"
        );
    }

    #[test]
    fn explains_what_is_missing() {
        let c = catalog();
        let e = c
            .endpoint("image", Interface::Internal, Some("RegionTwo"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no internal endpoint"), "{e}");
        assert!(e.contains("region RegionTwo"), "{e}");
        assert!(e.contains("public in RegionOne"), "{e}");
        let e = c
            .endpoint("volumev3", Interface::Public, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("services: identity, image"), "{e}");
        let e = Catalog::default()
            .endpoint("image", Interface::Public, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("scoped"), "{e}");
    }
}
