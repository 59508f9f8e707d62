//! The `dtp` command line: argument definitions (clap derive; the `///` comments are the help
//! text) and dispatch to `dtp_std::train` and the binary's `commands`.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use dtp_std::config::HyperPatch;
use dtp_std::data::{HeaderRule, LabelColumn, ScaleKind};
use dtp_std::failure::Outcome;
use dtp_std::optimiser::OptimiserFlags;
use dtp_std::presets::PRESETS;
use dtp_std::train::RunSpec;

use crate::commands::{self, EvalArgs, ExportArgs, InfoArgs, PlotArgs};
use crate::progress::Bar;

/// Difference Target Propagation (Lee et al. 2015): train, evaluate, inspect and export nets.
#[derive(Debug, Parser)]
#[command(name = "dtp", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a preset (default: digits, seconds on the embedded UCI digits). Ctrl-C stops
    /// before the next minibatch, keeps the last checkpoint, says how to resume and exits 130.
    Train(Box<TrainArgs>),
    /// Evaluate a checkpoint on its preset's train / valid / test sets.
    Eval(EvalArgs),
    /// Write a checkpoint's weights as the blob the firmware includes at build time.
    Export(ExportArgs),
    /// Draw a run directory's metrics as PNG curves (RUN_DIR/curves.png).
    Plot(PlotArgs),
    /// Describe a checkpoint: preset, shape, epoch, settings, tensors.
    Info(InfoArgs),
}

fn preset_names() -> PossibleValuesParser {
    PossibleValuesParser::new(PRESETS.iter().map(|p| p.name))
}

/// `dtp train`: the run's flags, then a flag for every setting (those of
/// [`HyperPatch`], the optimisers' [`OptimiserFlags`]).
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Preset: network, dataset and reference settings [default: digits, or the checkpoint's
    /// with --resume].
    #[arg(long, value_parser = preset_names())]
    pub preset: Option<String>,
    /// Dataset location: a directory for MNIST / CIFAR-10 (holding the files, or mnist/,
    /// cifar-10/), or a CSV file (numeric features and a label 0..K-1, last by default; see
    /// --header, --label-column, --scale) [default:
    /// $DTP_DATA_DIR, else the repository's datasets/ folder; digits are embedded].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// TOML file overriding any setting (keys as in RUN_DIR/config.toml); flags win over it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run directory for checkpoint, metrics, summary and curves; refused if it already holds
    /// a run (see --resume, --force) [default: a new directory, runs/PRESET, else runs/PRESET-2,
    /// runs/PRESET-3, …, printed at start; with --resume or --force: runs/PRESET].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in DIR (or --out) from its checkpoint (bit-identical to an
    /// uninterrupted run), on the data it was trained on.
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub resume: Option<Option<PathBuf>>,
    /// Start over in an --out that already holds a run, deleting its metrics and overwriting
    /// its checkpoint (without it, train refuses to touch an existing run).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// With --resume: continue on the --data given although the run was trained on other data.
    #[arg(long, requires_all = ["resume", "data"])]
    pub change_data: bool,
    /// Scaling of CSV features, fitted on the training split and recorded in the checkpoint
    /// (eval applies it): standard = each feature's mean and standard deviation to 0 and 1,
    /// range = all features' [min, max] to [0, 1], feature-range = each feature's own, none =
    /// as written; auto = range when the features share one scale (the median feature's range
    /// is at least 1/10 of the overall range, as with pixels), else standard [default: auto].
    /// Image formats are read into [0, 1] and not rescaled.
    #[arg(long, value_enum)]
    pub scale: Option<ScaleKind>,
    /// Whether a CSV file's first line is a header (skipped): auto = when at least half its
    /// cells are words, or it is scikit-learn's count line n_samples,n_features,names…
    /// [default: auto].
    #[arg(long, value_enum)]
    pub header: Option<HeaderRule>,
    /// The CSV column holding the label: first, last or N (counted from 1); the other columns
    /// are the features [default: last].
    #[arg(long, value_name = "first|last|N")]
    pub label_column: Option<LabelColumn>,
    /// The settings.
    #[command(flatten)]
    pub hyper: HyperPatch,
    /// The optimisers' settings.
    #[command(flatten)]
    pub optimisers: OptimiserFlags,
    /// Threads that carry the chunks, at least 1 [default: $DTP_THREADS, else the available
    /// cores; more than the available cores run as that many]. Never changes a result.
    #[arg(long, value_parser = threads)]
    pub threads: Option<NonZeroUsize>,
    /// Go on training when the loss diverges. Without it a run stops (exit 3, the last good
    /// checkpoint kept) when its training loss stays above 3× its best (and 0.1 above it), or its training error
    /// at chance, for two epochs in a row; a NaN always stops it.
    #[arg(long)]
    pub allow_divergence: bool,
    /// No progress bar and no per-epoch lines (the summary line is still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not draw RUN_DIR/curves.png (nor an auto-encoder's RUN_DIR/filters.png) at the end.
    #[arg(long)]
    pub no_plot: bool,
    /// Testing aid: abort the process (as a crash would) after this many minibatches.
    #[arg(long, hide = true)]
    pub abort_after_batches: Option<u64>,
}

/// `--threads N`: a count of threads, 1 or more.
fn threads(s: &str) -> Result<NonZeroUsize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("not a whole number of threads: {s}"))?;
    NonZeroUsize::new(n).ok_or_else(|| {
        "0 threads cannot train: use 1 or more (the thread count never changes a result)".into()
    })
}

impl TrainArgs {
    /// The run these flags ask for, as the library's plain [`RunSpec`]; exit 2 when
    /// `--resume DIR` and `--out` name different directories.
    pub fn spec(&self) -> Outcome<RunSpec> {
        let out = match (&self.out, &self.resume) {
            (Some(o), Some(Some(d))) if o != d => {
                return Err(dtp_std::failure::Failure::input(anyhow::anyhow!(
                    "--resume {} and --out {} name different run directories; give one",
                    d.display(),
                    o.display()
                )));
            }
            (Some(o), _) => Some(o.clone()),
            (None, Some(d)) => d.clone(),
            (None, None) => None,
        };
        Ok(RunSpec {
            preset: self.preset.clone(),
            patch: self.patch(),
            config: self.config.clone(),
            data: self.data.clone(),
            scale: self.scale,
            header: self.header,
            label_column: self.label_column,
            change_data: self.change_data,
            out,
            resume: self.resume.is_some(),
            force: self.force,
            plot: !self.no_plot,
            abort_after_batches: self.abort_after_batches,
            allow_divergence: self.allow_divergence,
            threads: self
                .threads
                .or_else(|| std::env::var("DTP_THREADS").ok()?.parse().ok())
                .or_else(|| std::thread::available_parallelism().ok())
                .map_or(1, NonZeroUsize::get),
        })
    }

    /// The settings given by flags.
    pub fn patch(&self) -> HyperPatch {
        let [forward, inverse] = self.optimisers.patches();
        HyperPatch {
            forward,
            inverse,
            ..self.hyper.clone()
        }
    }
}

/// The whole `dtp` program: parses `std::env::args`, runs, prints any error to stderr and
/// returns the exit code (see `dtp_std::failure`; clap's usage errors exit with 2 too).
pub fn main() -> std::process::ExitCode {
    restore_sigpipe();
    let cli = parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {f}");
            std::process::ExitCode::from(f.code)
        }
    }
}

/// The command line, parsed: every flag that takes a value also takes a negative number
/// (`--lr-forward -1`), which the settings' checks then answer in words.
fn parse() -> Cli {
    let negatives = |c: clap::Command| {
        c.mut_args(|a| {
            if a.get_action().takes_values() {
                a.allow_negative_numbers(true)
            } else {
                a
            }
        })
    };
    let command = negatives(Cli::command()).mut_subcommands(negatives);
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Rust starts programs with SIGPIPE ignored, so printing into a closed pipe (`dtp info RUN |
/// head`) is an error, and `println!` panics on it. Like other Unix tools, `dtp` instead ends
/// on SIGPIPE: a checkpoint being written then is left whole (they are written atomically).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs a parsed command line; the summary or report goes to stdout.
pub fn run(cli: Cli) -> Outcome<()> {
    match cli.command {
        Command::Train(a) => {
            let spec = a.spec()?;
            crate::interrupt::catch();
            let mut bar = Bar::new(a.quiet);
            dtp_std::train::train(&spec, &mut bar).map(|s| println!("{}", s.line()))
        }
        Command::Eval(a) => commands::eval(&a),
        Command::Export(a) => commands::export(&a),
        Command::Plot(a) => commands::plot(&a),
        Command::Info(a) => commands::info(&a),
    }
}
