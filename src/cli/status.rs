//! `ferry status`: how far the migration has come, read from the user store: users by
//! legacy IDP and state, users created by method and in the last day, and the imports.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry::store::Progress;

use super::Failure;

const DAY_MS: i64 = 86_400_000;

/// How the summary is printed.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
enum Format {
    /// For people.
    #[default]
    Human,
    /// One JSON object, for scripts and dashboards.
    Json,
}

/// Arguments of `ferry status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration naming the user store; default `./ferry.yaml` if present.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Prints the summary; exit 0, or 2 when the store cannot be read.
pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = super::load_config(args.config.as_deref())?;
    if let Some(missing) = missing_sqlite_file(&config) {
        let shown = missing.display();
        return Err(format!(
            "no user store at `{shown}`: nothing to report (check `database` and `data_dir`)"
        )
        .into());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let progress = runtime.block_on(async {
        let store = ferry::runtime::open_users(&config).await?;
        Ok::<_, Failure>(store.progress(now - DAY_MS).await?)
    })?;
    let text = match args.format {
        Format::Human => human(&progress),
        Format::Json => {
            let mut json = serde_json::to_value(&progress)?;
            json["created_last_day"] = json["created_since"].take();
            if let Some(map) = json.as_object_mut() {
                map.remove("created_since");
            }
            format!("{json:#}\n")
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// The SQLite file the configuration names, if it does not exist: reading the status must
/// not create an empty store where a mistyped path points.
fn missing_sqlite_file(config: &ferry::config::Config) -> Option<PathBuf> {
    let path = match config.settings.database.as_deref() {
        None => config.resolve(&config.settings.data_dir).join("ferry.db"),
        Some(url) => {
            let rest = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))?;
            PathBuf::from(rest.split('?').next().unwrap_or(rest))
        }
    };
    (!path.exists()).then_some(path)
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn date(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The summary for people.
fn human(p: &Progress) -> String {
    let mut out = format!(
        "{}: {} migrated ({}), {} waiting for a first login\n",
        plural(p.users, "user", "users"),
        p.migrated,
        share(p.migrated, p.users),
        p.pending
    );
    out += &format!("created in the last 24 hours: {}", p.created_since);
    if let Some(at) = p.last_at {
        out += &format!("; last migration at {}", date(at));
    }
    out.push('\n');
    if !p.by_source.is_empty() {
        out += "\nby legacy IDP:\n";
        let width = p.by_source.iter().map(|s| s.source.len().max(6)).max();
        let digits = p.users.to_string().len();
        for s in &p.by_source {
            let name = if s.source.is_empty() {
                "(none)"
            } else {
                &s.source
            };
            let noun = if s.users == 1 { "user " } else { "users" };
            out += &format!(
                "  {name:<w$}  {:>d$} {noun}  {:>d$} migrated  {:>6}\n",
                s.users,
                s.migrated,
                share(s.migrated, s.users),
                w = width.unwrap_or(6),
                d = digits
            );
        }
    }
    if !p.created_by.is_empty() {
        out += "\nusers created by:\n";
        let width = p.created_by.keys().map(String::len).max().unwrap_or(0);
        for (method, n) in &p.created_by {
            out += &format!("  {method:<width$}  {n}\n");
        }
    }
    if !p.imports.is_empty() {
        out += "\nimports:\n";
        for i in &p.imports {
            let state = if i.finished { "finished" } else { "unfinished" };
            out += &format!(
                "  {}  {} read, {state}\n",
                i.import,
                plural(i.position, "record", "records")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ferry::store::{Checkpoint, SourceProgress};

    use super::*;

    #[test]
    fn the_summary_reads_as_a_table() {
        let progress = Progress {
            users: 3,
            migrated: 2,
            pending: 1,
            by_source: vec![
                SourceProgress {
                    source: "legacy".into(),
                    users: 2,
                    migrated: 2,
                },
                SourceProgress {
                    source: "okta".into(),
                    users: 1,
                    migrated: 0,
                },
            ],
            created_by: [("import".into(), 1), ("password".into(), 2)].into(),
            created_since: 2,
            last_at: Some(1_800_000_000_000),
            imports: vec![Checkpoint {
                import: "okta-export".into(),
                source: "x".into(),
                position: 1,
                finished: true,
            }],
        };
        let text = human(&progress);
        assert_eq!(
            text,
            "3 users: 2 migrated (66.7%), 1 waiting for a first login\n\
             created in the last 24 hours: 2; last migration at 2027-01-15T08:00:00Z\n\
             \n\
             by legacy IDP:\n\
             \x20 legacy  2 users  2 migrated  100.0%\n\
             \x20 okta    1 user   0 migrated    0.0%\n\
             \n\
             users created by:\n\
             \x20 import    1\n\
             \x20 password  2\n\
             \n\
             imports:\n\
             \x20 okta-export  1 record read, finished\n"
        );
    }
}
