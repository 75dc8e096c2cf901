//! The one error type of the `echo` crate. Every message names the file or value at fault and,
//! where it can, how to fix it; callers map `Error` to exit code 2 (bad input) unless it is `Internal`.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// Input data is malformed (wrong shape, NaN, labels outside 0-2, zero spacing, ...).
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// A bug or an unexpected library failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
    pub fn invalid(what: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Error::Invalid {
            what: what.into(),
            message: message.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
