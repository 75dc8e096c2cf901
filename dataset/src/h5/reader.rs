//! Reading an artifact: [`ArtifactReader`] checks on open that the file is HDF5, is one of ours
//! and is not newer than this code; every later read touches only the case, dataset or frame
//! asked for. Corrupt or truncated files give errors naming the file, never a panic.

use std::io::Read;
use std::path::{Path, PathBuf};

use echo::{Case, Error, Geometry, Result};
use hdf5::types::VarLenUnicode;
use hdf5::{Hyperslab, SliceOrIndex};
use ndarray::{Array3, ArrayD, Ix3};

use super::*;

/// HDF5 file signature (at offset 0 unless the file has a user block).
const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// Reads one artifact file (see the module doc of [`crate::h5`]).
pub struct ArtifactReader {
    file: hdf5::File,
    path: PathBuf,
    kind: String,
    format_version: i64,
}

impl std::fmt::Debug for ArtifactReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactReader")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish()
    }
}

impl ArtifactReader {
    /// Open an artifact of any kind.
    pub fn open(path: &Path) -> Result<Self> {
        let mut head = [0u8; 8];
        let mut f = std::fs::File::open(path)
            .map_err(|e| Error::file(path, format!("cannot open artifact ({e})")))?;
        let n = f
            .read(&mut head)
            .map_err(|e| Error::file(path, format!("cannot read artifact ({e})")))?;
        if n < 8 || head != SIGNATURE {
            return Err(Error::file(
                path,
                "is not an HDF5 file (bad signature); delete it and rerun the step that makes it",
            ));
        }
        let file = hdf5::File::open(path).map_err(|e| {
            h5_error(
                path,
                "cannot open HDF5 file (truncated or corrupt? delete it and rerun)",
                e,
            )
        })?;
        let kind = read_str_attr(&file, ATTR_KIND).map_err(|_| {
            Error::file(
                path,
                format!("is HDF5 but not an rl4seg artifact (no `{ATTR_KIND}` attribute)"),
            )
        })?;
        let format_version = file
            .attr(ATTR_FORMAT_VERSION)
            .and_then(|a| a.read_scalar::<i64>())
            .map_err(|e| {
                h5_error(
                    path,
                    &format!("missing or unreadable `{ATTR_FORMAT_VERSION}`"),
                    e,
                )
            })?;
        if format_version > FORMAT_VERSION {
            return Err(Error::file(
                path,
                format!(
                    "was written by a newer rl4seg (format_version {format_version}, this build reads up \
                     to {FORMAT_VERSION}); upgrade rl4seg or delete the cache entry"
                ),
            ));
        }
        Ok(ArtifactReader {
            file,
            path: path.to_path_buf(),
            kind,
            format_version,
        })
    }

    /// Open an artifact and check its kind.
    pub fn open_kind(path: &Path, kind: &str) -> Result<Self> {
        let reader = Self::open(path)?;
        if reader.kind != kind {
            return Err(Error::file(
                path,
                format!(
                    "is a `{}` artifact, but a `{kind}` artifact was expected",
                    reader.kind
                ),
            ));
        }
        Ok(reader)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn format_version(&self) -> i64 {
        self.format_version
    }
    pub fn cache_key(&self) -> Result<String> {
        self.attr_str(ATTR_CACHE_KEY)
    }
    pub fn node_config(&self) -> Result<String> {
        self.attr_str(ATTR_NODE_CONFIG)
    }

    fn err(&self, doing: &str, e: hdf5::Error) -> Error {
        h5_error(&self.path, doing, e)
    }

    /// A root string attribute.
    pub fn attr_str(&self, name: &str) -> Result<String> {
        read_str_attr(&self.file, name)
            .map_err(|e| self.err(&format!("cannot read root attribute {name}"), e))
    }

    /// A root numeric attribute, as f64.
    pub fn attr_f64(&self, name: &str) -> Result<f64> {
        self.file
            .attr(name)
            .and_then(|a| a.read_scalar::<f64>())
            .map_err(|e| self.err(&format!("cannot read root attribute {name}"), e))
    }

    /// Case ids in name order (empty if the artifact has no cases).
    pub fn case_ids(&self) -> Result<Vec<String>> {
        names_under(&self.file, CASES).map_err(|e| self.err("cannot list /cases", e))
    }

    /// Names of the tables under `/tables`.
    pub fn table_names(&self) -> Result<Vec<String>> {
        names_under(&self.file, TABLES).map_err(|e| self.err("cannot list /tables", e))
    }

    /// Names of the blobs under `/blobs`.
    pub fn blob_names(&self) -> Result<Vec<String>> {
        names_under(&self.file, BLOBS).map_err(|e| self.err("cannot list /blobs", e))
    }

    fn case_group(&self, id: &str) -> Result<hdf5::Group> {
        check_name("case id", id)?;
        self.file.group(&format!("{CASES}/{id}")).map_err(|_| {
            Error::file(
                &self.path,
                format!("has no case `{id}` (list them with `h5ls -r`)"),
            )
        })
    }

    /// Whether case `id` has a dataset `name`.
    pub fn has(&self, id: &str, name: &str) -> bool {
        check_name("case id", id).is_ok()
            && check_name("dataset name", name).is_ok()
            && self.file.link_exists(&format!("{CASES}/{id}/{name}"))
    }

    /// Names of the datasets of case `id`.
    pub fn dataset_names(&self, id: &str) -> Result<Vec<String>> {
        let group = self.case_group(id)?;
        let datasets = group
            .datasets()
            .map_err(|e| self.err(&format!("cannot list case {id}"), e))?;
        Ok(datasets
            .iter()
            .map(|d| d.name().rsplit('/').next().unwrap_or_default().to_string())
            .collect())
    }

    fn dataset<T: Element>(&self, id: &str, name: &str) -> Result<hdf5::Dataset> {
        let group = self.case_group(id)?;
        check_name("dataset name", name)?;
        let ds = group
            .dataset(name)
            .map_err(|_| Error::file(&self.path, format!("case `{id}` has no dataset `{name}`")))?;
        let dtype = ds
            .dtype()
            .map_err(|e| self.err(&format!("cannot read the type of {id}/{name}"), e))?;
        if !dtype.is::<T>() {
            let found = dtype
                .to_descriptor()
                .map(|d| format!("{d}"))
                .unwrap_or_else(|_| "unknown".into());
            return Err(Error::file(
                &self.path,
                format!("dataset {id}/{name} holds {found}, not {}", T::NAME),
            ));
        }
        Ok(ds)
    }

    fn get<T: Element>(&self, id: &str, name: &str) -> Result<ArrayD<T>> {
        self.dataset::<T>(id, name)?.read_dyn::<T>().map_err(|e| {
            self.err(
                &format!("cannot read dataset {id}/{name} (corrupt file?)"),
                e,
            )
        })
    }

    /// A float32 dataset of a case, whole.
    pub fn get_f32(&self, id: &str, name: &str) -> Result<ArrayD<f32>> {
        self.get(id, name)
    }

    /// A uint8 dataset of a case, whole.
    pub fn get_u8(&self, id: &str, name: &str) -> Result<ArrayD<u8>> {
        self.get(id, name)
    }

    /// Frame `t` of a dataset: index `t` of axis 0 for `[T, H, W]` data, of axis 1 for
    /// `[C, T, H, W]` data (all channels). Reads only that frame's chunks.
    pub fn read_frame<T: Element>(&self, id: &str, name: &str, t: usize) -> Result<ArrayD<T>> {
        let ds = self.dataset::<T>(id, name)?;
        let shape = ds.shape();
        let time_axis = match shape.len() {
            3 => 0,
            4 => 1,
            n => {
                return Err(Error::invalid(
                    format!("dataset {id}/{name} in {}", self.path.display()),
                    format!("has rank {n}; frames exist only for [T, H, W] or [C, T, H, W] data"),
                ));
            }
        };
        if t >= shape[time_axis] {
            return Err(Error::invalid(
                format!("frame {t} of {id}/{name} in {}", self.path.display()),
                format!("out of range: the dataset has {} frames", shape[time_axis]),
            ));
        }
        let slices: Vec<SliceOrIndex> = (0..shape.len())
            .map(|axis| {
                if axis == time_axis {
                    SliceOrIndex::Index(t)
                } else {
                    SliceOrIndex::from(..)
                }
            })
            .collect();
        ds.read_slice::<T, _, ndarray::IxDyn>(Hyperslab::from(slices))
            .map_err(|e| {
                self.err(
                    &format!("cannot read frame {t} of {id}/{name} (corrupt file?)"),
                    e,
                )
            })
    }

    /// A string attribute of a case.
    pub fn case_attr_str(&self, id: &str, name: &str) -> Result<String> {
        let group = self.case_group(id)?;
        read_str_attr(&group, name)
            .map_err(|e| self.err(&format!("cannot read attribute {name} of case {id}"), e))
    }

    /// A numeric attribute of a case, as f64 values (a scalar gives one value).
    pub fn case_attr_f64s(&self, id: &str, name: &str) -> Result<Vec<f64>> {
        let group = self.case_group(id)?;
        group
            .attr(name)
            .and_then(|a| a.read_raw::<f64>())
            .map_err(|e| self.err(&format!("cannot read attribute {name} of case {id}"), e))
    }

    /// Names of the attributes of a case.
    pub fn case_attr_names(&self, id: &str) -> Result<Vec<String>> {
        let group = self.case_group(id)?;
        group
            .attr_names()
            .map_err(|e| self.err(&format!("cannot list attributes of case {id}"), e))
    }

    fn attr_3(&self, id: &str, name: &str) -> Result<[f64; 3]> {
        let v = self.case_attr_f64s(id, name)?;
        <[f64; 3]>::try_from(v.as_slice()).map_err(|_| {
            Error::file(
                &self.path,
                format!(
                    "attribute {name} of case {id} has {} values, expected 3",
                    v.len()
                ),
            )
        })
    }

    /// A whole case: image, label if present, geometry, domain and view.
    pub fn read_case(&self, id: &str) -> Result<Case> {
        let image = to_3d(&self.path, id, IMAGE, self.get_f32(id, IMAGE)?)?;
        let label = if self.has(id, LABEL) {
            Some(to_3d(&self.path, id, LABEL, self.get_u8(id, LABEL)?)?)
        } else {
            None
        };
        let affine_values = self.case_attr_f64s(id, ATTR_AFFINE)?;
        if affine_values.len() != 16 {
            return Err(Error::file(
                &self.path,
                format!("attribute affine of case {id} is not 4x4"),
            ));
        }
        let mut affine = [[0.0; 4]; 4];
        for (i, v) in affine_values.iter().enumerate() {
            affine[i / 4][i % 4] = *v;
        }
        let shape = self.attr_3(id, ATTR_ORIGINAL_SHAPE)?;
        let geometry = Geometry {
            spacing: self.attr_3(id, ATTR_SPACING)?,
            affine,
            original_shape: shape.map(|d| d as usize),
            original_spacing: self.attr_3(id, ATTR_ORIGINAL_SPACING)?,
        };
        let optional = |name| self.case_attr_str(id, name).unwrap_or_default();
        Ok(Case {
            id: id.to_string(),
            image,
            label,
            geometry,
            domain: optional(ATTR_DOMAIN),
            view: optional(ATTR_VIEW),
        })
    }

    /// The table `/tables/<name>`.
    pub fn get_table(&self, name: &str) -> Result<Table> {
        check_name("table name", name)?;
        let group = self
            .file
            .group(&format!("{TABLES}/{name}"))
            .map_err(|_| Error::file(&self.path, format!("has no table `{name}`")))?;
        Table::read(&group)
            .map_err(|e| self.err(&format!("cannot read table {name} (corrupt file?)"), e))
    }

    /// The blob `/blobs/<name>`.
    pub fn get_blob(&self, name: &str) -> Result<Vec<u8>> {
        check_name("blob name", name)?;
        let ds = self
            .file
            .dataset(&format!("{BLOBS}/{name}"))
            .map_err(|_| Error::file(&self.path, format!("has no blob `{name}`")))?;
        ds.read_raw::<u8>()
            .map_err(|e| self.err(&format!("cannot read blob {name} (corrupt file?)"), e))
    }
}

fn read_str_attr(loc: &hdf5::Location, name: &str) -> hdf5::Result<String> {
    Ok(loc
        .attr(name)?
        .read_scalar::<VarLenUnicode>()?
        .as_str()
        .to_string())
}

fn names_under(file: &hdf5::File, top: &str) -> hdf5::Result<Vec<String>> {
    if !file.link_exists(top) {
        return Ok(Vec::new());
    }
    file.group(top)?.member_names()
}

fn to_3d<T>(path: &Path, id: &str, name: &str, data: ArrayD<T>) -> Result<Array3<T>> {
    let shape = data.shape().to_vec();
    data.into_dimensionality::<Ix3>().map_err(|_| {
        Error::file(
            path,
            format!("dataset {id}/{name} has shape {shape:?}, expected [T, H, W]"),
        )
    })
}
