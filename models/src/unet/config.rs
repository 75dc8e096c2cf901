//! `UNetConfig`: the plain-data description of the nnU-Net-style 3D U-Net (method.md 2.1),
//! its validation, the presets in `configs/model/`, and the shape rules derived from it
//! (padding per level, required input divisibility, parameter count).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The `rl4seg3d` preset file (the original's exact 30.43 M-parameter shape).
pub const RL4SEG3D_TOML: &str = include_str!("../../../configs/model/rl4seg3d.toml");
/// The `small` preset file (the CPU default).
pub const SMALL_TOML: &str = include_str!("../../../configs/model/small.toml");

/// Configuration of the 3D U-Net shared by the actor, the critic and the reward nets.
///
/// Every per-level list is in axis order `(T, H, W)` (the original's `(X, Y, T)` reversed), one
/// entry per level: level 0 is the input block, levels `1..L-1` the down-sampling blocks and
/// level `L-1` the bottleneck. Each level is two conv layers (Conv3d with bias, InstanceNorm
/// with affine, LeakyReLU); only the first carries the stride. The decoder mirrors it with
/// bias-free transposed convs (kernel = stride), skip concatenation and a two-layer conv block;
/// a bias-free 1x1x1 conv maps to `out_channels` logits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UNetConfig {
    /// Input channels (actor and critic: 1 = image; reward nets: 2 = image + label map).
    #[serde(default = "default_in_channels")]
    pub in_channels: usize,
    /// Output channels (actor: 3 classes; critic and reward nets: 1).
    #[serde(default = "default_out_channels")]
    pub out_channels: usize,
    /// Feature channels per level, e.g. `[32, 64, 128, 256, 320, 320]`.
    pub channels: Vec<usize>,
    /// Conv kernel per level, `(T, H, W)`; odd sizes.
    pub kernels: Vec<[usize; 3]>,
    /// Stride of the first conv of each level, `(T, H, W)`; level 0 is usually `[1, 1, 1]`.
    pub strides: Vec<[usize; 3]>,
    /// LeakyReLU negative slope (method.md 2.1: 0.01).
    #[serde(default = "default_negative_slope")]
    pub negative_slope: f64,
    /// InstanceNorm epsilon (PyTorch's default 1e-5).
    #[serde(default = "default_norm_epsilon")]
    pub norm_epsilon: f64,
    /// Build deep-supervision heads (bias-free 1x1x1 convs on the decoder outputs above the
    /// full resolution; `levels - 2` of them, as the original) and return extra outputs from
    /// [`UNet::forward_deep_supervision`](crate::unet::UNet::forward_deep_supervision).
    #[serde(default)]
    pub deep_supervision: bool,
    /// How many deep-supervision outputs besides the full-resolution one (method.md 2.3: 2).
    #[serde(default = "default_ds_outputs")]
    pub deep_supervision_outputs: usize,
    /// Freeze the deep-supervision heads at their random init, as the original does
    /// (method.md 12.7, a gotcha inherited from patchless-nnUnet). Default `false`: trainable.
    #[serde(default)]
    pub freeze_deep_supervision_heads: bool,
    /// The shallowest skip connections replaced by zeros (0 = a plain U-Net; `levels - 1` = an
    /// encoder-decoder whose every detail passes through the coarsest level). A shape prior such
    /// as the learned corrector uses it so that it cannot copy its input's fine detail through.
    /// The weights keep their shapes. Left out of the serialised config at 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_skips: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn default_in_channels() -> usize {
    1
}
fn default_out_channels() -> usize {
    3
}
fn default_negative_slope() -> f64 {
    0.01
}
fn default_norm_epsilon() -> f64 {
    1e-5
}
fn default_ds_outputs() -> usize {
    2
}

impl Default for UNetConfig {
    /// The `small` preset with `in = 1`, `out = 3`.
    fn default() -> Self {
        Self::small()
    }
}

impl UNetConfig {
    /// Parse a config from TOML text (a `configs/model/*.toml` file), then validate it.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            what: "model config TOML".into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parse a config from JSON text (the file beside a checkpoint), then validate it.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
            what: "model config JSON".into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The original RL4Seg3D shape (`configs/model/rl4seg3d.toml`), `in = 1`, `out = 3`.
    pub fn rl4seg3d() -> Self {
        Self::from_toml_str(RL4SEG3D_TOML).unwrap_or_else(|e| unreachable_preset("rl4seg3d", &e))
    }

    /// The CPU default (`configs/model/small.toml`), `in = 1`, `out = 3`.
    pub fn small() -> Self {
        Self::from_toml_str(SMALL_TOML).unwrap_or_else(|e| unreachable_preset("small", &e))
    }

    /// A preset by name: `"small"` or `"rl4seg3d"`.
    pub fn preset(name: &str) -> Result<Self, ConfigError> {
        match name {
            "small" => Ok(Self::small()),
            "rl4seg3d" => Ok(Self::rl4seg3d()),
            other => Err(ConfigError::Parse {
                what: format!("preset {other:?}"),
                message: "known presets are \"small\" and \"rl4seg3d\"".into(),
            }),
        }
    }

    /// The same architecture with other input/output channel counts.
    pub fn with_io(mut self, in_channels: usize, out_channels: usize) -> Self {
        self.in_channels = in_channels;
        self.out_channels = out_channels;
        self
    }

    /// The same architecture with deep supervision switched on or off; switching it on keeps
    /// at most as many heads as the net has levels for (`levels - 2`).
    pub fn with_deep_supervision(mut self, on: bool) -> Self {
        self.deep_supervision = on;
        if on {
            self.deep_supervision_outputs = self
                .deep_supervision_outputs
                .min(self.levels().saturating_sub(2));
        }
        self
    }

    /// Number of levels (input block + down-sampling blocks + bottleneck).
    pub fn levels(&self) -> usize {
        self.channels.len()
    }

    /// Check every rule the network builder relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let levels = self.channels.len();
        if levels < 2 {
            return Err(ConfigError::TooFewLevels(levels));
        }
        for (field, found) in [
            ("kernels", self.kernels.len()),
            ("strides", self.strides.len()),
        ] {
            if found != levels {
                return Err(ConfigError::LevelCount {
                    field,
                    expected: levels,
                    found,
                });
            }
        }
        let zero = |field: String, hint| Err(ConfigError::Zero { field, hint });
        if self.in_channels == 0 {
            return zero("in_channels".into(), "");
        }
        if self.out_channels == 0 {
            return zero("out_channels".into(), "");
        }
        for (level, &c) in self.channels.iter().enumerate() {
            if c == 0 {
                return zero(format!("channels[{level}]"), "");
            }
        }
        for level in 0..levels {
            let (kernel, stride) = (self.kernels[level], self.strides[level]);
            for axis in 0..3 {
                if kernel[axis] == 0 {
                    return zero(format!("kernels[{level}][{axis}]"), "");
                }
                if stride[axis] == 0 {
                    return zero(
                        format!("strides[{level}][{axis}]"),
                        " (use 1 for no down-sampling)",
                    );
                }
                if kernel[axis] % 2 == 0 {
                    return Err(ConfigError::EvenKernel { level, kernel });
                }
                if stride[axis] > kernel[axis] {
                    return Err(ConfigError::StrideAboveKernel {
                        level,
                        stride,
                        kernel,
                    });
                }
            }
        }
        if self.dropped_skips > levels - 1 {
            return Err(ConfigError::Parse {
                what: "model config `dropped_skips`".into(),
                message: format!(
                    "{} is more than the {} skip connections of a {levels}-level U-Net",
                    self.dropped_skips,
                    levels - 1
                ),
            });
        }
        if self.deep_supervision && self.deep_supervision_outputs > levels - 2 {
            return Err(ConfigError::TooManyDeepSupervisionOutputs {
                requested: self.deep_supervision_outputs,
                available: levels - 2,
                levels,
            });
        }
        Ok(())
    }

    /// Input `(T, H, W)` must be multiples of these: the product of the strides per axis.
    pub fn required_divisibility(&self) -> [usize; 3] {
        let mut out = [1usize; 3];
        for stride in &self.strides {
            for axis in 0..3 {
                out[axis] *= stride[axis];
            }
        }
        out
    }

    /// Conv padding of a level, per axis: `(k - s + 1) / 2` (patchless-nnUnet's rule,
    /// method.md 2.1), so a stride-`s` conv maps `n` to `n / s` on multiples of `s`.
    pub fn padding(&self, level: usize) -> [usize; 3] {
        let (k, s) = (self.kernels[level], self.strides[level]);
        [0, 1, 2].map(|a| (k[a] + 1 - s[a]) / 2)
    }

    /// Number of deep-supervision heads the network holds (0 without deep supervision).
    pub fn deep_supervision_heads(&self) -> usize {
        if self.deep_supervision {
            self.levels() - 2
        } else {
            0
        }
    }

    /// Exact number of parameters of the network this config builds.
    pub fn num_params(&self) -> usize {
        let k = |level: usize| self.kernels[level].iter().product::<usize>();
        let block = |cin: usize, cout: usize, kn: usize| {
            // two (conv weight + conv bias + norm weight + norm bias) layers
            (cin * cout * kn + cout + 2 * cout) + (cout * cout * kn + cout + 2 * cout)
        };
        let c = &self.channels;
        let mut total = block(self.in_channels, c[0], k(0));
        for level in 1..c.len() {
            total += block(c[level - 1], c[level], k(level));
            let up = self.strides[level].iter().product::<usize>();
            total += c[level] * c[level - 1] * up + block(2 * c[level - 1], c[level - 1], k(level));
        }
        total += c[0] * self.out_channels;
        total += (0..self.deep_supervision_heads())
            .map(|i| c[i + 1] * self.out_channels)
            .sum::<usize>();
        total
    }
}

/// The embedded presets are checked by this crate's tests; failing here is a build defect.
fn unreachable_preset(name: &str, error: &ConfigError) -> ! {
    panic!("embedded preset configs/model/{name}.toml is invalid (a build defect): {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_validate() {
        let big = UNetConfig::rl4seg3d();
        assert_eq!(big.channels, vec![32, 64, 128, 256, 320, 320]);
        assert_eq!(big.kernels[0], [1, 3, 3]);
        assert_eq!(big.strides[4], [1, 2, 2]);
        assert_eq!(big.required_divisibility(), [4, 32, 32]);
        let small = UNetConfig::small();
        assert_eq!(small.required_divisibility(), [4, 8, 8]);
        assert_eq!(UNetConfig::default(), small);
    }

    #[test]
    fn rl4seg3d_parameter_count_matches_the_original() {
        // method.md 2.1: about 30.43 M for (1, 3), (1, 1) and (2, 1). Exact counts of the
        // PyTorch module without / with its 4 deep-supervision heads.
        let big = UNetConfig::rl4seg3d();
        assert_eq!(big.num_params(), 30_428_800);
        assert_eq!(
            big.clone().with_deep_supervision(true).num_params(),
            30_431_104
        );
        assert_eq!(big.clone().with_io(1, 1).num_params(), 30_428_736);
        assert_eq!(big.with_io(2, 1).num_params(), 30_429_024);
    }

    #[test]
    fn padding_follows_the_nnunet_rule() {
        let big = UNetConfig::rl4seg3d();
        assert_eq!(big.padding(0), [0, 1, 1]);
        assert_eq!(big.padding(1), [1, 1, 1]);
        assert_eq!(big.padding(2), [1, 1, 1]);
    }

    #[test]
    fn invalid_configs_are_rejected_with_the_field_named() {
        let mut c = UNetConfig::small();
        c.kernels.pop();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("`kernels` has 3 entries"), "{e}");

        let mut c = UNetConfig::small();
        c.kernels[1] = [2, 3, 3];
        assert!(matches!(
            c.validate(),
            Err(ConfigError::EvenKernel { level: 1, .. })
        ));

        let mut c = UNetConfig::small();
        c.strides[2] = [0, 2, 2];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("strides[2][0]"), "{e}");

        let mut c = UNetConfig::small().with_deep_supervision(true);
        c.deep_supervision_outputs = 3;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TooManyDeepSupervisionOutputs { available: 2, .. })
        ));

        let e = UNetConfig::from_toml_str("channels = [8, 16]\nkernels = [[1,3,3],[3,3,3]]\nstrides = [[1,1,1],[1,2,2]]\nlevels = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("levels"), "{e}");
        assert!(UNetConfig::preset("huge").is_err());
    }

    #[test]
    fn json_round_trip() {
        let c = UNetConfig::rl4seg3d()
            .with_io(2, 1)
            .with_deep_supervision(true);
        let text = serde_json::to_string(&c).expect("serialize");
        assert_eq!(UNetConfig::from_json_str(&text).expect("parse"), c);
    }
}
