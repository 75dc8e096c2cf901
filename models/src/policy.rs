//! The actor's per-voxel categorical policy over the classes (method.md 2.2): probabilities,
//! log-probabilities of chosen actions, entropy, sampling and greedy actions, all computed from
//! the U-Net's logits `[B, C, T, H, W]`; actions are integer maps `[B, T, H, W]`.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;

use crate::error::ShapeError;

/// Class probabilities, softmax over the channel axis.
///
/// # Shapes
/// - logits `[B, C, T, H, W]` -> probabilities `[B, C, T, H, W]`
pub fn probs(logits: Tensor<5>) -> Tensor<5> {
    softmax(logits, 1)
}

/// Log-probabilities, log-softmax over the channel axis.
///
/// # Shapes
/// - logits `[B, C, T, H, W]` -> `[B, C, T, H, W]`
pub fn log_probs(logits: Tensor<5>) -> Tensor<5> {
    log_softmax(logits, 1)
}

/// `log pi(a | s)` per voxel for the given actions (differentiable w.r.t. the logits).
///
/// # Shapes
/// - logits `[B, C, T, H, W]`, actions `[B, T, H, W]` with values in `0..C` -> `[B, T, H, W]`
pub fn action_log_prob(
    logits: Tensor<5>,
    actions: Tensor<4, Int>,
) -> Result<Tensor<4>, ShapeError> {
    let [b, _, t, h, w] = logits.dims();
    check_actions(logits.dims(), actions.dims())?;
    let index: Tensor<5, Int> = actions.reshape([b, 1, t, h, w]);
    Ok(log_probs(logits).gather(1, index).reshape([b, t, h, w]))
}

/// Entropy `-sum_c p log p` per voxel.
///
/// # Shapes
/// - logits `[B, C, T, H, W]` -> `[B, T, H, W]`
pub fn entropy(logits: Tensor<5>) -> Tensor<4> {
    let [b, _, t, h, w] = logits.dims();
    let logp = log_probs(logits);
    let p = logp.clone().exp();
    (p * logp).sum_dim(1).neg().reshape([b, t, h, w])
}

/// Greedy actions (argmax over classes).
///
/// # Shapes
/// - logits `[B, C, T, H, W]` -> `[B, T, H, W]`
pub fn greedy(logits: Tensor<5>) -> Tensor<4, Int> {
    let [b, _, t, h, w] = logits.dims();
    logits.argmax(1).reshape([b, t, h, w])
}

/// Sample one class per voxel from the categorical distribution. The uniforms come from
/// `rng` (drawn on the host, so the same seed gives the same actions on every backend):
/// the action is the number of cumulative probabilities strictly below the uniform.
///
/// # Shapes
/// - logits `[B, C, T, H, W]` -> `[B, T, H, W]`
pub fn sample(logits: Tensor<5>, rng: &mut impl Rng) -> Tensor<4, Int> {
    let [b, c, t, h, w] = logits.dims();
    let device = logits.device();
    let cdf = probs(logits.detach()).cumsum(1);
    let n = b * t * h * w;
    let uniforms: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
    let u: Tensor<5> = Tensor::from_data(TensorData::new(uniforms, [b, 1, t, h, w]), &device);
    // Count the classes whose cumulative probability lies below u; clamp guards the last
    // class against rounding of the final cumulative sum slightly below 1.
    let below = cdf.lower(u.expand([b, c, t, h, w])).int().sum_dim(1);
    below.clamp_max(c as i64 - 1).reshape([b, t, h, w])
}

fn check_actions(logits: [usize; 5], actions: [usize; 4]) -> Result<(), ShapeError> {
    let expected = [logits[0], logits[2], logits[3], logits[4]];
    if expected == actions {
        Ok(())
    } else {
        Err(ShapeError::Mismatch {
            what: "actions vs logits",
            left: actions.to_vec(),
            right: expected.to_vec(),
            hint: "actions are [B, T, H, W] for logits [B, C, T, H, W]",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{float_values, int_values};
    use burn::tensor::Device;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Logits for 2 voxels (B=1, T=1, H=1, W=2) and 3 classes.
    fn hand_logits(device: &Device) -> Tensor<5> {
        // voxel 0: logits (0, ln 2, ln 3) -> p = (1/6, 2/6, 3/6); voxel 1: uniform.
        let values = vec![0.0, 0.0, 2f32.ln(), 0.0, 3f32.ln(), 0.0];
        Tensor::from_data(TensorData::new(values, [1, 3, 1, 1, 2]), device)
    }

    #[test]
    fn log_prob_and_entropy_match_hand_values() {
        let device = Device::flex();
        let logits = hand_logits(&device);
        let actions: Tensor<4, Int> =
            Tensor::from_data(TensorData::new(vec![2i64, 0], [1, 1, 1, 2]), &device);
        let lp = float_values(action_log_prob(logits.clone(), actions).expect("shapes"));
        assert!((lp[0] - (0.5f32).ln()).abs() < 1e-6, "{lp:?}");
        assert!((lp[1] - (1.0f32 / 3.0).ln()).abs() < 1e-6, "{lp:?}");

        let h = float_values(entropy(logits.clone()));
        let p = [1.0f32 / 6.0, 2.0 / 6.0, 3.0 / 6.0];
        let expected0: f32 = -p.iter().map(|q| q * q.ln()).sum::<f32>();
        assert!((h[0] - expected0).abs() < 1e-6, "{h:?}");
        assert!((h[1] - 3f32.ln()).abs() < 1e-6, "{h:?}");

        assert_eq!(int_values(greedy(logits.clone())), vec![2, 0]);
        let pr = float_values(probs(logits));
        assert!((pr[4] - 0.5).abs() < 1e-6 && (pr[1] - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn mismatched_actions_are_rejected() {
        let device = Device::flex();
        let actions: Tensor<4, Int> = Tensor::zeros([1, 1, 2, 1], &device);
        let e = action_log_prob(hand_logits(&device), actions)
            .unwrap_err()
            .to_string();
        assert!(e.contains("actions are [B, T, H, W]"), "{e}");
    }

    #[test]
    fn sampling_follows_the_probabilities_and_the_seed() {
        let device = Device::flex();
        // 4000 voxels with p = (0.1, 0.2, 0.7).
        let n = 4000;
        let mut values = vec![0f32; 3 * n];
        for (c, p) in [0.1f32, 0.2, 0.7].iter().enumerate() {
            values[c * n..(c + 1) * n].fill(p.ln());
        }
        let logits: Tensor<5> =
            Tensor::from_data(TensorData::new(values, [1, 3, 1, 1, n]), &device);
        let a = int_values(sample(logits.clone(), &mut ChaCha8Rng::seed_from_u64(3)));
        let b = int_values(sample(logits, &mut ChaCha8Rng::seed_from_u64(3)));
        assert_eq!(a, b);
        let freq = |k: i64| a.iter().filter(|&&x| x == k).count() as f32 / n as f32;
        assert!((freq(0) - 0.1).abs() < 0.03, "{}", freq(0));
        assert!((freq(1) - 0.2).abs() < 0.03, "{}", freq(1));
        assert!((freq(2) - 0.7).abs() < 0.03, "{}", freq(2));
    }
}
