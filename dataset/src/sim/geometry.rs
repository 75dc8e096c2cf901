//! Sector geometry and the pixel raster: the probe sits at the top centre of the image
//! (x = 0 mm lateral, y = 0 mm depth), the fan is the set of points within `depth` of it and
//! within half the sector angle of the vertical. `Raster` maps pixels to millimetres
//! (`dy = depth / height`, `dx` square or fitted to the fan) and `Fan` lists the pixels inside
//! the fan with the per-pixel constants that every frame reuses (position, beam direction,
//! radius, angle).

use super::config::PixelAspect;

/// Pixel grid of one case in millimetres.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Raster {
    pub height: usize,
    pub width: usize,
    /// Depth spacing, mm per row.
    pub dy: f64,
    /// Lateral spacing, mm per column.
    pub dx: f64,
    /// Fan radius, mm.
    pub depth: f64,
    /// Half of the sector opening angle, radians.
    pub half_angle: f64,
}

impl Raster {
    /// The raster of a `height x width` image of a fan `depth_mm` deep and `sector_deg` wide.
    pub fn new(
        height: usize,
        width: usize,
        depth_mm: f64,
        sector_deg: f64,
        aspect: PixelAspect,
    ) -> Self {
        let h = height.max(1) as f64;
        let w = width.max(1) as f64;
        let half_angle = 0.5 * sector_deg.to_radians();
        let dy = depth_mm / h;
        let dx = match aspect {
            PixelAspect::Square => dy,
            PixelAspect::FitSector => 2.0 * depth_mm * half_angle.sin() / w,
        };
        Raster {
            height,
            width,
            dy,
            dx,
            depth: depth_mm,
            half_angle,
        }
    }

    /// Position `[x, y]` in mm of the centre of pixel (row `i`, column `j`).
    pub fn position(&self, i: usize, j: usize) -> [f64; 2] {
        [
            (j as f64 + 0.5 - 0.5 * self.width as f64) * self.dx,
            (i as f64 + 0.5) * self.dy,
        ]
    }

    /// Whether the point `[x, y]` (mm) lies inside the fan.
    pub fn in_fan(&self, [x, y]: [f64; 2]) -> bool {
        y > 0.0 && x.hypot(y) <= self.depth && x.atan2(y).abs() <= self.half_angle
    }

    /// Lateral extent of the image, mm from the centre line to either edge.
    pub fn half_width_mm(&self) -> f64 {
        0.5 * self.width as f64 * self.dx
    }
}

/// The pixels inside the fan and their frame-independent constants, in raster order.
#[derive(Debug, Clone)]
pub(crate) struct Fan {
    /// Flat index `i * width + j` into a `[height, width]` frame.
    pub index: Vec<usize>,
    /// Position `[x, y]`, mm.
    pub pos: Vec<[f64; 2]>,
    /// Unit vector from the probe to the pixel (the beam direction).
    pub beam: Vec<[f64; 2]>,
    /// Distance from the probe, mm.
    pub radius: Vec<f64>,
    /// Beam angle as a fraction of the half sector, in [0, 1].
    pub angle_frac: Vec<f64>,
}

impl Fan {
    pub fn new(raster: &Raster) -> Self {
        let mut fan = Fan {
            index: Vec::new(),
            pos: Vec::new(),
            beam: Vec::new(),
            radius: Vec::new(),
            angle_frac: Vec::new(),
        };
        for i in 0..raster.height {
            for j in 0..raster.width {
                let p = raster.position(i, j);
                if !raster.in_fan(p) {
                    continue;
                }
                let r = p[0].hypot(p[1]);
                fan.index.push(i * raster.width + j);
                fan.pos.push(p);
                fan.beam.push([p[0] / r, p[1] / r]);
                fan.radius.push(r);
                fan.angle_frac
                    .push((p[0].atan2(p[1]).abs() / raster.half_angle.max(1e-9)).min(1.0));
            }
        }
        fan
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_pixels_and_fitted_sector() {
        let r = Raster::new(128, 128, 160.0, 80.0, PixelAspect::Square);
        assert_eq!(r.dx, r.dy);
        assert!((r.dy - 1.25).abs() < 1e-12);
        let f = Raster::new(100, 50, 150.0, 60.0, PixelAspect::FitSector);
        // sin(30 deg) = 0.5: the fan is exactly `depth` wide.
        assert!((f.dx - 3.0).abs() < 1e-12);
        assert!((f.half_width_mm() - 75.0).abs() < 1e-9);
    }

    #[test]
    fn fan_membership_follows_radius_and_angle() {
        let r = Raster::new(64, 64, 160.0, 90.0, PixelAspect::Square);
        assert!(r.in_fan([0.0, 100.0]));
        assert!(!r.in_fan([0.0, 161.0]), "beyond the depth");
        assert!(
            !r.in_fan([50.0, 40.0]),
            "51 degrees off-axis in a 90 degree fan"
        );
        assert!(r.in_fan([39.0, 40.0]), "44 degrees off-axis");
        assert!(!r.in_fan([0.0, -1.0]), "above the probe");
    }

    #[test]
    fn fan_pixels_are_inside_with_unit_beams() {
        let r = Raster::new(32, 40, 150.0, 75.0, PixelAspect::FitSector);
        let fan = Fan::new(&r);
        assert!(fan.len() > 32 * 40 / 3 && fan.len() < 32 * 40);
        for k in 0..fan.len() {
            let (i, j) = (fan.index[k] / 40, fan.index[k] % 40);
            assert_eq!(r.position(i, j), fan.pos[k]);
            let b = fan.beam[k];
            assert!((b[0].hypot(b[1]) - 1.0).abs() < 1e-12);
            assert!((0.0..=1.0).contains(&fan.angle_frac[k]));
        }
        // The top-left corner is outside, the centre column near the top inside.
        assert!(!fan.index.contains(&0));
        assert!(fan.index.contains(&(2 * 40 + 20)));
    }
}
