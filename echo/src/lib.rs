//! Echocardiography data without neural networks: the synthetic B-mode simulator (`sim`),
//! file formats (`io`: NIfTI, DICOM, HDF5 artifacts, GIF/PNG), preprocessing and augmentation
//! (`preprocess`, `augment`), and segmentation metrics (`metrics`: Dice, Hausdorff, anatomical
//! and temporal validity, calibration). Everything here is pure Rust on `ndarray` arrays.

pub mod error;
pub mod types;

// Owned by the metrics/preprocessing work:
pub mod metrics;
pub mod preprocess;
pub mod augment;
pub mod morph;

// Owned by the simulator/I-O work:
pub mod sim;
pub mod io;

pub use error::{Error, Result};
pub use types::{Case, Geometry, BG, LV, MYO, NUM_CLASSES};
