//! NIfTI-1 orientation math: the qform (quaternion + offset + qfac + pixdim) to a 4x4 affine and
//! back, following the NIfTI-1 standard and nibabel's `Nifti1Header.set_qform` (column norms as
//! zooms, qfac = -1 for left-handed affines, shears stripped by taking the nearest rotation).
//! Pure `f64` math on `[[f64; 4]; 4]`, no nalgebra.

/// A 4x4 row-major affine (voxel `[i, j, k, 1]` -> world).
pub type Affine = [[f64; 4]; 4];
type Mat3 = [[f64; 3]; 3];

/// The quaternion form of an affine, as stored in a NIfTI-1 header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QForm {
    /// `quatern_b, quatern_c, quatern_d` (the real part `a >= 0` is implied).
    pub quatern: [f64; 3],
    /// `qoffset_x, qoffset_y, qoffset_z`.
    pub offset: [f64; 3],
    /// `pixdim[0]`: 1 for right-handed, -1 for left-handed voxel axes.
    pub qfac: f64,
    /// Column norms of the affine's 3x3 part (`pixdim[1..4]` in nibabel).
    pub zooms: [f64; 3],
    /// Whether the 3x3 part is a rotation times zooms up to a relative 1e-6, i.e. the qform
    /// reproduces the affine (no shear).
    pub exact: bool,
}

/// The affine a qform describes (NIfTI-1 "method 2").
pub fn qform_affine(quatern: [f64; 3], offset: [f64; 3], qfac: f64, pixdim: [f64; 3]) -> Affine {
    let [b, c, d] = quatern;
    let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
    let r = [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ];
    let qfac = if qfac < 0.0 { -1.0 } else { 1.0 };
    let z = [pixdim[0], pixdim[1], pixdim[2] * qfac];
    let mut out = [[0.0; 4]; 4];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = r[i][j] * z[j];
        }
        out[i][3] = offset[i];
    }
    out[3] = [0.0, 0.0, 0.0, 1.0];
    out
}

/// The qform of an affine, as nibabel computes it: zooms are the column norms, a negative
/// determinant flips the third column and sets qfac = -1, a sheared 3x3 is replaced by its
/// nearest rotation (polar decomposition), and the quaternion is taken with `a >= 0`.
/// Returns `None` when the 3x3 part is singular or not finite.
pub fn affine_to_qform(affine: &Affine) -> Option<QForm> {
    let mut r: Mat3 = [[0.0; 3]; 3];
    let mut zooms = [0.0; 3];
    for (j, zoom) in zooms.iter_mut().enumerate() {
        *zoom = (0..3)
            .map(|i| affine[i][j] * affine[i][j])
            .sum::<f64>()
            .sqrt();
        if !zoom.is_finite() || *zoom == 0.0 {
            return None;
        }
        for (i, row) in r.iter_mut().enumerate() {
            row[j] = affine[i][j] / *zoom;
        }
    }
    let qfac = if det3(&r) > 0.0 { 1.0 } else { -1.0 };
    if qfac < 0.0 {
        for row in r.iter_mut() {
            row[2] = -row[2];
        }
    }
    let rot = nearest_rotation(&r)?;
    let exact = r
        .iter()
        .flatten()
        .zip(rot.iter().flatten())
        .all(|(x, y)| (x - y).abs() < 1e-6);
    let q = rotation_to_quaternion(&rot);
    Some(QForm {
        quatern: [q[1], q[2], q[3]],
        offset: [affine[0][3], affine[1][3], affine[2][3]],
        qfac,
        zooms,
        exact,
    })
}

fn det3(m: &Mat3) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn inverse_transpose(m: &Mat3) -> Option<Mat3> {
    let det = det3(m);
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    // inverse = adjugate / det; its transpose = cofactor matrix / det.
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let (i1, i2) = ((i + 1) % 3, (i + 2) % 3);
            let (j1, j2) = ((j + 1) % 3, (j + 2) % 3);
            *v = (m[i1][j1] * m[i2][j2] - m[i1][j2] * m[i2][j1]) / det;
        }
    }
    Some(out)
}

/// Orthogonal polar factor of `m` (what nibabel gets from the SVD as `P @ Qs`), by the Newton
/// iteration `X <- (X + X^-T) / 2`, which converges quadratically for a non-singular matrix.
fn nearest_rotation(m: &Mat3) -> Option<Mat3> {
    let mut x = *m;
    for _ in 0..100 {
        let inv_t = inverse_transpose(&x)?;
        let mut next = [[0.0; 3]; 3];
        let mut change: f64 = 0.0;
        for i in 0..3 {
            for j in 0..3 {
                next[i][j] = 0.5 * (x[i][j] + inv_t[i][j]);
                change = change.max((next[i][j] - x[i][j]).abs());
            }
        }
        x = next;
        if change < 1e-15 {
            break;
        }
    }
    Some(x)
}

/// Unit quaternion `[a, b, c, d]` (with `a >= 0`) of a rotation matrix (Shepperd's method).
fn rotation_to_quaternion(r: &Mat3) -> [f64; 4] {
    let trace = r[0][0] + r[1][1] + r[2][2];
    let q = if trace > 0.0 {
        let s = 0.5 / (trace + 1.0).sqrt();
        [
            0.25 / s,
            (r[2][1] - r[1][2]) * s,
            (r[0][2] - r[2][0]) * s,
            (r[1][0] - r[0][1]) * s,
        ]
    } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
        let s = 2.0 * (1.0 + r[0][0] - r[1][1] - r[2][2]).sqrt();
        [
            (r[2][1] - r[1][2]) / s,
            0.25 * s,
            (r[0][1] + r[1][0]) / s,
            (r[0][2] + r[2][0]) / s,
        ]
    } else if r[1][1] > r[2][2] {
        let s = 2.0 * (1.0 + r[1][1] - r[0][0] - r[2][2]).sqrt();
        [
            (r[0][2] - r[2][0]) / s,
            (r[0][1] + r[1][0]) / s,
            0.25 * s,
            (r[1][2] + r[2][1]) / s,
        ]
    } else {
        let s = 2.0 * (1.0 + r[2][2] - r[0][0] - r[1][1]).sqrt();
        [
            (r[1][0] - r[0][1]) / s,
            (r[0][2] + r[2][0]) / s,
            (r[1][2] + r[2][1]) / s,
            0.25 * s,
        ]
    };
    let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let sign = if q[0] < 0.0 { -1.0 } else { 1.0 };
    q.map(|v| sign * v / norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rot_zx(theta: f64, phi: f64) -> Mat3 {
        let (st, ct) = theta.sin_cos();
        let (sp, cp) = phi.sin_cos();
        let rz = [[ct, -st, 0.0], [st, ct, 0.0], [0.0, 0.0, 1.0]];
        let rx = [[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]];
        let mut out = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                out[i][j] = (0..3).map(|k| rz[i][k] * rx[k][j]).sum();
            }
        }
        out
    }

    fn affine_from(r: &Mat3, zooms: [f64; 3], flip_x: bool, offset: [f64; 3]) -> Affine {
        let mut a = [[0.0; 4]; 4];
        for i in 0..3 {
            for j in 0..3 {
                let f = if flip_x && j == 0 { -1.0 } else { 1.0 };
                a[i][j] = r[i][j] * zooms[j] * f;
            }
            a[i][3] = offset[i];
        }
        a[3][3] = 1.0;
        a
    }

    fn assert_close(a: &Affine, b: &Affine, tol: f64) {
        for i in 0..4 {
            for j in 0..4 {
                assert!(
                    (a[i][j] - b[i][j]).abs() <= tol,
                    "{a:?} != {b:?} at [{i}][{j}]"
                );
            }
        }
    }

    #[test]
    fn rigid_affines_round_trip_through_the_qform() {
        for (k, flip) in [
            (0.3, false),
            (2.9, true),
            (-1.2, true),
            (0.0, false),
            (3.1, false),
        ] {
            let a = affine_from(
                &rot_zx(k, 0.4 * k),
                [0.3, 0.35, 1.0],
                flip,
                [1.0, -2.0, 3.5],
            );
            let q = affine_to_qform(&a).expect("rigid affine has a qform");
            assert!(q.exact);
            assert_eq!(q.qfac, if flip { -1.0 } else { 1.0 });
            assert_close(
                &qform_affine(q.quatern, q.offset, q.qfac, q.zooms),
                &a,
                1e-12,
            );
        }
    }

    #[test]
    fn a_sheared_affine_keeps_its_zooms_and_is_marked_inexact() {
        let mut a = affine_from(&rot_zx(0.5, 0.1), [1.0, 2.0, 1.0], false, [0.0; 3]);
        a[0][1] += 0.3;
        let q = affine_to_qform(&a).expect("non-singular");
        assert!(!q.exact);
        let zoom1 = (0..3).map(|i| a[i][1] * a[i][1]).sum::<f64>().sqrt();
        assert!((q.zooms[1] - zoom1).abs() < 1e-12);
    }

    #[test]
    fn a_singular_affine_has_no_qform() {
        let mut a = affine_from(&rot_zx(0.5, 0.1), [1.0, 2.0, 1.0], false, [0.0; 3]);
        for row in a.iter_mut().take(3) {
            row[2] = 0.0;
        }
        assert!(affine_to_qform(&a).is_none());
    }

    #[test]
    fn the_identity_is_the_zero_quaternion() {
        let q = qform_affine([0.0; 3], [0.0; 3], 1.0, [1.0; 3]);
        let expected = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        assert_close(&q, &expected, 0.0);
    }
}
