//! Supervised training of the segmentation U-Net on labelled sequences (the original's
//! `supervised_3d` runner, method.md 1.3 and 10): random 4-frame windows of the full frame,
//! a caller-supplied augmentation, cross-entropy (+ optional soft Dice), Adam, validation Dice
//! on non-overlapping windows after every epoch, best weights kept. Deterministic from the
//! seed: window choice, order and the augmentation's random stream all come from it.

use std::fmt::Display;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Int, Tensor, TensorData};
use ndarray::{Array3, ArrayView3, Axis, Slice};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::dice::dice_per_class;
use crate::convert::int_values;
use crate::error::{ShapeError, TrainError};
use crate::loss::{cross_entropy, soft_dice};
use crate::policy::greedy;
use crate::roles::NUM_CLASSES;
use crate::unet::UNet;

/// Supervised-training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisedConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Windows per optimiser step.
    pub batch_size: usize,
    /// Steps per epoch; 0 = one window per training sequence per epoch.
    pub steps_per_epoch: usize,
    /// Adam learning rate (method.md 10: `adam (lr 1e-3)`).
    pub lr: f64,
    /// Weight of the soft Dice loss added to the cross-entropy (0 = cross-entropy only, the
    /// original's `loss: ce`).
    pub dice_weight: f64,
    /// Frames per training window (method.md 1.3: 4).
    pub window: usize,
    /// Validation windows per forward pass (the original: 4).
    pub val_batch_size: usize,
}

impl Default for SupervisedConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 2,
            steps_per_epoch: 0,
            lr: 1e-3,
            dice_weight: 0.0,
            window: 4,
            val_batch_size: 4,
        }
    }
}

/// One labelled sequence: image `[T, H, W]` (f32) and labels `[T, H, W]` (0/1/2).
#[derive(Debug, Clone, Copy)]
pub struct Labelled<'a> {
    pub image: ArrayView3<'a, f32>,
    pub labels: ArrayView3<'a, u8>,
}

/// Where training stands, for progress bars. `dice` is set on the last report of an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// 1-based epoch.
    pub epoch: usize,
    pub epochs: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    pub steps: usize,
    /// Loss of this step.
    pub loss: f32,
    /// Validation Dice (mean of LV and MYO) after the epoch.
    pub dice: Option<f64>,
}

/// Statistics of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Validation Dice per foreground class (LV, MYO), averaged over the sequences.
    pub val_dice_per_class: Vec<f64>,
    /// Mean of `val_dice_per_class`, or `None` without validation data.
    pub val_dice: Option<f64>,
}

/// The result of training.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The weights of the best epoch (highest validation Dice; the last epoch without
    /// validation data), in inference mode.
    pub best: UNet,
    /// 1-based epoch of `best`.
    pub best_epoch: usize,
    pub best_dice: Option<f64>,
    pub history: Vec<EpochStats>,
}

/// Train `net` (built on a plain device; autodiff is switched on here).
///
/// `augment(image, labels, rng)` may change each training window in place but not its shape.
pub fn train_supervised<'a, E: Display>(
    net: UNet,
    train: &[Labelled<'a>],
    val: &[Labelled<'a>],
    config: &SupervisedConfig,
    seed: u64,
    mut augment: impl FnMut(&mut Array3<f32>, &mut Array3<u8>, &mut ChaCha8Rng) -> Result<(), E>,
    mut progress: impl FnMut(&Progress),
) -> Result<TrainOutcome, TrainError> {
    check_config(config, train.len())?;
    for (index, sample) in train.iter().chain(val).enumerate() {
        check_sample(&net, sample, config.window)
            .map_err(|source| TrainError::Sample { index, source })?;
    }
    let device = net
        .devices()
        .into_iter()
        .next()
        .unwrap_or_else(burn::tensor::Device::flex);
    let ad_device = device.clone().autodiff();
    let mut model = net.train();
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let steps = if config.steps_per_epoch > 0 {
        config.steps_per_epoch
    } else {
        train.len().div_ceil(config.batch_size)
    };

    let mut order: Vec<usize> = Vec::new();
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(UNet, usize, Option<f64>)> = None;
    for epoch in 1..=config.epochs {
        let mut loss_sum = 0.0;
        for step in 1..=steps {
            let mut batch = Vec::with_capacity(config.batch_size);
            for _ in 0..config.batch_size {
                if order.is_empty() {
                    order = (0..train.len()).collect();
                    order.shuffle(&mut rng);
                }
                let index = order.pop().unwrap_or(0);
                batch.push(random_window(
                    &train[index],
                    index,
                    config.window,
                    &mut rng,
                    &mut augment,
                )?);
            }
            let loss = batch_loss(&model, &batch, config.dice_weight, &ad_device)?;
            let value = loss.clone().into_scalar::<f32>();
            if !value.is_finite() {
                return Err(TrainError::NonFinite(format!(
                    "the loss became {value} at epoch {epoch}, step {step}; lower the learning rate"
                )));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
            loss_sum += f64::from(value);
            progress(&Progress {
                epoch,
                epochs: config.epochs,
                step,
                steps,
                loss: value,
                dice: None,
            });
        }
        let eval = model.valid();
        let per_class = validate(&eval, val, config.window, config.val_batch_size)?;
        let val_dice =
            (!per_class.is_empty()).then(|| per_class.iter().sum::<f64>() / per_class.len() as f64);
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / steps as f64,
            val_dice_per_class: per_class,
            val_dice,
        };
        progress(&Progress {
            epoch,
            epochs: config.epochs,
            step: steps,
            steps,
            loss: stats.train_loss as f32,
            dice: val_dice,
        });
        let improved = match (&best, val_dice) {
            (None, _) | (Some(_), None) => true,
            (Some((_, _, Some(previous))), Some(d)) => d > *previous,
            (Some((_, _, None)), Some(_)) => true,
        };
        if improved {
            best = Some((eval, epoch, val_dice));
        }
        history.push(stats);
    }
    let (best, best_epoch, best_dice) = best.unwrap_or_else(|| (model.valid(), 0, None));
    Ok(TrainOutcome {
        best,
        best_epoch,
        best_dice,
        history,
    })
}

fn check_config(config: &SupervisedConfig, n_train: usize) -> Result<(), TrainError> {
    let fail = |m: &str| Err(TrainError::Config(m.to_string()));
    if n_train == 0 {
        return fail("no training sequences; give at least one labelled sequence");
    }
    if config.batch_size == 0 || config.window == 0 || config.val_batch_size == 0 {
        return fail("batch_size, window and val_batch_size must be >= 1");
    }
    if !(config.lr.is_finite() && config.lr > 0.0)
        || !config.dice_weight.is_finite()
        || config.dice_weight < 0.0
    {
        return fail("lr must be > 0 and dice_weight >= 0");
    }
    Ok(())
}

fn check_sample(net: &UNet, sample: &Labelled<'_>, window: usize) -> Result<(), ShapeError> {
    let (t, h, w) = sample.image.dim();
    if sample.labels.dim() != (t, h, w) {
        return Err(ShapeError::Mismatch {
            what: "image vs labels",
            left: vec![t, h, w],
            right: sample.labels.shape().to_vec(),
            hint: "labels must have the image's [T, H, W]",
        });
    }
    if t < window {
        return Err(ShapeError::NotDivisible {
            shape: [1, 1, t, h, w],
            axis: "T",
            size: t,
            multiple: window,
        });
    }
    if let Some((index, &label)) = sample
        .labels
        .iter()
        .enumerate()
        .find(|(_, l)| usize::from(**l) >= NUM_CLASSES)
    {
        return Err(ShapeError::LabelOutOfRange {
            what: "training labels",
            label,
            index,
            classes: NUM_CLASSES,
        });
    }
    net.check_input([1, net.config().in_channels, window, h, w])
}

/// A random window (start uniform over all legal starts), augmented.
fn random_window<E: Display>(
    sample: &Labelled<'_>,
    index: usize,
    window: usize,
    rng: &mut ChaCha8Rng,
    augment: &mut impl FnMut(&mut Array3<f32>, &mut Array3<u8>, &mut ChaCha8Rng) -> Result<(), E>,
) -> Result<(Array3<f32>, Array3<u8>), TrainError> {
    let t = sample.image.dim().0;
    let start = rng.random_range(0..=t - window);
    let frames = Slice::from(start..start + window);
    let mut image = sample.image.slice_axis(Axis(0), frames).to_owned();
    let mut labels = sample.labels.slice_axis(Axis(0), frames).to_owned();
    let shape = image.dim();
    augment(&mut image, &mut labels, rng).map_err(|e| TrainError::Augment {
        index,
        message: e.to_string(),
    })?;
    if image.dim() != shape || labels.dim() != shape {
        return Err(TrainError::Augment {
            index,
            message: "the augmentation changed the window's shape".into(),
        });
    }
    Ok((image, labels))
}

/// Loss of a batch of windows; windows of different frame sizes go through the net in
/// separate groups whose losses are weighted by their share of the batch.
fn batch_loss(
    model: &UNet,
    batch: &[(Array3<f32>, Array3<u8>)],
    dice_weight: f64,
    device: &burn::tensor::Device,
) -> Result<Tensor<1>, TrainError> {
    let mut shapes: Vec<(usize, usize, usize)> = batch.iter().map(|(i, _)| i.dim()).collect();
    shapes.sort_unstable();
    shapes.dedup();
    let mut total: Option<Tensor<1>> = None;
    for shape in shapes {
        let members: Vec<_> = batch.iter().filter(|(i, _)| i.dim() == shape).collect();
        let (t, h, w) = shape;
        let n = members.len();
        let images: Vec<f32> = members
            .iter()
            .flat_map(|(i, _)| i.iter().copied())
            .collect();
        let labels: Vec<i64> = members
            .iter()
            .flat_map(|(_, l)| l.iter().map(|&v| i64::from(v)))
            .collect();
        let x: Tensor<5> = Tensor::from_data(TensorData::new(images, [n, 1, t, h, w]), device);
        let y: Tensor<4, Int> = Tensor::from_data(TensorData::new(labels, [n, t, h, w]), device);
        let logits = model.forward(x)?;
        let mut loss = cross_entropy(logits.clone(), y.clone());
        if dice_weight > 0.0 {
            loss = loss + soft_dice(logits, y, 1).mul_scalar(dice_weight);
        }
        let loss = loss.mul_scalar(n as f64 / batch.len() as f64);
        total = Some(match total {
            Some(acc) => acc + loss,
            None => loss,
        });
    }
    total.ok_or_else(|| TrainError::Config("empty batch".into()))
}

/// Mean per-class Dice over the validation sequences, each predicted on its consecutive
/// non-overlapping windows (the frames after the last full window are left out, as the
/// original's validation does).
fn validate(
    model: &UNet,
    val: &[Labelled<'_>],
    window: usize,
    batch: usize,
) -> Result<Vec<f64>, TrainError> {
    if val.is_empty() {
        return Ok(Vec::new());
    }
    let device = model
        .devices()
        .into_iter()
        .next()
        .unwrap_or_else(burn::tensor::Device::flex);
    let mut sums = vec![0.0; NUM_CLASSES - 1];
    for sample in val {
        let (t, h, w) = sample.image.dim();
        let n_windows = t / window;
        let used = n_windows * window;
        let mut predicted: Vec<u8> = Vec::with_capacity(used * h * w);
        for first in (0..n_windows).step_by(batch) {
            let count = batch.min(n_windows - first);
            let frames = sample.image.slice_axis(
                Axis(0),
                Slice::from(first * window..(first + count) * window),
            );
            let values: Vec<f32> = frames.iter().copied().collect();
            let x = Tensor::from_data(TensorData::new(values, [count, 1, window, h, w]), &device);
            let labels = int_values(greedy(model.forward(x)?));
            predicted.extend(labels.into_iter().map(|v| u8::try_from(v).unwrap_or(0)));
        }
        let truth: Vec<u8> = sample
            .labels
            .slice_axis(Axis(0), Slice::from(..used))
            .iter()
            .copied()
            .collect();
        for (sum, d) in sums
            .iter_mut()
            .zip(dice_per_class(&predicted, &truth, NUM_CLASSES))
        {
            *sum += d;
        }
    }
    Ok(sums.into_iter().map(|s| s / val.len() as f64).collect())
}
