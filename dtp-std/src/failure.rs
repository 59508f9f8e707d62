//! [`Failure`]: an error with the process exit code it maps to.
//!
//! | code | meaning |
//! |---|---|
//! | 1 | anything else (e.g. the run directory cannot be written) |
//! | 2 | bad input: a missing or malformed dataset, config or checkpoint, a bad flag |
//! | 3 | training met a NaN or an infinity, or diverged (the last good checkpoint is kept) |
//! | 130 | interrupted (Ctrl-C): the last checkpoint written is kept |

use std::fmt;

/// Exit code of an unclassified failure.
pub const EXIT_OTHER: u8 = 1;
/// Exit code of bad input.
pub const EXIT_INPUT: u8 = 2;
/// Exit code of a non-finite number in training, or of a run that diverged
/// ([`crate::divergence`]).
pub const EXIT_NON_FINITE: u8 = 3;
/// Exit code of a run stopped by the user (SIGINT, Ctrl-C: 128 + 2, as a shell reports it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// An error and the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// What went wrong (printed with its causes).
    pub error: anyhow::Error,
}

impl Failure {
    /// Bad input (exit code 2).
    pub fn input(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_INPUT,
            error: error.into(),
        }
    }

    /// Anything else (exit code 1).
    pub fn other(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: EXIT_OTHER,
            error: error.into(),
        }
    }
}

impl fmt::Display for Failure {
    /// The error and its causes, `: `-separated (as `{:#}` prints an `anyhow::Error`), leaving
    /// out a cause whose text the message already ends with (an I/O error named in its
    /// wrapper's message is printed once).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.error.to_string();
        for cause in self.error.chain().skip(1) {
            let c = cause.to_string();
            if !text.ends_with(&c) {
                text.push_str(": ");
                text.push_str(&c);
            }
        }
        f.write_str(&text)
    }
}

/// `Result` with a [`Failure`].
pub type Outcome<T> = Result<T, Failure>;

/// Classifies the error of a `Result` as a [`Failure`].
pub trait Classify<T> {
    /// The error is bad input (exit code 2).
    fn or_input(self) -> Outcome<T>;
    /// The error is something else (exit code 1).
    fn or_other(self) -> Outcome<T>;
}

impl<T, E: Into<anyhow::Error>> Classify<T> for Result<T, E> {
    fn or_input(self) -> Outcome<T> {
        self.map_err(Failure::input)
    }
    fn or_other(self) -> Outcome<T> {
        self.map_err(Failure::other)
    }
}
