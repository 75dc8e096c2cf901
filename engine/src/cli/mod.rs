//! The command-line interface shared by every binary (`rl4seg`, `rl4seg-toy`): clap derive
//! definitions, global options, exit codes (0 ok, 2 user error, 1 internal error or failed
//! jobs) and a panic hook that prints one line instead of a backtrace. Each subcommand lives in
//! its own module; [`main`] is what a binary's `main` calls.

mod cache_cmd;
mod info;
mod job;
pub mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};

use crate::node::Registry;

/// What a binary passes to [`main`].
#[derive(Clone, Copy)]
pub struct AppInfo {
    /// Program name (`rl4seg`).
    pub name: &'static str,
    pub registry: &'static dyn Registry,
    /// Built-in `configs/` and `pipelines/` files (relative path, contents).
    pub builtin: &'static [(&'static str, &'static str)],
    pub version: &'static str,
}

/// An error that ends the command: `User` exits 2, `Internal` and `Failed` exit 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    User(String),
    #[error("{0}")]
    Internal(String),
    /// Jobs failed; their errors were already reported.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn user(e: impl std::fmt::Display) -> Self {
        CliError::User(e.to_string())
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        CliError::Internal(e.to_string())
    }
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::User(_) => 2,
            CliError::Internal(_) | CliError::Failed(_) => 1,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    about = "Declarative pipelines with Hydra-style overrides and a content-addressed cache",
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// More output (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Extra directory holding `configs/` and/or `pipelines/` (repeatable; later ones win).
    #[arg(long = "config-dir", value_name = "DIR", global = true)]
    pub config_dir: Vec<PathBuf>,
    /// Cache directory (same as `runtime.cache_dir=DIR`).
    #[arg(long = "cache-dir", value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Print the version.
    #[arg(short = 'V', long, action = clap::ArgAction::Version)]
    pub version: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline (only the nodes whose results are not cached).
    Run {
        /// Pipeline name or path to a .toml file.
        pipeline: String,
        /// Overrides: key=value, +key=value, ++key=value, ~key, group=option.
        overrides: Vec<String>,
        /// Sweep: expand `a=1,2 b=x,y` into jobs (Cartesian product).
        #[arg(short, long)]
        multirun: bool,
        /// With -m: zip the sweeps element-wise instead of taking their product.
        #[arg(long, requires = "multirun")]
        zip: bool,
        /// With launcher=slurm: follow the jobs until they end (exit 1 if one failed).
        #[arg(long)]
        wait: bool,
        /// With launcher=slurm: write the job scripts without submitting them.
        #[arg(long, conflicts_with = "wait")]
        dry_run: bool,
    },
    /// Show the SLURM jobs of a run submitted with launcher=slurm: states, nodes, failed logs.
    Status {
        /// The run (or sweep) directory that `run` printed.
        dir: PathBuf,
        /// Follow the jobs until they end.
        #[arg(long)]
        wait: bool,
    },
    /// Print the resolved config (node configs with every default set).
    Show {
        pipeline: String,
        overrides: Vec<String>,
    },
    /// Print the execution plan: nodes in order, cache keys, cached / to run.
    Plan {
        pipeline: String,
        overrides: Vec<String>,
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// List pipelines, config groups with their options, and node kinds.
    List,
    /// Print (or write) the JSON Schemas of the pipeline file and of every node kind's config.
    Schema {
        /// Write `<dir>/<name>.json` files instead of printing.
        #[arg(long)]
        write: bool,
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Inspect and clean the cache.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Execute one node of a saved plan whose inputs are cached (used by cluster launchers).
    RunNode {
        /// A plan.json (from a run directory or `plan --format json`).
        #[arg(long)]
        plan: PathBuf,
        /// Node instance id (`ppo@2`).
        #[arg(long)]
        node: String,
        /// Where the node's files and logs go (default: the plan file's directory).
        #[arg(long)]
        run_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Dot,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// List entries: kind, key, node, size, created, last used.
    Ls,
    /// Remove unfinished temporaries, damaged entries and (with --older-than) unused entries.
    Gc {
        /// Also remove entries not used for this long (`30d`, `12h`, `90m`, `2w`).
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove every entry (or those of one kind).
    Clear {
        #[arg(long)]
        kind: Option<String>,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
}

/// Prints one line for a panic (no backtrace); [`main`] then exits with code 1.
fn install_panic_hook(name: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        if crate::exec::panic_is_caught(location.clone()) {
            return;
        }
        let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
        eprintln!("error: internal error: {msg}{at}; this is a bug in {name}, please report it");
    }));
}

/// Parses the command line, runs the command, and returns the process exit code.
pub fn main(app: AppInfo) -> ExitCode {
    install_panic_hook(app.name);
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_args(app, args))).unwrap_or(1);
    ExitCode::from(code)
}

/// Runs a command line (first element = program name); returns the exit code.
pub fn run_args(app: AppInfo, args: Vec<std::ffi::OsString>) -> u8 {
    let command = Cli::command()
        .name(app.name)
        .bin_name(app.name)
        .version(app.version);
    let cli = match command
        .try_get_matches_from(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    let verbosity = if cli.global.quiet {
        -1
    } else {
        cli.global.verbose.min(2) as i8
    };
    crate::logging::init(verbosity);
    match dispatch(app, &cli) {
        Ok(()) => 0,
        Err(CliError::Failed(msg)) => {
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(app: AppInfo, cli: &Cli) -> Result<(), CliError> {
    let g = &cli.global;
    match &cli.command {
        Command::Run {
            pipeline,
            overrides,
            multirun,
            zip,
            wait,
            dry_run,
        } => {
            let mode = if *zip {
                crate::config::SweepMode::Zip
            } else {
                crate::config::SweepMode::Product
            };
            // A non-local launcher (runtime.launcher) takes the run; `false` means local.
            let opts = crate::launcher::LaunchOptions {
                dry_run: *dry_run,
                wait: *wait,
            };
            if crate::launcher::run(app, g, pipeline, overrides, multirun.then_some(mode), opts)? {
                return Ok(());
            }
            if *multirun {
                crate::sweep_run::run(app, g, pipeline, overrides, mode)
            } else {
                job::run(app, g, pipeline, overrides)
            }
        }
        Command::Show {
            pipeline,
            overrides,
        } => job::show(app, g, pipeline, overrides),
        Command::Plan {
            pipeline,
            overrides,
            format,
        } => job::plan(app, g, pipeline, overrides, *format),
        Command::List => info::list(app, g),
        Command::Schema { write, dir } => info::schema(app, *write, dir),
        Command::Completions { shell } => {
            let mut cmd = Cli::command()
                .name(app.name)
                .bin_name(app.name)
                .version(app.version);
            clap_complete::generate(*shell, &mut cmd, app.name, &mut std::io::stdout());
            Ok(())
        }
        Command::Cache { action } => cache_cmd::run(g, action),
        Command::RunNode {
            plan,
            node,
            run_dir,
        } => job::run_node(app, plan, node, run_dir.as_deref()),
        Command::Status { dir, wait } => crate::launcher::status(dir, *wait),
    }
}

pub use job::{
    Prepared, config_errors, execute as execute_job, job_error, prepare, sources as job_sources,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().version("0.0.0").debug_assert();
    }

    #[test]
    fn user_errors_exit_2_and_failures_1() {
        assert_eq!(CliError::user("x").exit_code(), 2);
        assert_eq!(CliError::internal("x").exit_code(), 1);
        assert_eq!(CliError::Failed(String::new()).exit_code(), 1);
    }
}
