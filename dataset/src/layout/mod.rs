//! Case discovery for the `load` node and the evaluate pipeline: which files make up which case.
//! Accepted inputs (method.md 1.1, 1.4): a single `.nii`/`.nii.gz`/`.dcm` file; a plain folder of
//! such files searched recursively; and the original's layout `img/.../<id>_0000.nii.gz` with
//! labels `segmentation/.../<id>.nii.gz`, matched by id. The case id is the file name without
//! `.nii`/`.nii.gz`/`.dcm` and without a trailing `_0000`. Hidden files (`.name`, e.g. our own
//! temporary files) are skipped. Results are sorted by id so runs are deterministic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use echo::{Error, Result};

/// One case on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFiles {
    pub id: String,
    pub image: PathBuf,
    pub label: Option<PathBuf>,
}

/// Predictions matched with ground truths by case id (see [`pair_by_id`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pairing {
    /// `(id, prediction, ground truth)`, sorted by id.
    pub matched: Vec<(String, PathBuf, PathBuf)>,
    /// Predictions with no ground truth of the same id.
    pub unmatched_pred: Vec<(String, PathBuf)>,
    /// Ground truths with no prediction of the same id.
    pub unmatched_gt: Vec<(String, PathBuf)>,
}

/// Folder names of the original layout.
const IMG_DIR: &str = "img";
const SEG_DIR: &str = "segmentation";
/// Maximum folder depth searched (guards against symlink loops).
const MAX_DEPTH: usize = 32;

/// The case id of an image file: its name without `.nii.gz`/`.nii`/`.dcm` (any case) and without
/// a trailing `_0000` (the channel suffix, method.md 1.4). `None` for other extensions.
pub fn case_id(path: &Path) -> Option<String> {
    let stem = file_stem(path)?;
    let stem = stem.strip_suffix("_0000").unwrap_or(&stem);
    (!stem.is_empty()).then(|| stem.to_string())
}

/// The case id of a segmentation or prediction file: its name without the extension. Labels
/// carry no channel suffix (`segmentation/{id}.nii.gz`), so a `_0000` ending belongs to the id
/// (the simulator's `source_0000`).
pub fn label_id(path: &Path) -> Option<String> {
    file_stem(path).filter(|s| !s.is_empty())
}

fn file_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy();
    let lower = name.to_ascii_lowercase();
    let stem_len = [".nii.gz", ".nii", ".dcm"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map(|ext| name.len() - ext.len())?;
    Some(name[..stem_len].to_string())
}

/// Discover the cases under `path` (see the module doc for the accepted layouts).
pub fn discover(path: &Path) -> Result<Vec<CaseFiles>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::file(path, format!("cannot access input ({e})")))?;
    if meta.is_file() {
        let id = case_id(path).ok_or_else(|| {
            Error::file(
                path,
                "is not a .nii, .nii.gz or .dcm file; give an image file or a folder",
            )
        })?;
        return Ok(vec![CaseFiles {
            id,
            image: path.to_path_buf(),
            label: None,
        }]);
    }
    let img_dir = path.join(IMG_DIR);
    if img_dir.is_dir() {
        return discover_original_layout(path, &img_dir);
    }
    let images = unique_ids(path, list_cases(path, Files::Images)?)?;
    if images.is_empty() {
        return Err(Error::file(
            path,
            "contains no .nii, .nii.gz or .dcm file (searched recursively)",
        ));
    }
    Ok(images
        .into_iter()
        .map(|(id, image)| CaseFiles {
            id,
            image,
            label: None,
        })
        .collect())
}

fn discover_original_layout(root: &Path, img_dir: &Path) -> Result<Vec<CaseFiles>> {
    let images = unique_ids(img_dir, list_cases(img_dir, Files::Images)?)?;
    if images.is_empty() {
        return Err(Error::file(
            img_dir,
            "contains no .nii, .nii.gz or .dcm image (searched recursively)",
        ));
    }
    let seg_dir = root.join(SEG_DIR);
    let mut labels = if seg_dir.is_dir() {
        unique_ids(&seg_dir, list_cases(&seg_dir, Files::Labels)?)?
    } else {
        BTreeMap::new()
    };
    let cases: Vec<CaseFiles> = images
        .into_iter()
        .map(|(id, image)| {
            let label = labels.remove(&id);
            CaseFiles { id, image, label }
        })
        .collect();
    if !labels.is_empty() {
        tracing::warn!(
            folder = %seg_dir.display(),
            ids = ?labels.keys().collect::<Vec<_>>(),
            "segmentations without an image are ignored"
        );
    }
    Ok(cases)
}

/// Match prediction files with ground-truth files by case id (the original's
/// `eval_from_nifti_3D.py`). Both folders are searched recursively for NIfTI files; a
/// ground-truth folder in the original layout (with `segmentation/`) is searched there. Our own
/// reward-map outputs beside the predictions (`<id>_*reward.nii.gz`) are not predictions and are
/// skipped.
pub fn pair_by_id(preds: &Path, gts: &Path) -> Result<Pairing> {
    for dir in [preds, gts] {
        if !dir.is_dir() {
            return Err(Error::file(
                dir,
                "is not a folder; give the folder that holds the NIfTI files",
            ));
        }
    }
    let pred_files = list_cases(preds, Files::Labels)?
        .into_iter()
        .filter(|(id, _)| !id.ends_with("_reward"))
        .collect();
    let mut pred = unique_ids(preds, pred_files)?;
    let gt_root = if gts.join(SEG_DIR).is_dir() {
        gts.join(SEG_DIR)
    } else {
        gts.to_path_buf()
    };
    let gt = unique_ids(&gt_root, list_cases(&gt_root, Files::Labels)?)?;
    if pred.is_empty() {
        return Err(Error::file(
            preds,
            "contains no prediction .nii/.nii.gz file",
        ));
    }
    if gt.is_empty() {
        return Err(Error::file(
            &gt_root,
            "contains no ground-truth .nii/.nii.gz file",
        ));
    }
    let mut pairing = Pairing::default();
    for (id, gt_path) in gt {
        match pred.remove(&id) {
            Some(pred_path) => pairing.matched.push((id, pred_path, gt_path)),
            None => pairing.unmatched_gt.push((id, gt_path)),
        }
    }
    pairing.unmatched_pred = pred.into_iter().collect();
    Ok(pairing)
}

/// Which files a listing is for: images (DICOM too, ids without the `_0000` channel suffix) or
/// labels (NIfTI only, ids as written).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Files {
    Images,
    Labels,
}

/// `(id, path)` of every case file under `dir`, recursively.
fn list_cases(dir: &Path, files: Files) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    walk(dir, 0, &mut |path| {
        let is_dicom = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("dcm"));
        let id = match files {
            Files::Images => case_id(path),
            Files::Labels => label_id(path).filter(|_| !is_dicom),
        };
        if let Some(id) = id {
            out.push((id, path.to_path_buf()));
        }
    })?;
    Ok(out)
}

fn walk(dir: &Path, depth: usize, visit: &mut dyn FnMut(&Path)) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::file(
            dir,
            format!("folders nested deeper than {MAX_DEPTH} levels (a symlink loop?)"),
        ));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir, format!("cannot list folder ({e})")))?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::file(dir, format!("cannot list folder ({e})")))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        paths.push(entry.path());
    }
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, depth + 1, visit)?;
        } else if path.is_file() {
            visit(&path);
        }
    }
    Ok(())
}

/// Index by id; two files with the same id is an error naming both.
fn unique_ids(root: &Path, files: Vec<(String, PathBuf)>) -> Result<BTreeMap<String, PathBuf>> {
    let mut map: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (id, path) in files {
        if let Some(previous) = map.get(&id) {
            return Err(Error::file(
                root,
                format!(
                    "two files have the case id `{id}`: {} and {}; rename or remove one",
                    previous.display(),
                    path.display()
                ),
            ));
        }
        map.insert(id, path);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_follow_the_original_rule() {
        let id = |s: &str| case_id(Path::new(s));
        assert_eq!(id("a/b/p001_0000.nii.gz").as_deref(), Some("p001"));
        assert_eq!(id("p001.nii.gz").as_deref(), Some("p001"));
        assert_eq!(id("p001.NII").as_deref(), Some("p001"));
        assert_eq!(id("scan_0000.dcm").as_deref(), Some("scan"));
        assert_eq!(id("p_0000_0000.nii").as_deref(), Some("p_0000"));
        assert_eq!(id("p001_0001.nii.gz").as_deref(), Some("p001_0001"));
        assert_eq!(id("notes.txt"), None);
        assert_eq!(id(".nii"), None);
        // Labels have no channel suffix: `_0000` is part of their id.
        let label = |s: &str| label_id(Path::new(s));
        assert_eq!(
            label("seg/source_0000.nii.gz").as_deref(),
            Some("source_0000")
        );
        assert_eq!(label("p001.nii").as_deref(), Some("p001"));
        assert_eq!(label(".nii.gz"), None);
    }
}
