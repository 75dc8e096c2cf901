//! Separable Gaussian filtering of `[h, w]` row-major images with edge clamping: the PSF blur
//! (one kernel per row, as the lateral PSF widens with depth), the pixel integration and the
//! display smoothing of the image formation.

/// A normalised Gaussian kernel of standard deviation `sigma` pixels (`[1]` below 0.2 px).
pub(crate) fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    if sigma < 0.2 {
        return vec![1.0];
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let w: Vec<f64> = (-radius..=radius)
        .map(|m| (-(m * m) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = w.iter().sum();
    w.iter().map(|v| (v / total) as f32).collect()
}

/// Convolves each row of `src` (`[h, w]`, row-major) with its own kernel into `dst`, clamping at the edges.
pub(crate) fn blur_rows(src: &[f32], dst: &mut [f32], w: usize, kernels: &[Vec<f32>]) {
    for (i, kernel) in kernels.iter().enumerate() {
        let (row, out) = (&src[i * w..(i + 1) * w], &mut dst[i * w..(i + 1) * w]);
        let radius = (kernel.len() / 2) as isize;
        for (j, o) in out.iter_mut().enumerate() {
            *o = kernel
                .iter()
                .enumerate()
                .map(|(m, k)| {
                    k * row[(j as isize + m as isize - radius).clamp(0, w as isize - 1) as usize]
                })
                .sum();
        }
    }
}

/// Convolves each column of `src` (`[h, w]`) with `kernel` into `dst`, clamping at the edges.
pub(crate) fn blur_columns(src: &[f32], dst: &mut [f32], h: usize, w: usize, kernel: &[f32]) {
    let radius = (kernel.len() / 2) as isize;
    for i in 0..h {
        let out = &mut dst[i * w..(i + 1) * w];
        out.iter_mut().for_each(|v| *v = 0.0);
        for (m, k) in kernel.iter().enumerate() {
            let src_row = (i as isize + m as isize - radius).clamp(0, h as isize - 1) as usize;
            for (o, v) in out.iter_mut().zip(&src[src_row * w..(src_row + 1) * w]) {
                *o += k * v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_normalised() {
        for sigma in [0.0, 0.5, 1.3, 4.0] {
            let k = gaussian_kernel(sigma);
            assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(k.len() % 2, 1);
        }
        assert_eq!(gaussian_kernel(0.1), vec![1.0]);
    }

    #[test]
    fn separable_blur_preserves_constants_and_spreads_a_point() {
        let (h, w) = (9, 9);
        let ones = vec![2.0f32; h * w];
        let (mut a, mut b) = (vec![0.0; h * w], vec![0.0; h * w]);
        let kernels = vec![gaussian_kernel(1.0); h];
        blur_rows(&ones, &mut a, w, &kernels);
        blur_columns(&a, &mut b, h, w, &gaussian_kernel(0.8));
        assert!(b.iter().all(|v| (v - 2.0).abs() < 1e-5));
        let mut point = vec![0.0f32; h * w];
        point[4 * w + 4] = 1.0;
        blur_rows(&point, &mut a, w, &kernels);
        blur_columns(&a, &mut b, h, w, &gaussian_kernel(0.8));
        assert!(b[4 * w + 4] < 1.0 && b[4 * w + 5] > 0.0 && b[5 * w + 4] > 0.0);
        assert!((b.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}
