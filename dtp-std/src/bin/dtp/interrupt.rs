//! Ctrl-C during `dtp train`: the first SIGINT asks the run to stop before its next batch
//! (it prints `interrupted in epoch N; checkpoint of epoch N−1 kept; continue with dtp train
//! --resume DIR` and exits 130); a second one ends the process at once, also with 130.
//! Either way the checkpoint last written is whole: checkpoints are written atomically.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first SIGINT.
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed since [`catch`].
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Installs the SIGINT handler (Unix; elsewhere Ctrl-C keeps its default effect).
pub fn catch() {
    #[cfg(unix)]
    // SAFETY: `on_sigint` only touches an atomic and calls `_exit`, both async-signal-safe;
    // the handler is a valid `extern "C" fn(c_int)`.
    unsafe {
        let handler: extern "C" fn(libc::c_int) = on_sigint;
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// The first SIGINT asks the run to stop; the second ends the process.
#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    if REQUESTED.swap(true, Ordering::SeqCst) {
        // SAFETY: `_exit` is async-signal-safe and never returns.
        unsafe { libc::_exit(130) }
    }
}
