//! `--format`: how a command prints its result.

use clap::ValueEnum;

/// The output format of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Text for a reader.
    #[default]
    #[value(name = "plain", alias = "text")]
    Plain,
    /// One JSON document.
    Json,
}

impl Format {
    /// Whether this is JSON.
    pub fn is_json(self) -> bool {
        self == Format::Json
    }
}
