//! Writing an artifact: [`ArtifactWriter`] creates a temporary file beside the target, fills it
//! case by case, and renames it into place in [`ArtifactWriter::finish`]; dropped unfinished, it
//! deletes the temporary file. No object records its creation or modification time (HDF5 does
//! for groups by default), so the same content gives the same bytes (design.md, Determinism).

use std::path::{Path, PathBuf};

use echo::{Case, Error, Result};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, ArrayView1, ArrayViewD};

use super::*;

/// Writes one artifact file (see the module doc of [`crate::h5`]).
pub struct ArtifactWriter {
    file: Option<hdf5::File>,
    path: PathBuf,
    tmp: PathBuf,
    gzip: Option<u8>,
}

impl ArtifactWriter {
    /// Start an artifact of `kind` at `path` (written to a temporary file until [`finish`]).
    ///
    /// [`finish`]: ArtifactWriter::finish
    pub fn create(
        path: &Path,
        kind: &str,
        cache_key: &str,
        node_config_toml: &str,
    ) -> Result<Self> {
        let tmp = temp_path(path);
        // The root group takes its (no) times from the file creation list.
        let file = hdf5::File::with_options()
            .with_fcpl(|p| p.obj_track_times(false))
            .create(&tmp)
            .map_err(|e| {
                h5_error(
                    path,
                    "cannot create the HDF5 artifact (is the folder writable?)",
                    e,
                )
            })?;
        let writer = ArtifactWriter {
            file: Some(file),
            path: path.to_path_buf(),
            tmp,
            gzip: Some(1),
        };
        writer.set_attr_str(ATTR_KIND, kind)?;
        writer.set_attr_i64(ATTR_FORMAT_VERSION, FORMAT_VERSION)?;
        writer.set_attr_str(ATTR_CACHE_KEY, cache_key)?;
        writer.set_attr_str(ATTR_NODE_CONFIG, node_config_toml)?;
        Ok(writer)
    }

    /// gzip level (0-9) for the datasets written from now on, or `None` for no compression.
    /// The default is level 1 (fast; see rust-stack.md section 4 for the trade-off).
    pub fn gzip(mut self, level: Option<u8>) -> Result<Self> {
        if let Some(l) = level.filter(|l| *l > 9) {
            return Err(Error::invalid("gzip level", format!("{l} is not in 0..=9")));
        }
        self.gzip = level;
        Ok(self)
    }

    /// The final path this writer renames to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self) -> Result<&hdf5::File> {
        self.file
            .as_ref()
            .ok_or_else(|| Error::Internal("artifact writer used after finish".into()))
    }

    fn err(&self, doing: &str, e: hdf5::Error) -> Error {
        h5_error(&self.path, doing, e)
    }

    /// The group `/<top>/<name>`, created if missing.
    fn group(&self, top: &str, name: &str) -> Result<hdf5::Group> {
        let file = self.file()?;
        let top_group = match file.group(top) {
            Ok(g) => g,
            Err(_) => {
                new_group(file, top).map_err(|e| self.err(&format!("cannot create /{top}"), e))?
            }
        };
        match top_group.group(name) {
            Ok(g) => Ok(g),
            Err(_) => new_group(&top_group, name)
                .map_err(|e| self.err(&format!("cannot create /{top}/{name}"), e)),
        }
    }

    fn case_group(&self, case_id: &str) -> Result<hdf5::Group> {
        check_name("case id", case_id)?;
        self.group(CASES, case_id)
    }

    /// Write a case: `image`, `label` if any, geometry, domain and view.
    pub fn write_case(&mut self, case: &Case) -> Result<()> {
        if let Some(label) = &case.label
            && label.shape() != case.image.shape()
        {
            return Err(Error::invalid(
                format!("case {}", case.id),
                format!(
                    "label shape {:?} differs from image shape {:?}",
                    label.shape(),
                    case.image.shape()
                ),
            ));
        }
        self.put_f32(&case.id, IMAGE, case.image.view().into_dyn())?;
        if let Some(label) = &case.label {
            self.put_u8(&case.id, LABEL, label.view().into_dyn())?;
        }
        let g = &case.geometry;
        self.set_case_attr_f64s(&case.id, ATTR_SPACING, &g.spacing)?;
        self.set_case_attr_f64s(&case.id, ATTR_ORIGINAL_SPACING, &g.original_spacing)?;
        let shape = g.original_shape.map(|d| d as u64);
        let group = self.case_group(&case.id)?;
        write_attr_array(&group, ATTR_ORIGINAL_SHAPE, ArrayView1::from(&shape[..])).map_err(
            |e| {
                self.err(
                    &format!("cannot write {ATTR_ORIGINAL_SHAPE} of case {}", case.id),
                    e,
                )
            },
        )?;
        let affine = Array2::from_shape_fn((4, 4), |(i, j)| g.affine[i][j]);
        group
            .new_attr_builder()
            .with_data(&affine)
            .create(ATTR_AFFINE)
            .map_err(|e| {
                self.err(
                    &format!("cannot write {ATTR_AFFINE} of case {}", case.id),
                    e,
                )
            })?;
        self.set_case_attr_str(&case.id, ATTR_DOMAIN, &case.domain)?;
        self.set_case_attr_str(&case.id, ATTR_VIEW, &case.view)?;
        Ok(())
    }

    /// Add a float32 dataset `/cases/<case_id>/<name>` (any rank; e.g. `probs` `[C, T, H, W]`).
    pub fn put_f32(&mut self, case_id: &str, name: &str, data: ArrayViewD<f32>) -> Result<()> {
        self.put(case_id, name, data)
    }

    /// Add a uint8 dataset `/cases/<case_id>/<name>` (e.g. `pred` `[T, H, W]`).
    pub fn put_u8(&mut self, case_id: &str, name: &str, data: ArrayViewD<u8>) -> Result<()> {
        self.put(case_id, name, data)
    }

    fn put<T: Element>(&mut self, case_id: &str, name: &str, data: ArrayViewD<T>) -> Result<()> {
        check_name("dataset name", name)?;
        let group = self.case_group(case_id)?;
        if group.link_exists(name) {
            return Err(Error::invalid(
                format!("dataset {name} of case {case_id}"),
                format!(
                    "already written to {}; each name can be written once",
                    self.path.display()
                ),
            ));
        }
        let data = data.as_standard_layout();
        let mut builder = group.new_dataset_builder().with_data(&data);
        if let Some(chunks) = frame_chunks(data.shape()) {
            builder = builder.chunk(chunks);
            if let Some(level) = self.gzip {
                builder = builder.deflate(level);
            }
        }
        builder
            .create(name)
            .map_err(|e| self.err(&format!("cannot write dataset {name} of case {case_id}"), e))?;
        Ok(())
    }

    /// Set a string attribute on a case group.
    pub fn set_case_attr_str(&mut self, case_id: &str, name: &str, value: &str) -> Result<()> {
        let group = self.case_group(case_id)?;
        write_str_attr(&group, name, value).map_err(|e| self.attr_error(case_id, name, e))
    }

    /// Set a float attribute on a case group.
    pub fn set_case_attr_f64(&mut self, case_id: &str, name: &str, value: f64) -> Result<()> {
        let group = self.case_group(case_id)?;
        check_name("attribute name", name)?;
        replace_attr(&group, name)
            .and_then(|()| {
                group
                    .new_attr::<f64>()
                    .shape(())
                    .create(name)?
                    .write_scalar(&value)
            })
            .map_err(|e| self.attr_error(case_id, name, e.into()))
    }

    /// Set a float-array attribute on a case group.
    pub fn set_case_attr_f64s(&mut self, case_id: &str, name: &str, values: &[f64]) -> Result<()> {
        let group = self.case_group(case_id)?;
        check_name("attribute name", name)?;
        write_attr_array(&group, name, ArrayView1::from(values))
            .map_err(|e| self.attr_error(case_id, name, e.into()))
    }

    fn attr_error(&self, case_id: &str, name: &str, e: AttrError) -> Error {
        match e {
            AttrError::Invalid(e) => e,
            AttrError::H5(e) => self.err(
                &format!("cannot write attribute {name} of case {case_id}"),
                e,
            ),
        }
    }

    /// Set a string attribute on the root (reserved names are set by [`create`](Self::create)).
    pub fn set_attr_str(&self, name: &str, value: &str) -> Result<()> {
        let file = self.file()?;
        write_str_attr(file, name, value).map_err(|e| match e {
            AttrError::Invalid(e) => e,
            AttrError::H5(e) => self.err(&format!("cannot write root attribute {name}"), e),
        })
    }

    /// Set an integer attribute on the root.
    pub fn set_attr_i64(&self, name: &str, value: i64) -> Result<()> {
        check_name("attribute name", name)?;
        let file = self.file()?;
        replace_attr(file, name)
            .and_then(|()| {
                file.new_attr::<i64>()
                    .shape(())
                    .create(name)?
                    .write_scalar(&value)
            })
            .map_err(|e| self.err(&format!("cannot write root attribute {name}"), e))
    }

    /// Set a float attribute on the root.
    pub fn set_attr_f64(&self, name: &str, value: f64) -> Result<()> {
        check_name("attribute name", name)?;
        let file = self.file()?;
        replace_attr(file, name)
            .and_then(|()| {
                file.new_attr::<f64>()
                    .shape(())
                    .create(name)?
                    .write_scalar(&value)
            })
            .map_err(|e| self.err(&format!("cannot write root attribute {name}"), e))
    }

    /// Write a per-case table as `/tables/<name>` (see [`Table`]).
    pub fn put_table(&mut self, name: &str, table: &Table) -> Result<()> {
        check_name("table name", name)?;
        table.validate(name)?;
        let group = self.group(TABLES, name)?;
        table
            .write(&group)
            .map_err(|e| self.err(&format!("cannot write table {name}"), e))
    }

    /// Write bytes (e.g. a checkpoint) as the uint8 dataset `/blobs/<name>`.
    pub fn put_blob(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        check_name("blob name", name)?;
        let file = self.file()?;
        let blobs = match file.group(BLOBS) {
            Ok(g) => g,
            Err(_) => new_group(file, BLOBS).map_err(|e| self.err("cannot create /blobs", e))?,
        };
        let data = Array1::from(bytes.to_vec());
        let mut builder = blobs.new_dataset_builder().with_data(&data);
        if !bytes.is_empty() {
            builder = builder.chunk(bytes.len().min(1 << 20));
            if let Some(level) = self.gzip {
                builder = builder.deflate(level);
            }
        }
        builder
            .create(name)
            .map_err(|e| self.err(&format!("cannot write blob {name}"), e))?;
        Ok(())
    }

    /// Close the file and move it to its final path.
    pub fn finish(mut self) -> Result<()> {
        let closed = match self.file.take() {
            Some(file) => file
                .close()
                .map_err(|e| self.err("cannot close the HDF5 artifact", e)),
            None => Ok(()),
        };
        let result = closed.and_then(|()| {
            std::fs::rename(&self.tmp, &self.path).map_err(|e| {
                Error::file(
                    &self.path,
                    format!("cannot move the finished artifact into place: {e}"),
                )
            })
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Drop for ArtifactWriter {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            drop(file);
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

enum AttrError {
    Invalid(Error),
    H5(hdf5::Error),
}

impl From<hdf5::Error> for AttrError {
    fn from(e: hdf5::Error) -> Self {
        AttrError::H5(e)
    }
}

fn replace_attr(loc: &hdf5::Location, name: &str) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|n| n == name) {
        loc.delete_attr(name)?;
    }
    Ok(())
}

fn write_str_attr(loc: &hdf5::Location, name: &str, value: &str) -> Result<(), AttrError> {
    check_name("attribute name", name).map_err(AttrError::Invalid)?;
    let v: VarLenUnicode = value.parse().map_err(|_| {
        AttrError::Invalid(Error::invalid(
            format!("attribute {name}"),
            "string contains a NUL character",
        ))
    })?;
    replace_attr(loc, name)?;
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .write_scalar(&v)?;
    Ok(())
}

fn write_attr_array<T: hdf5::H5Type>(
    loc: &hdf5::Location,
    name: &str,
    values: ArrayView1<T>,
) -> hdf5::Result<()> {
    replace_attr(loc, name)?;
    loc.new_attr_builder().with_data(values).create(name)?;
    Ok(())
}

/// The group `parent/name`, without the creation and modification times HDF5 stores in a
/// group by default: they would make two writes of the same content differ. (Datasets record
/// none: hdf5-metno's dataset builder turns them off, as h5py does.)
fn new_group(parent: &hdf5::Group, name: &str) -> hdf5::Result<hdf5::Group> {
    parent
        .create_group_builder()
        .obj_track_times(false)
        .create(name)
}

/// `<dir>/.<name>.<pid>-<n>.tmp`: same folder, so the final rename is atomic.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}
