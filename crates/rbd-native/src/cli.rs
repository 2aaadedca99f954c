//! The command line: global options in the style of the `rbd` and `ceph`
//! tools, then a command. Each command's options are defined in its own
//! module; this only assembles them.

use clap::{Parser, Subcommand};

use crate::commands::{check, mon_command, osdmap, rados, rbd, upload};
use crate::global::GlobalArgs;

/// Upload a Cinder volume kept in Ceph RBD to a Glance image, and talk to a
/// Ceph cluster without librados.
#[derive(Parser, Debug)]
#[command(name = "rbd-native", version, about, long_about = None, args_override_self = true)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Action,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Action {
    /// Send a command (JSON) to the monitors and print its output, as
    /// `ceph` does; exits with the command's status.
    MonCommand(mon_command::MonCommandArgs),
    /// Placement computed from an OSDMap file, printed as `osdmaptool` does.
    Osdmap(osdmap::OsdmapArgs),
    /// Object operations with the `rados` tool's syntax.
    Rados(rados::RadosArgs),
    /// Upload an RBD volume to a Glance image (clone when possible,
    /// stream otherwise).
    Upload(Box<upload::UploadArgs>),
    /// Tell, without changing anything, whether an upload would clone.
    Check(check::CheckArgs),
    /// Image commands with the `rbd` tool's syntax.
    #[command(flatten)]
    Rbd(rbd::RbdAction),
}

impl Cli {
    /// Runs the command; returns the exit status.
    pub async fn run(&self) -> Result<i32, crate::error::Error> {
        let global = &self.global;
        match &self.command {
            Action::MonCommand(args) => mon_command::run(global, args).await,
            Action::Osdmap(args) => osdmap::run(args),
            Action::Rados(args) => rados::run(global, args).await,
            Action::Upload(args) => upload::run(global, args).await,
            Action::Check(args) => check::run(global, args).await,
            Action::Rbd(action) => rbd::run(global, action).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Action, Cli};
    use crate::format::Format;

    fn cleanup_arg(id: &str) -> Result<Option<String>, String> {
        Cli::try_parse_from(["rbd-native", "upload", "--cleanup", id])
            .map(|c| match c.command {
                Action::Upload(a) => a.cleanup,
                _ => None,
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn cleanup_takes_a_uuid_only() {
        for bad in [
            "",
            "x",
            "../../etc",
            "volume-6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a",
            "6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3",
            "6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3ab",
            "6f1c1c4e4a8b4d0e9c471f7f6f0e0b3a",
            "6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3g",
            " 6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3",
            "6f1c1c4e-4a8b-4d0e-9c47+1f7f6f0e0b3a",
        ] {
            let r = cleanup_arg(bad);
            assert!(
                r.as_ref().is_err_and(|e| e.contains("UUID")),
                "{bad:?}: {r:?}"
            );
        }
        // Glance writes its ids in lower case: what is removed is named so.
        let r = cleanup_arg("6F1C1C4E-4A8B-4D0E-9C47-1F7F6F0E0B3A");
        assert_eq!(
            r.ok().flatten().as_deref(),
            Some("6f1c1c4e-4a8b-4d0e-9c47-1f7f6f0e0b3a")
        );
    }

    #[test]
    fn upload_timeouts() {
        let upload = |extra: &[&str]| {
            let mut args = vec!["rbd-native", "upload", "--volume", "v/a", "--name", "a"];
            args.extend_from_slice(extra);
            match Cli::try_parse_from(args).map(|c| c.command) {
                Ok(Action::Upload(a)) => (a.timeout, a.active_timeout, a.common.read_timeout),
                other => panic!("{other:?}"),
            }
        };
        // No deadline, 600 s for active, the client's read timeout.
        assert_eq!(upload(&[]), (0, 600, 60));
        assert_eq!(
            upload(&[
                "--timeout",
                "30",
                "--active-timeout",
                "20",
                "--read-timeout",
                "5"
            ]),
            (30, 20, 5)
        );
        assert!(
            Cli::try_parse_from(["rbd-native", "upload", "--timeout", "-1", "--cleanup", "x"])
                .is_err()
        );
    }

    #[test]
    fn format_is_plain_or_json() {
        let format = |args: &[&str]| {
            Cli::try_parse_from(args).map(|c| match c.command {
                Action::Check(a) => a.common.format,
                _ => Format::Plain,
            })
        };
        assert_eq!(format(&["rbd-native", "check"]).ok(), Some(Format::Plain));
        assert_eq!(
            format(&["rbd-native", "check", "--format", "json"]).ok(),
            Some(Format::Json)
        );
        assert_eq!(
            format(&["rbd-native", "check", "--format", "plain"]).ok(),
            Some(Format::Plain)
        );
        assert!(format(&["rbd-native", "check", "--format", "yaml"]).is_err());
    }
}
