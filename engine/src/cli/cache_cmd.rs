//! `cache ls | gc | clear`. The cache directory is `--cache-dir`, else `RL4SEG_CACHE`, else
//! `.rl4seg/cache` (the default of `runtime.cache_dir`).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::{CacheAction, CliError, Global};
use crate::cache::Cache;
use crate::cache::maintain::human_bytes;

fn cache_dir(g: &Global) -> PathBuf {
    g.cache_dir
        .clone()
        .or_else(|| {
            std::env::var_os("RL4SEG_CACHE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| crate::spec::RuntimeConfig::default().cache_dir)
}

/// Parses `30d`, `12h`, `90m`, `45s`, `2w`.
pub fn parse_age(s: &str) -> Result<Duration, CliError> {
    let bad = || {
        CliError::User(format!(
            "--older-than `{s}` is not an age; write a number and a unit, e.g. 30d, 12h, 90m, 45s or 2w"
        ))
    };
    let (num, unit) = s.trim().split_at(
        s.trim()
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(bad)?,
    );
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

fn ago(t: Option<SystemTime>) -> String {
    let Some(age) = t.and_then(|t| SystemTime::now().duration_since(t).ok()) else {
        return "?".into();
    };
    let s = age.as_secs();
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

pub fn run(g: &Global, action: &CacheAction) -> Result<(), CliError> {
    let cache = Cache::new(cache_dir(g));
    match action {
        CacheAction::Ls => {
            let entries = cache.list();
            if entries.is_empty() {
                println!("cache {} is empty", cache.root().display());
                return Ok(());
            }
            let rows: Vec<[String; 6]> = entries
                .iter()
                .map(|e| {
                    let node = match &e.damage {
                        None => e.node_id.clone(),
                        Some(why) => format!("DAMAGED: {why}"),
                    };
                    [
                        e.kind.clone(),
                        e.key[..e.key.len().min(12)].to_string(),
                        node,
                        human_bytes(e.size),
                        e.created.clone(),
                        ago(e.last_used),
                    ]
                })
                .collect();
            let header = ["kind", "key", "node", "size", "created", "last used"].map(String::from);
            let mut w = header.clone().map(|h| h.len());
            for r in &rows {
                for (wi, c) in w.iter_mut().zip(r) {
                    *wi = (*wi).max(c.chars().count());
                }
            }
            for r in std::iter::once(&header).chain(&rows) {
                println!(
                    "{:<a$}  {:<b$}  {:<c$}  {:>d$}  {:<e$}  {}",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    a = w[0],
                    b = w[1],
                    c = w[2],
                    d = w[3],
                    e = w[4]
                );
            }
            let total: u64 = entries.iter().map(|e| e.size).sum();
            println!(
                "{} entries, {} in {}",
                entries.len(),
                human_bytes(total),
                cache.root().display()
            );
        }
        CacheAction::Gc {
            older_than,
            dry_run,
        } => {
            let age = older_than.as_deref().map(parse_age).transpose()?;
            let r = cache.gc(age, *dry_run).map_err(CliError::internal)?;
            println!("{}", r.summary(*dry_run));
        }
        CacheAction::Clear { kind, yes } => {
            if let Some(k) = kind
                && !cache.kind_names().contains(k)
            {
                let known = cache.kind_names();
                return Err(CliError::User(format!(
                    "the cache {} has no entries of kind `{k}`; kinds present: {}",
                    cache.root().display(),
                    if known.is_empty() {
                        "(none)".into()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            let preview = cache
                .clear(kind.as_deref(), true)
                .map_err(CliError::internal)?;
            if preview.entries + preview.tmp_dirs == 0 {
                println!("{}", preview.summary(true));
                return Ok(());
            }
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(CliError::User(format!(
                        "{} from {}; add --yes to confirm",
                        preview.summary(true),
                        cache.root().display()
                    )));
                }
                eprint!(
                    "{} from {}. Continue? [y/N] ",
                    preview.summary(true),
                    cache.root().display()
                );
                let _ = std::io::stderr().flush();
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    println!("nothing removed");
                    return Ok(());
                }
            }
            let r = cache
                .clear(kind.as_deref(), false)
                .map_err(CliError::internal)?;
            println!("{}", r.summary(false));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units_and_bad_ones_explain_the_format() {
        assert_eq!(
            parse_age("30d").ok(),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_age("90m").ok(), Some(Duration::from_secs(5400)));
        assert_eq!(parse_age("2w").ok(), Some(Duration::from_secs(14 * 86_400)));
        let e = parse_age("thirty").expect_err("not an age");
        assert!(e.to_string().contains("e.g. 30d"), "{e}");
        assert!(parse_age("30y").is_err() && parse_age("d").is_err() && parse_age("30").is_err());
    }
}
