//! Echocardiography data on disk and in silico. `sim` makes synthetic B-mode sequences with exact
//! labels; `nifti` and `dicom` read (and `nifti` writes) medical image files, converting NIfTI's
//! `[X=lateral, Y=depth, T]` to the in-memory `[T, H, W]`; `layout` discovers cases in files and
//! folders; `h5` owns the HDF5 artifact format the engine caches between nodes; `render` writes
//! GIF/PNG views of sequences and PNG plots. Every error is an `echo::Error` naming the file at fault.

pub mod dicom;
pub mod h5;
pub mod layout;
pub mod nifti;
pub mod render;
pub mod sim;
