//! `oxeron catalog`: Aeron's `ArchiveTool` on an archive directory. Reading commands (`list`, `describe`,
//! `verify`, `dump`, `count-entries`, `pid`, `errors`) change nothing; the others (`mark-valid`,
//! `mark-invalid`, `checksum`, `delete-orphaned-segments`, `compact`, `capacity --set`) print each change they
//! make, refuse a directory a live archive runs on, and only print with `--dry-run`; `migrate` reports the
//! format versions.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use oxeron::archive::Checksum;
use oxeron::protocol::archive::RecordingState;
use oxeron_cli::catalog_edit::{self, EditPlan};
use oxeron_cli::catalog_tool::{self, CatalogSnapshot};
use oxeron_cli::catalog_verify;

/// The archive directory a catalog command works on.
#[derive(Args)]
pub struct ArchiveDirArg {
    /// Archive directory, as `oxeron archive` defaults it.
    #[arg(
        long,
        env = "AERON_ARCHIVE_DIR",
        default_value = "aeron-archive",
        value_name = "DIR"
    )]
    archive_dir: PathBuf,
}

/// Flags of the commands that change the directory.
#[derive(Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    dir: ArchiveDirArg,
    /// Print what would change, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Subcommands of `oxeron catalog`.
#[derive(Subcommand)]
pub enum CatalogCommand {
    /// One line per recording of the catalog.
    List {
        #[command(flatten)]
        dir: ArchiveDirArg,
    },
    /// Every descriptor field of one recording, or of all.
    Describe {
        #[command(flatten)]
        dir: ArchiveDirArg,
        /// Only this recording.
        #[arg(long)]
        recording_id: Option<i64>,
    },
    /// Checks that every recording's segment files exist and the frames of its last one (of all of them
    /// with `--all`) walk cleanly up to its stop, then makes the changes Aeron's `ArchiveTool verify` makes:
    /// a recording that fails becomes INVALID, one active when its archive stopped gets its stop position
    /// (its last segment file cut before a last fragment torn at the crash), an INVALID one that verifies
    /// becomes VALID. Exits 1 on any problem.
    Verify {
        /// Print the changes, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Walk the frames of every segment file, not only the last of each recording (`ArchiveTool verify
        /// -a`).
        #[arg(long, short = 'a')]
        all: bool,
        /// Only this recording (default: every entry).
        #[arg(long)]
        recording_id: Option<i64>,
        #[command(flatten)]
        dir: ArchiveDirArg,
        /// Also check each data frame's checksum and each descriptor's (crc32, crc32c or Java's class
        /// name), as a recording made with a record checksum carries them (`ArchiveTool verify -checksum`;
        /// default: not checked).
        #[arg(long, value_name = "CHECKSUM")]
        checksum: Option<Checksum>,
        /// No progress on stderr.
        #[arg(long)]
        quiet: bool,
    },
    /// The catalog header, every descriptor and the mark file.
    Dump {
        #[command(flatten)]
        dir: ArchiveDirArg,
    },
    /// The number of VALID recordings.
    CountEntries {
        #[command(flatten)]
        dir: ArchiveDirArg,
    },
    /// The pid of the archive, from its mark file.
    Pid {
        #[command(flatten)]
        dir: ArchiveDirArg,
    },
    /// The archive's distinct errors, from its mark file.
    Errors {
        #[command(flatten)]
        dir: ArchiveDirArg,
    },
    /// Marks an INVALID recording VALID again (a DELETED one is refused).
    MarkValid {
        #[command(flatten)]
        change: ChangeArgs,
        /// The recording.
        #[arg(long)]
        recording_id: i64,
    },
    /// Marks a VALID recording INVALID: no longer listed, found or replayed; `compact` then deletes it.
    MarkInvalid {
        #[command(flatten)]
        change: ChangeArgs,
        /// The recording.
        #[arg(long)]
        recording_id: i64,
    },
    /// Computes and writes checksums: each descriptor's, and each data frame's (into its session id field)
    /// in the last segment file of each recording, or in all of them with `--all`.
    Checksum {
        #[command(flatten)]
        change: ChangeArgs,
        /// crc32, crc32c or Java's class name (`io.aeron.archive.checksum.Crc32`).
        #[arg(long, value_name = "CHECKSUM")]
        checksum: Checksum,
        /// Only this (VALID) recording (default: every entry).
        #[arg(long)]
        recording_id: Option<i64>,
        /// Every segment file, not only the last.
        #[arg(long)]
        all: bool,
    },
    /// Deletes segment files of catalogued recordings that lie outside their start and stop positions (left by
    /// detached segments); files of recordings the catalog does not hold are not touched.
    DeleteOrphanedSegments {
        #[command(flatten)]
        change: ChangeArgs,
        /// Only this recording's files (default: every entry's).
        #[arg(long)]
        recording_id: Option<i64>,
    },
    /// Removes every entry that is not VALID from the catalog and deletes its segment files; recording ids
    /// are kept.
    Compact {
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Prints the catalog's capacity in bytes, or with `--set` grows it to that many (a smaller value
    /// changes nothing, as in `ArchiveTool`).
    Capacity {
        #[command(flatten)]
        change: ChangeArgs,
        /// The capacity to grow the catalog to, in bytes (default: print the capacity, change nothing).
        #[arg(long, value_name = "BYTES")]
        set: Option<u64>,
    },
    /// Prints the mark file's and catalog's format versions beside the latest; a directory at the latest
    /// (any Aeron 1.54 or Oxeron archive) needs nothing, and older formats are refused for Java's
    /// `ArchiveTool migrate`.
    Migrate {
        #[command(flatten)]
        dir: ArchiveDirArg,
    },
}

fn read(dir: &Path) -> Result<CatalogSnapshot, String> {
    CatalogSnapshot::read(dir).map_err(|e| e.to_string())
}

/// Prints a plan, and applies it unless `--dry-run`.
fn carry_out(
    change: &ChangeArgs,
    plan: impl FnOnce(&CatalogSnapshot) -> Result<EditPlan, catalog_tool::CatalogToolError>,
) -> Result<(), String> {
    let dir = &change.dir.archive_dir;
    catalog_edit::refuse_live_archive(dir).map_err(|e| e.to_string())?;
    let plan = plan(&read(dir)?).map_err(|e| e.to_string())?;
    print!("{}", plan.render());
    if change.dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    plan.apply().map_err(|e| e.to_string())
}

/// Runs an `oxeron catalog` subcommand.
pub fn run_catalog(command: CatalogCommand) -> Result<(), String> {
    match command {
        CatalogCommand::List { dir } => {
            let snapshot = read(&dir.archive_dir)?;
            print!("{}", catalog_tool::list(&snapshot));
            catalog_problems(&snapshot)?;
        }
        CatalogCommand::Describe { dir, recording_id } => {
            let snapshot = read(&dir.archive_dir)?;
            print!(
                "{}",
                catalog_tool::describe(&snapshot, recording_id).map_err(|e| e.to_string())?
            );
            catalog_problems(&snapshot)?;
        }
        CatalogCommand::Verify {
            dry_run,
            all,
            recording_id,
            dir,
            checksum,
            quiet,
        } => {
            let mut snapshot = read(&dir.archive_dir)?;
            if let Some(id) = recording_id {
                snapshot.entry(id).map_err(|e| e.to_string())?;
                snapshot.entries.retain(|e| e.descriptor.recording_id == id);
            }
            let options = catalog_verify::VerifyOptions {
                checksum,
                all_segments: all,
            };
            let bar = if quiet {
                indicatif::ProgressBar::hidden()
            } else {
                crate::progress::bar(0, "verifying recordings")
            };
            let report = catalog_verify::verify_with_options(&snapshot, options, |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            });
            bar.finish_and_clear();
            print!("{}", report.render());
            let plan = catalog_edit::plan_verify_fixes(&snapshot, &report, checksum);
            if !plan.changes.is_empty() {
                print!("changes:\n{}", plan.render());
                if dry_run {
                    println!("dry run: nothing changed");
                } else {
                    plan.apply().map_err(|e| e.to_string())?;
                }
            }
            if !report.is_ok() {
                return Err(format!(
                    "verify found {} problem(s) in {}",
                    report.problem_count(),
                    dir.archive_dir.display()
                ));
            }
        }
        CatalogCommand::Dump { dir } => {
            let snapshot = read(&dir.archive_dir)?;
            print!(
                "{}",
                catalog_tool::dump(&snapshot).map_err(|e| e.to_string())?
            );
            catalog_problems(&snapshot)?;
        }
        CatalogCommand::CountEntries { dir } => {
            println!("{}", catalog_edit::count_entries(&read(&dir.archive_dir)?));
        }
        CatalogCommand::Pid { dir } => {
            let pid = catalog_edit::mark_file_pid(&dir.archive_dir).map_err(|e| e.to_string())?;
            println!("{pid}");
        }
        CatalogCommand::Errors { dir } => print!(
            "{}",
            catalog_tool::mark_file_errors(&dir.archive_dir).map_err(|e| e.to_string())?
        ),
        CatalogCommand::MarkValid {
            change,
            recording_id,
        } => carry_out(&change, |s| {
            catalog_edit::plan_mark(s, recording_id, RecordingState::Valid)
        })?,
        CatalogCommand::MarkInvalid {
            change,
            recording_id,
        } => carry_out(&change, |s| {
            catalog_edit::plan_mark(s, recording_id, RecordingState::Invalid)
        })?,
        CatalogCommand::Checksum {
            change,
            checksum,
            recording_id,
            all,
        } => carry_out(&change, |s| {
            catalog_edit::plan_checksum(s, checksum, recording_id, all)
        })?,
        CatalogCommand::DeleteOrphanedSegments {
            change,
            recording_id,
        } => carry_out(&change, |s| {
            catalog_edit::plan_delete_orphaned_segments(s, recording_id)
        })?,
        CatalogCommand::Compact { change } => carry_out(&change, catalog_edit::plan_compact)?,
        CatalogCommand::Capacity { change, set: None } => {
            println!("{}", read(&change.dir.archive_dir)?.file_length);
        }
        CatalogCommand::Capacity {
            change,
            set: Some(capacity),
        } => carry_out(&change, |s| catalog_edit::plan_capacity(s, capacity))?,
        CatalogCommand::Migrate { dir } => {
            catalog_edit::refuse_live_archive(&dir.archive_dir).map_err(|e| e.to_string())?;
            let snapshot = read(&dir.archive_dir)?;
            print!(
                "{}",
                catalog_edit::migrate(&snapshot).map_err(|e| e.to_string())?
            );
        }
    }
    Ok(())
}

fn catalog_problems(snapshot: &CatalogSnapshot) -> Result<(), String> {
    if snapshot.problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the catalog in {} has {} problem(s): {}",
            snapshot.archive_dir.display(),
            snapshot.problems.len(),
            snapshot.problems.join("; ")
        ))
    }
}
