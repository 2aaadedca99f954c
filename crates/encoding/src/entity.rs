//! Entity types and names: `entity_name_t` (type + number, e.g. `osd.3`),
//! `EntityName` (type + id, e.g. `client.admin`) and `entity_inst_t`.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use crate::addr::EntityAddr;
use crate::codec::{Decode, Encode};
use crate::error::{DecodeError, ErrorKind};
use crate::reader::Reader;

/// The kind of a Ceph entity (`CEPH_ENTITY_TYPE_*`): one bit per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityType(pub u8);

impl EntityType {
    /// A monitor (`CEPH_ENTITY_TYPE_MON`).
    pub const MON: Self = Self(0x01);
    /// A metadata server (`CEPH_ENTITY_TYPE_MDS`).
    pub const MDS: Self = Self(0x02);
    /// An object storage daemon (`CEPH_ENTITY_TYPE_OSD`).
    pub const OSD: Self = Self(0x04);
    /// A client (`CEPH_ENTITY_TYPE_CLIENT`).
    pub const CLIENT: Self = Self(0x08);
    /// A manager (`CEPH_ENTITY_TYPE_MGR`).
    pub const MGR: Self = Self(0x10);
    /// The authentication service (`CEPH_ENTITY_TYPE_AUTH`).
    pub const AUTH: Self = Self(0x20);
    /// Any kind (`CEPH_ENTITY_TYPE_ANY`), used in masks.
    pub const ANY: Self = Self(0xff);

    const NAMES: [(EntityType, &'static str); 6] = [
        (Self::MON, "mon"),
        (Self::MDS, "mds"),
        (Self::OSD, "osd"),
        (Self::CLIENT, "client"),
        (Self::MGR, "mgr"),
        (Self::AUTH, "auth"),
    ];

    /// The short name (`mon`, `osd`, `client`...), or `None` for an
    /// unnamed value.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, name)| *name)
    }

    /// The type with short name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(t, _)| *t)
    }
}

/// The short name, or `unknown` as Ceph prints it.
impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name().unwrap_or("unknown"))
    }
}

impl Encode for EntityType {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        buf.put_u8(self.0);
    }
}

impl Decode for EntityType {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u8::decode(reader).map(EntityType)
    }
}

fn bad_text(input: &str, reason: &'static str) -> DecodeError {
    DecodeError::new(
        ErrorKind::BadText {
            input: input.to_owned(),
            reason,
        },
        0,
    )
}

fn split_type(s: &str) -> Result<(EntityType, &str), DecodeError> {
    let (ty, rest) = s
        .split_once('.')
        .ok_or_else(|| bad_text(s, "expected <type>.<id>"))?;
    let ty = EntityType::from_name(ty)
        .ok_or_else(|| bad_text(s, "unknown entity type (mon, mds, osd, client, mgr, auth)"))?;
    Ok((ty, rest))
}

crate::ceph_struct! {
    /// Ceph's `entity_name_t`: an entity's type (`u8`) and number (`i64`), as
    /// messages carry it (`osd.3`, `client.4123`; a negative number means
    /// "not yet assigned").
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct EntityNameT {
        /// The kind of entity.
        pub entity_type: EntityType,
        /// Its number; negative (`-1`, `NEW`) when not yet assigned.
        pub num: i64,
    }
}

impl EntityNameT {
    /// The number of an entity that has none yet.
    pub const NEW: i64 = -1;

    /// A name of type `entity_type` and number `num`.
    pub const fn new(entity_type: EntityType, num: i64) -> Self {
        Self { entity_type, num }
    }
}

/// `type.num`, or `type.?` for a negative number, as Ceph prints it.
impl fmt::Display for EntityNameT {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num < 0 {
            write!(f, "{}.?", self.entity_type)
        } else {
            write!(f, "{}.{}", self.entity_type, self.num)
        }
    }
}

/// Parses `osd.3`, `client.4123` (not `auth.*`, not `type.?`).
impl FromStr for EntityNameT {
    type Err = DecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (entity_type, num) = split_type(s)?;
        if entity_type == EntityType::AUTH {
            return Err(bad_text(s, "auth has no numbered entities"));
        }
        if !num
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'-')
        {
            return Err(bad_text(s, "expected a number after the type"));
        }
        let num = num
            .parse()
            .map_err(|_| bad_text(s, "expected a number after the type"))?;
        Ok(Self { entity_type, num })
    }
}

/// Ceph's `EntityName`: an entity's type and id as used for authentication
/// and keyrings (`client.admin`, `osd.0`, `mon.a`). Encoded as the type
/// (`u32`) and the id (string).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityName {
    /// The kind of entity.
    pub entity_type: EntityType,
    /// The id after the dot.
    pub id: String,
}

impl EntityName {
    /// A name of type `entity_type` and id `id`.
    pub fn new(entity_type: EntityType, id: impl Into<String>) -> Self {
        Self {
            entity_type,
            id: id.into(),
        }
    }
}

impl Encode for EntityName {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        u32::from(self.entity_type.0).encode(buf, features);
        self.id.encode(buf, features);
    }
}

impl Decode for EntityName {
    const MIN_ENCODED_SIZE: usize = 8;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = reader.offset();
        let ty = u32::decode(reader).map_err(|e| e.within("EntityName", "type"))?;
        let entity_type = u8::try_from(ty).map(EntityType).map_err(|_| {
            DecodeError::new(
                ErrorKind::InvalidValue {
                    what: "entity type",
                    value: u64::from(ty),
                },
                at,
            )
            .within("EntityName", "type")
        })?;
        let id = String::decode(reader).map_err(|e| e.within("EntityName", "id"))?;
        Ok(Self { entity_type, id })
    }
}

/// `type.id` (`client.admin`); empty for type 0, as Ceph prints it.
impl fmt::Display for EntityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entity_type.0 == 0 {
            Ok(())
        } else {
            write!(f, "{}.{}", self.entity_type, self.id)
        }
    }
}

/// Parses `type.id` where type is one of `mon`, `mds`, `osd`, `client`,
/// `mgr`, `auth`; the id is everything after the first dot.
impl FromStr for EntityName {
    type Err = DecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (entity_type, id) = split_type(s)?;
        Ok(Self {
            entity_type,
            id: id.to_owned(),
        })
    }
}

crate::ceph_struct! {
    /// Ceph's `entity_inst_t`: an entity's name and address.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct EntityInst {
        /// Who.
        pub name: EntityNameT,
        /// Where (encoded according to the features).
        pub addr: EntityAddr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn entity_name_t_layout_and_text() {
        let n = EntityNameT::new(EntityType::OSD, 1);
        assert_eq!(&n.to_bytes(0)[..], &[4, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(n.to_string(), "osd.1");
        assert_eq!("osd.1".parse::<EntityNameT>().ok(), Some(n));
        assert_eq!(
            EntityNameT::new(EntityType::CLIENT, EntityNameT::NEW).to_string(),
            "client.?"
        );
        assert!("osd.".parse::<EntityNameT>().is_err());
        assert!("osd. 1".parse::<EntityNameT>().is_err());
        assert!("osd.1x".parse::<EntityNameT>().is_err());
        assert!("disk.1".parse::<EntityNameT>().is_err());
        assert!("auth.1".parse::<EntityNameT>().is_err());
        assert_eq!(EntityNameT::MIN_ENCODED_SIZE, 9);
    }

    #[test]
    fn entity_name_layout_and_text() {
        let n: Result<EntityName, _> = "client.admin".parse();
        assert_eq!(n, Ok(EntityName::new(EntityType::CLIENT, "admin")));
        let n = EntityName::new(EntityType::CLIENT, "admin");
        assert_eq!(
            &n.to_bytes(0)[..],
            &[8, 0, 0, 0, 5, 0, 0, 0, b'a', b'd', b'm', b'i', b'n']
        );
        assert_eq!(n.to_string(), "client.admin");
        assert_eq!(
            "client.rbd.mirror".parse::<EntityName>().map(|n| n.id),
            Ok("rbd.mirror".to_owned())
        );
        assert!("admin".parse::<EntityName>().is_err());
        assert!("alien.x".parse::<EntityName>().is_err());
        assert_eq!(EntityName::default().to_string(), "");
        // A type that does not fit entity_type_t is refused.
        let e = EntityName::decode_exact(&[0, 1, 0, 0, 0, 0, 0, 0]).err();
        assert!(matches!(
            e.map(|e| e.kind().clone()),
            Some(ErrorKind::InvalidValue { value: 256, .. })
        ));
    }

    #[test]
    fn type_names() {
        for t in [
            EntityType::MON,
            EntityType::MDS,
            EntityType::OSD,
            EntityType::CLIENT,
            EntityType::MGR,
            EntityType::AUTH,
        ] {
            assert_eq!(t.name().and_then(EntityType::from_name), Some(t));
        }
        assert_eq!(EntityType(0x40).to_string(), "unknown");
    }

    proptest! {
        #[test]
        fn round_trips(ty: u8, num: i64, id: String) {
            let n = EntityNameT::new(EntityType(ty), num);
            prop_assert_eq!(EntityNameT::decode_exact(&n.to_bytes(0)), Ok(n));
            let n = EntityName::new(EntityType(ty), id.clone());
            prop_assert_eq!(EntityName::decode_exact(&n.to_bytes(0)), Ok(n.clone()));
            if let Some(name) = EntityType(ty).name() {
                let text = format!("{name}.{id}");
                prop_assert_eq!(text.parse::<EntityName>(), Ok(n));
                if num >= 0 && EntityType(ty) != EntityType::AUTH {
                    let n = EntityNameT::new(EntityType(ty), num);
                    prop_assert_eq!(n.to_string().parse::<EntityNameT>(), Ok(n));
                }
            }
        }
    }
}
