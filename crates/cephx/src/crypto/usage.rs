//! The key usages of cephx (`CEPHX_KEY_USAGE_*`): the number each kind of
//! encryption mixes into the keys it derives. The aes256k cipher derives a
//! distinct key pair per usage (RFC 8009); the legacy AES cipher ignores
//! the usage, so the AES wire is the same whatever is passed.

/// A cephx key usage number.
pub type KeyUsage = u32;

/// The auth session's connection secret (AUTH_DONE), under the auth
/// ticket's session key.
pub const AUTH_CONNECTION_SECRET: KeyUsage = 0x03;
/// A ticket's client part (the "blob for me" holding the session key),
/// under the client's secret for the auth ticket and under the auth
/// session key for the others.
pub const TICKET_SESSION_KEY: KeyUsage = 0x04;
/// A ticket blob sealed with the session key of the ticket it replaces.
pub const TICKET_BLOB: KeyUsage = 0x05;
/// The sealed part of an authorizer, under the ticket's session key.
pub const AUTHORIZE: KeyUsage = 0x10;
/// A service's challenge to an authorizer (CEPHX_V2).
pub const AUTHORIZE_CHALLENGE: KeyUsage = 0x11;
/// A service's reply to an authorizer, with its connection secret.
pub const AUTHORIZE_REPLY: KeyUsage = 0x12;
