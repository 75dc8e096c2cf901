//! Echocardiography arrays without neural networks or files: the shared data model (`types`),
//! morphology (`morph`), preprocessing (`preprocess`: CLAHE, resampling, crop/pad and their
//! inverses), augmentation (`augment`: training and TTA transforms with exact inverses) and
//! segmentation metrics (`metrics`: Dice, Hausdorff, anatomical and temporal validity,
//! calibration). Pure Rust on `ndarray` arrays.

pub mod error;
pub mod types;

pub mod augment;
pub mod metrics;
pub mod morph;
pub mod preprocess;

pub use error::{Error, Result};
pub use types::{BG, Case, Geometry, LV, MYO, NUM_CLASSES};
pub mod corrector;
pub mod distort;
pub mod reward;
