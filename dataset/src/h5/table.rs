//! Per-case tables stored in an artifact (`/tables/<name>`): a string column `id` and any number
//! of float64 columns, one 1-D dataset each, with their order in the group attribute `columns`.
//! In h5py: `pd.DataFrame({c: g[c][:] for c in ["id", *g.attrs["columns"]]})`.

use echo::{Error, Result};
use hdf5::types::VarLenUnicode;
use ndarray::Array1;

use super::check_name;

/// Name of the id column and of the attribute listing the value columns.
pub const ID_COLUMN: &str = "id";
pub const ATTR_COLUMNS: &str = "columns";

/// A table of per-case values: one row per case id, named float columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub ids: Vec<String>,
    /// `(column name, one value per id)`, in display order.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl Table {
    /// The column named `name`, if any.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    pub(crate) fn validate(&self, table: &str) -> Result<()> {
        let what = || format!("table {table}");
        let mut seen = std::collections::HashSet::new();
        for (name, values) in &self.columns {
            check_name("column name", name)?;
            if name == ID_COLUMN || !seen.insert(name.as_str()) {
                return Err(Error::invalid(
                    what(),
                    format!("column name `{name}` is reserved or repeated"),
                ));
            }
            if values.len() != self.ids.len() {
                return Err(Error::invalid(
                    what(),
                    format!(
                        "column `{name}` has {} values for {} ids",
                        values.len(),
                        self.ids.len()
                    ),
                ));
            }
        }
        if self.ids.iter().any(|id| id.contains('\0')) {
            return Err(Error::invalid(what(), "an id contains a NUL character"));
        }
        Ok(())
    }

    pub(crate) fn write(&self, group: &hdf5::Group) -> hdf5::Result<()> {
        let ids: Array1<VarLenUnicode> = self.ids.iter().map(|s| to_vlu(s)).collect();
        group
            .new_dataset_builder()
            .with_data(&ids)
            .create(ID_COLUMN)?;
        for (name, values) in &self.columns {
            group
                .new_dataset_builder()
                .with_data(&Array1::from(values.clone()))
                .create(name.as_str())?;
        }
        let names: Array1<VarLenUnicode> = self.columns.iter().map(|(n, _)| to_vlu(n)).collect();
        group
            .new_attr_builder()
            .with_data(&names)
            .create(ATTR_COLUMNS)?;
        Ok(())
    }

    pub(crate) fn read(group: &hdf5::Group) -> hdf5::Result<Table> {
        let ids = group.dataset(ID_COLUMN)?.read_raw::<VarLenUnicode>()?;
        let names = group.attr(ATTR_COLUMNS)?.read_raw::<VarLenUnicode>()?;
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let values = group.dataset(name.as_str())?.read_raw::<f64>()?;
            columns.push((name.as_str().to_string(), values));
        }
        Ok(Table {
            ids: ids.iter().map(|s| s.as_str().to_string()).collect(),
            columns,
        })
    }
}

/// Strings were checked for NUL in `validate`; the parse cannot fail then.
fn to_vlu(s: &str) -> VarLenUnicode {
    s.parse().unwrap_or_default()
}
