//! Where config files come from: the files built into the binary, then `./configs` +
//! `./pipelines`, then each dir of `RL4SEG_CONFIG_PATH`, then each `--config-dir`. A later
//! entry shadows an earlier one file by file. Lists pipelines and config groups for `rl4seg list`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::error::{ConfigError, nearest};

/// Embedded files: (relative path like `configs/data/source.toml`, contents).
pub type Builtin = &'static [(&'static str, &'static str)];

/// The search path of config files.
#[derive(Debug, Clone)]
pub struct ConfigSources {
    builtin: Builtin,
    /// Lowest precedence first.
    dirs: Vec<PathBuf>,
}

/// One file found on the search path.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Path shown to users: the relative path for built-in files, the real path otherwise.
    pub display: String,
    pub contents: Cow<'static, str>,
}

impl ConfigSources {
    /// Built-in files only.
    pub fn new(builtin: Builtin) -> Self {
        ConfigSources {
            builtin,
            dirs: Vec::new(),
        }
    }

    /// Add a directory holding `configs/` and/or `pipelines/`, shadowing everything before it.
    pub fn with_search_dir(mut self, dir: PathBuf) -> Self {
        self.dirs.push(dir);
        self
    }

    /// Built-in files, then `./` if it has `configs/` or `pipelines/`, then `RL4SEG_CONFIG_PATH`
    /// (colon-separated), then `config_dirs` (`--config-dir`, repeatable).
    pub fn discover(builtin: Builtin, config_dirs: &[PathBuf]) -> Result<Self, ConfigError> {
        Self::discover_in(
            builtin,
            config_dirs,
            Path::new("."),
            std::env::var("RL4SEG_CONFIG_PATH").ok().as_deref(),
        )
    }

    /// [`Self::discover`] with the working directory and the value of `RL4SEG_CONFIG_PATH` given.
    pub fn discover_in(
        builtin: Builtin,
        config_dirs: &[PathBuf],
        cwd: &Path,
        config_path_env: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut sources = Self::new(builtin);
        if cwd.join("configs").is_dir() || cwd.join("pipelines").is_dir() {
            sources.dirs.push(cwd.to_path_buf());
        }
        for entry in config_path_env
            .unwrap_or("")
            .split(':')
            .filter(|e| !e.is_empty())
        {
            sources
                .dirs
                .push(check_dir(Path::new(entry), "RL4SEG_CONFIG_PATH")?);
        }
        for dir in config_dirs {
            sources.dirs.push(check_dir(dir, "--config-dir")?);
        }
        Ok(sources)
    }

    /// The search path, lowest precedence first (`<built-in>` then directories).
    pub fn search_path(&self) -> Vec<String> {
        std::iter::once("<built-in>".to_string())
            .chain(self.dirs.iter().map(|d| d.display().to_string()))
            .collect()
    }

    /// The file at `rel` (e.g. `configs/data/source.toml`) with the highest precedence.
    pub fn find(&self, rel: &str) -> Option<Result<ConfigFile, ConfigError>> {
        for dir in self.dirs.iter().rev() {
            let path = dir.join(rel);
            if path.is_file() {
                return Some(read_file(&path));
            }
        }
        self.builtin.iter().find(|(p, _)| *p == rel).map(|(p, c)| {
            Ok(ConfigFile {
                display: (*p).to_string(),
                contents: Cow::Borrowed(c),
            })
        })
    }

    /// Pipeline names (file stems under `pipelines/`), sorted.
    pub fn pipelines(&self) -> Vec<String> {
        self.stems_under("pipelines").into_iter().collect()
    }

    /// Config groups and their options, sorted.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, _) in self.builtin {
            let mut parts = path.split('/');
            if let (Some("configs"), Some(group), Some(file), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
                && let Some(option) = file.strip_suffix(".toml")
            {
                groups
                    .entry(group.to_string())
                    .or_default()
                    .insert(option.to_string());
            }
        }
        for dir in &self.dirs {
            for group in subdirs(&dir.join("configs")) {
                let options = toml_stems(&dir.join("configs").join(&group));
                groups.entry(group).or_default().extend(options);
            }
        }
        groups
            .into_iter()
            .map(|(g, o)| (g, o.into_iter().collect()))
            .collect()
    }

    /// The options of one group (empty when the group does not exist).
    pub fn options(&self, group: &str) -> Vec<String> {
        self.groups().remove(group).unwrap_or_default()
    }

    /// Resolve a pipeline argument: a name on the search path, or a path to a `.toml` file when it
    /// contains a `/` or ends with `.toml`. Returns the file and the pipeline name (file stem).
    pub fn pipeline_file(&self, pipeline: &str) -> Result<(ConfigFile, String), ConfigError> {
        if pipeline.contains('/') || pipeline.ends_with(".toml") {
            let path = Path::new(pipeline);
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            return read_file(path).map(|f| (f, stem));
        }
        match self.find(&format!("pipelines/{pipeline}.toml")) {
            Some(file) => file.map(|f| (f, pipeline.to_string())),
            None => {
                let available = self.pipelines();
                Err(ConfigError::UnknownPipeline {
                    name: pipeline.to_string(),
                    suggestion: nearest(pipeline, available.iter().map(String::as_str)),
                    available,
                })
            }
        }
    }

    fn stems_under(&self, folder: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (path, _) in self.builtin {
            if let Some(name) = path.strip_prefix(folder).and_then(|p| p.strip_prefix('/'))
                && let Some(stem) = name.strip_suffix(".toml")
                && !stem.contains('/')
            {
                out.insert(stem.to_string());
            }
        }
        for dir in &self.dirs {
            out.extend(toml_stems(&dir.join(folder)));
        }
        out
    }
}

fn check_dir(dir: &Path, origin: &str) -> Result<PathBuf, ConfigError> {
    let problem = if !dir.is_dir() {
        Some("does not exist or is not a directory; fix the path".to_string())
    } else if !dir.join("configs").is_dir() && !dir.join("pipelines").is_dir() {
        let named = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        Some(if named == "configs" || named == "pipelines" {
            "holds no configs/ or pipelines/ folder; give its parent directory instead".to_string()
        } else {
            "holds no configs/ or pipelines/ folder; give a directory that contains them"
                .to_string()
        })
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ConfigError::ConfigDir {
            path: dir.display().to_string(),
            origin: origin.into(),
            problem,
        }),
        None => Ok(dir.to_path_buf()),
    }
}

fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    std::fs::read_to_string(path)
        .map(|c| ConfigFile {
            display: path.display().to_string(),
            contents: Cow::Owned(c),
        })
        .map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect()
}

fn toml_stems(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".toml"))
                .map(str::to_string)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    static BUILTIN: Builtin = &[
        ("configs/data/source.toml", "path = 'builtin'"),
        ("configs/data/target_lowq.toml", "path = 'lowq'"),
        ("pipelines/predict.toml", "[nodes]"),
    ];

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn later_dirs_shadow_earlier_ones_per_file() -> Result<(), ConfigError> {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        write(a.path(), "configs/data/source.toml", "path = 'a'");
        write(a.path(), "configs/model/unet.toml", "x = 1");
        write(b.path(), "configs/data/source.toml", "path = 'b'");
        write(b.path(), "pipelines/adapt.toml", "");
        let env = a.path().display().to_string();
        let s = ConfigSources::discover_in(
            BUILTIN,
            &[b.path().to_path_buf()],
            Path::new("/nonexistent"),
            Some(&env),
        )?;
        let found = s.find("configs/data/source.toml").expect("found")?;
        assert_eq!(found.contents, "path = 'b'");
        assert!(found.display.starts_with(&b.path().display().to_string()));
        let lowq = s.find("configs/data/target_lowq.toml").expect("found")?;
        assert_eq!(lowq.display, "configs/data/target_lowq.toml");
        assert_eq!(s.pipelines(), ["adapt", "predict"]);
        let groups = s.groups();
        assert_eq!(groups["data"], ["source", "target_lowq"]);
        assert_eq!(groups["model"], ["unet"]);
        assert_eq!(s.search_path().len(), 3);
        Ok(())
    }

    #[test]
    fn bad_dirs_are_explained() {
        let e = ConfigSources::discover_in(
            BUILTIN,
            &[PathBuf::from("/no/such/dir")],
            Path::new("/x"),
            None,
        )
        .expect_err("missing dir");
        assert_eq!(
            e.to_string(),
            "config dir '/no/such/dir' (from --config-dir) does not exist or is not a directory; fix the path"
        );
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(d.path().join("configs")).expect("mkdir");
        let inner = d.path().join("configs");
        let e = ConfigSources::discover_in(
            BUILTIN,
            &[],
            Path::new("/x"),
            Some(&inner.display().to_string()),
        )
        .expect_err("configs dir given");
        assert!(
            e.to_string().contains("give its parent directory instead"),
            "{e}"
        );
    }

    #[test]
    fn pipeline_by_name_or_path() -> Result<(), ConfigError> {
        let s = ConfigSources::new(BUILTIN);
        assert_eq!(s.pipeline_file("predict")?.1, "predict");
        let e = s.pipeline_file("predcit").expect_err("typo");
        assert_eq!(
            e.to_string(),
            "unknown pipeline 'predcit' (did you mean 'predict'?); available: predict. \
             Give a pipeline name or a path to a .toml file"
        );
        let d = tempfile::tempdir().expect("tempdir");
        write(d.path(), "mine.toml", "seed = 1");
        let (file, name) = s.pipeline_file(&d.path().join("mine.toml").display().to_string())?;
        assert_eq!(
            (file.contents.as_ref(), name.as_str()),
            ("seed = 1", "mine")
        );
        assert!(matches!(
            s.pipeline_file("missing.toml"),
            Err(ConfigError::Read { .. })
        ));
        Ok(())
    }
}
