//! The HDF5 artifact format: one file per artifact of the engine's cache, readable with h5py
//! (layout in `docs/formats.md`). Root attributes `artifact_kind`, `format_version`, `cache_key`,
//! `node_config` (resolved TOML); `/cases/<id>` groups with `image` f32 `[T, H, W]`, optional
//! `label` u8, any extra named datasets and the geometry as attributes; `/tables/<name>` per-case
//! tables and `/blobs/<name>` byte blobs. Arrays are chunked one frame per chunk and gzip
//! compressed, so one case or one frame is read without loading the file. Writing goes to a
//! temporary file that [`ArtifactWriter::finish`] renames into place (a killed run leaves no file
//! that looks complete). The original writes no HDF5 (method.md 8); this is our own format.

mod reader;
mod table;
mod writer;

pub use reader::ArtifactReader;
pub use table::Table;
pub use writer::ArtifactWriter;

use std::path::Path;

use echo::Error;

/// Version of the layout written by this code; readers refuse newer files.
pub const FORMAT_VERSION: i64 = 1;

/// Root attribute names.
pub const ATTR_KIND: &str = "artifact_kind";
pub const ATTR_FORMAT_VERSION: &str = "format_version";
pub const ATTR_CACHE_KEY: &str = "cache_key";
pub const ATTR_NODE_CONFIG: &str = "node_config";
/// Top-level groups.
pub const CASES: &str = "cases";
pub const TABLES: &str = "tables";
pub const BLOBS: &str = "blobs";
/// Case datasets and attributes written by [`ArtifactWriter::write_case`].
pub const IMAGE: &str = "image";
pub const LABEL: &str = "label";
pub const ATTR_SPACING: &str = "spacing";
pub const ATTR_ORIGINAL_SHAPE: &str = "original_shape";
pub const ATTR_ORIGINAL_SPACING: &str = "original_spacing";
pub const ATTR_AFFINE: &str = "affine";
pub const ATTR_DOMAIN: &str = "domain";
pub const ATTR_VIEW: &str = "view";

/// Element types stored in artifacts (`f32`, `u8`, `f64`).
pub trait Element: hdf5::H5Type + Copy + Default {
    /// Name used in error messages (numpy's spelling).
    const NAME: &'static str;
}
impl Element for f32 {
    const NAME: &'static str = "float32";
}
impl Element for u8 {
    const NAME: &'static str = "uint8";
}
impl Element for f64 {
    const NAME: &'static str = "float64";
}

/// A name usable as an HDF5 link (case id, dataset, attribute, table or blob name).
fn check_name(what: &str, name: &str) -> echo::Result<()> {
    if name.is_empty() || name == "." || name.contains('/') || name.contains('\0') {
        return Err(Error::invalid(
            format!("{what} `{name}`"),
            "must be non-empty, not `.`, and contain no `/` or NUL (it becomes an HDF5 name)",
        ));
    }
    Ok(())
}

fn h5_error(path: &Path, doing: &str, e: hdf5::Error) -> Error {
    Error::file(path, format!("{doing}: {e}"))
}

/// Chunk shape: one chunk per frame, i.e. all leading axes 1 and the last two (H, W) whole.
/// `None` (contiguous) for scalars and empty arrays, which HDF5 cannot chunk.
fn frame_chunks(shape: &[usize]) -> Option<Vec<usize>> {
    if shape.is_empty() || shape.contains(&0) {
        return None;
    }
    let n = shape.len();
    Some(
        shape
            .iter()
            .enumerate()
            .map(|(i, &d)| if i + 2 >= n { d } else { 1 })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_one_frame() {
        assert_eq!(frame_chunks(&[32, 128, 96]), Some(vec![1, 128, 96]));
        assert_eq!(frame_chunks(&[3, 32, 128, 96]), Some(vec![1, 1, 128, 96]));
        assert_eq!(frame_chunks(&[7]), Some(vec![7]));
        assert_eq!(frame_chunks(&[]), None);
        assert_eq!(frame_chunks(&[0, 4, 4]), None);
    }

    #[test]
    fn names_with_slashes_are_rejected() {
        assert!(check_name("case id", "p001").is_ok());
        assert!(check_name("case id", "a/b").is_err());
        assert!(check_name("case id", "").is_err());
        assert!(check_name("case id", ".").is_err());
    }
}
