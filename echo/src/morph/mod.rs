//! Morphology on 2-D masks and label frames (pure `ndarray`, no allocation in inner loops):
//! connected components (`label`), erosion/dilation/boundaries (`binary`), the exact
//! Euclidean distance transform (`edt`), marching-squares contours (`contour`), bounding
//! windows to work on crops (`window`), bit-packed masks for the hot loops of the metrics
//! (`bits`, packed from labels by `pack`, labelled over runs by `runs`), and the label-map
//! clean-ups of the method (`clean`: the morphological fix of method.md 4.2.1 and the
//! largest-foreground-blob cleanup of 7.1).
//!
//! Binary masks are `ArrayView2<bool>`, label frames `ArrayView2<u8>` with rows = depth (apex
//! at the top) and columns = lateral, i.e. the original's `frame.T` (method.md 12.1).

pub mod binary;
pub(crate) mod bits;
pub mod clean;
pub mod contour;
pub mod edt;
pub mod label;
mod pack;
pub(crate) mod runs;
pub mod window;

pub use binary::{Border, StructuringElement, boundary, dilate, erode};
pub use clean::{
    clean_frame, clean_sequence, keep_largest_foreground, keep_largest_foreground_sequence,
};
pub use contour::find_contours;
pub use edt::{EdtWorkspace, distance_to, edt, squared_distance_flat, squared_distance_to};
pub use label::{
    Components, Connectivity, count_components, fill_holes, holes, label, largest_component,
    remove_small_objects,
};
pub use window::Window;

/// Test helper: sets a rectangle of a 2-D array (ndarray's `s!` macro cannot be used under the
/// workspace's `forbid(unsafe_code)`).
#[cfg(test)]
pub(crate) fn fill_rect<T: Clone>(
    mut a: ndarray::ArrayViewMut2<T>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    value: T,
) {
    for r in rows {
        for c in cols.clone() {
            a[[r, c]] = value.clone();
        }
    }
}
