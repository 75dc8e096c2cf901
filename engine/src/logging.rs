//! Logging: one `tracing` subscriber with two outputs. Stderr gets short human lines
//! (`warning: ...`, `error: ...`, plain info lines; level from `-q`/`-v`/`-vv`) that never tear a
//! progress bar; the current job's `run.log` gets timestamped lines with the node span
//! (`node{id=train kind=ppo}`). Sweeps switch the run log between jobs with [`set_run_log`].

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use indicatif::ProgressBar;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;

static RUN_LOG: Mutex<Option<File>> = Mutex::new(None);
static PROGRESS: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Installs the global subscriber. `verbosity`: -1 quiet (warnings and errors), 0 normal,
/// 1 debug, 2 trace. Does nothing if a subscriber is already installed.
pub fn init(verbosity: i8) {
    let stderr_level = match verbosity {
        i8::MIN..=-1 => LevelFilter::WARN,
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let file_level = if verbosity >= 1 {
        stderr_level
    } else {
        LevelFilter::INFO
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .event_format(Short)
        .with_writer(StderrMake)
        .with_filter(stderr_level);
    let file = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(RunLogMake)
        .with_filter(file_level);
    let subscriber = tracing_subscriber::registry().with(stderr).with(file);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Sends log lines to `path` (appending) until the guard is dropped.
pub fn set_run_log(path: &Path) -> std::io::Result<RunLogGuard> {
    let file = File::options().create(true).append(true).open(path)?;
    if let Ok(mut slot) = RUN_LOG.lock() {
        *slot = Some(file);
    }
    Ok(RunLogGuard(()))
}

/// Stops writing the run log when dropped.
#[must_use]
pub struct RunLogGuard(());

impl Drop for RunLogGuard {
    fn drop(&mut self) {
        if let Ok(mut slot) = RUN_LOG.lock() {
            *slot = None;
        }
    }
}

/// Routes stderr log lines around `bar` until the guard is dropped (the bar is cleared then).
pub fn attach_progress(bar: &ProgressBar) -> ProgressGuard {
    if let Ok(mut slot) = PROGRESS.lock() {
        *slot = Some(bar.clone());
    }
    ProgressGuard(bar.clone())
}

#[must_use]
pub struct ProgressGuard(ProgressBar);

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        if let Ok(mut slot) = PROGRESS.lock() {
            *slot = None;
        }
        self.0.finish_and_clear();
    }
}

/// Stderr line format: `warning: ` / `error: ` prefixes, plain info lines.
struct Short;

impl<S, N> FormatEvent<S, N> for Short
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let prefix = match *event.metadata().level() {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::INFO => "",
            Level::DEBUG => "debug: ",
            Level::TRACE => "trace: ",
        };
        write!(w, "{prefix}")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// A line buffered until the formatter is done with it, then written in one piece.
struct LineWriter {
    buf: Vec<u8>,
    to_stderr: bool,
}

impl Write for LineWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if self.to_stderr {
            let bar = PROGRESS.lock().ok().and_then(|b| b.clone());
            let write = || {
                let _ = std::io::stderr().write_all(&self.buf);
            };
            match bar {
                Some(bar) => bar.suspend(write),
                None => write(),
            }
        } else if let Ok(mut slot) = RUN_LOG.lock()
            && let Some(file) = slot.as_mut()
        {
            let _ = file.write_all(&self.buf);
        }
    }
}

struct StderrMake;
struct RunLogMake;

impl<'a> MakeWriter<'a> for StderrMake {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            buf: Vec::new(),
            to_stderr: true,
        }
    }
}

impl<'a> MakeWriter<'a> for RunLogMake {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            buf: Vec::new(),
            to_stderr: false,
        }
    }
}
