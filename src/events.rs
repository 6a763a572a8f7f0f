//! How the library tells its caller what is happening, without printing: the pipeline
//! calls a [`Listener`]; the binary's `ui.rs` implements it for the terminal (honouring
//! `--quiet`, `--verbose`, `--color` and `--format`).

use crate::check::Report;

pub trait Listener {
    /// A stage line, in cargo's style: `Building`, `Built`, `Checked`, `Packaged`...
    fn stage(&self, verb: &str, text: &str);
    /// Something valid but risky the user should know about.
    fn warning(&self, message: &str);
    /// An error the run goes on past, or explains its exit code with.
    fn error(&self, message: &str);
    /// The DLL check of a built file, for the human report.
    fn report(&self, report: &Report);
    /// A command about to run (shown with `-v`).
    fn command(&self, line: &str);
    /// A line a child process printed that is not ours to parse (passed through).
    fn passthrough(&self, line: &str);
    /// A step that may take a while begins (a spinner on a terminal) ...
    fn busy(&self, text: &str);
    /// ... and ends.
    fn done(&self);
}
