//! Hard-label Dice for validation during training (method.md 9: Dice over the whole 2D+t
//! volume at once, per class, background excluded). The evaluation metrics of record live in
//! `echo::metrics`; this is the small copy the training loop needs.

/// Dice of class `class` between two label volumes of equal length; 1 when both are empty.
pub fn dice(prediction: &[u8], truth: &[u8], class: u8) -> f64 {
    let (mut both, mut p, mut t) = (0usize, 0usize, 0usize);
    for (&a, &b) in prediction.iter().zip(truth) {
        let (pa, tb) = (a == class, b == class);
        both += usize::from(pa && tb);
        p += usize::from(pa);
        t += usize::from(tb);
    }
    if p + t == 0 {
        1.0
    } else {
        2.0 * both as f64 / (p + t) as f64
    }
}

/// Dice per foreground class `1..classes`.
pub fn dice_per_class(prediction: &[u8], truth: &[u8], classes: usize) -> Vec<f64> {
    (1..classes)
        .map(|c| dice(prediction, truth, c as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_hand_values() {
        let p = [0u8, 1, 1, 2, 2, 0];
        let t = [0u8, 1, 0, 2, 2, 2];
        assert!((dice(&p, &t, 1) - 2.0 / 3.0).abs() < 1e-12);
        assert!((dice(&p, &t, 2) - 0.8).abs() < 1e-12);
        assert_eq!(dice(&p, &t, 3), 1.0);
        assert_eq!(dice_per_class(&p, &p, 3), vec![1.0, 1.0]);
    }
}
