//! The nnU-Net-style 3D U-Net of method.md 2.1 (patchless-nnUnet's `UNet`), shared by the
//! actor, the critic and the reward nets: [`UNetConfig`] describes it, [`UNet`] runs it on
//! `[batch, channel, T, H, W]` tensors.

pub mod config;
pub mod layers;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use config::UNetConfig;
use layers::{BlockShape, ConvBlock, OutputBlock, TransposedConv, UpsampleBlock};

use crate::error::{ConfigError, ShapeError};

/// The U-Net. Parameter paths equal the original PyTorch state_dict keys
/// (`input_block.conv1.conv.weight`, `downsamples.0.conv2.norm.bias`,
/// `upsamples.4.transp_conv.weight`, `output_block.conv.weight`,
/// `deep_supervision_heads.1.conv.weight`, ...); only the axis order of conv kernels
/// differs (ours `(T, H, W)`, theirs `(X, Y, T)`).
#[derive(Module, Debug)]
pub struct UNet {
    pub input_block: ConvBlock,
    pub downsamples: Vec<ConvBlock>,
    pub bottleneck: ConvBlock,
    pub upsamples: Vec<UpsampleBlock>,
    pub output_block: OutputBlock,
    pub deep_supervision_heads: Vec<OutputBlock>,
    #[module(skip)]
    pub config: UNetConfig,
}

impl UNetConfig {
    /// Build the network with the default seed 0 (see [`UNetConfig::init_seeded`]).
    pub fn init(&self, device: &Device) -> Result<UNet, ConfigError> {
        self.init_seeded(device, 0)
    }

    /// Build the network: Kaiming-normal (a = negative slope) conv and transposed-conv weights
    /// drawn from a ChaCha stream seeded by `seed` (the same on every backend), conv biases 0,
    /// norm weights 1 and biases 0 (method.md 2.1). Deep-supervision heads are frozen when
    /// `freeze_deep_supervision_heads` is set.
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Result<UNet, ConfigError> {
        self.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = &self.channels;
        let levels = c.len();
        let shape =
            |level: usize, cin: usize, cout: usize, stride: [usize; 3], padding| BlockShape {
                cin,
                cout,
                kernel: self.kernels[level],
                stride,
                padding,
                slope: self.negative_slope,
                epsilon: self.norm_epsilon,
            };
        let enc = |level: usize, cin: usize| {
            shape(
                level,
                cin,
                c[level],
                self.strides[level],
                self.padding(level),
            )
        };
        let input_block = ConvBlock::new(enc(0, self.in_channels), &mut rng, device);
        let downsamples = (1..levels - 1)
            .map(|level| ConvBlock::new(enc(level, c[level - 1]), &mut rng, device))
            .collect();
        let bottleneck = ConvBlock::new(enc(levels - 1, c[levels - 2]), &mut rng, device);
        // Decoder from the bottleneck up: level l -> l - 1, transposed conv with kernel = stride
        // of level l, then a conv block (2 * c[l-1] -> c[l-1]) with level l's kernel.
        let upsamples = (1..levels)
            .rev()
            .map(|level| {
                let same = self.kernels[level].map(|k| k / 2);
                let stride = self.strides[level];
                let (cin, cout) = (c[level], c[level - 1]);
                UpsampleBlock {
                    transp_conv: TransposedConv::new(
                        [cin, cout],
                        stride,
                        self.negative_slope,
                        &mut rng,
                        device,
                    ),
                    conv_block: ConvBlock::new(
                        shape(level, 2 * cout, cout, [1, 1, 1], same),
                        &mut rng,
                        device,
                    ),
                }
            })
            .collect();
        let output_block = OutputBlock::new(
            c[0],
            self.out_channels,
            self.negative_slope,
            &mut rng,
            device,
        );
        let mut heads: Vec<OutputBlock> = (0..self.deep_supervision_heads())
            .map(|i| {
                OutputBlock::new(
                    c[i + 1],
                    self.out_channels,
                    self.negative_slope,
                    &mut rng,
                    device,
                )
            })
            .collect();
        if self.freeze_deep_supervision_heads {
            heads = heads.into_iter().map(Module::no_grad).collect();
        }
        Ok(UNet {
            input_block,
            downsamples,
            bottleneck,
            upsamples,
            output_block,
            deep_supervision_heads: heads,
            config: self.clone(),
        })
    }
}

impl UNet {
    /// The config this network was built from.
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// Check that an input of this shape can go through the network.
    pub fn check_input(&self, shape: [usize; 5]) -> Result<(), ShapeError> {
        if shape.contains(&0) {
            return Err(ShapeError::Empty {
                what: "U-Net input",
                shape: shape.to_vec(),
            });
        }
        if shape[1] != self.config.in_channels {
            return Err(ShapeError::Channels {
                shape,
                expected: self.config.in_channels,
                found: shape[1],
            });
        }
        let multiples = self.config.required_divisibility();
        for (axis, (name, multiple)) in ["T", "H", "W"].into_iter().zip(multiples).enumerate() {
            let size = shape[2 + axis];
            if size % multiple != 0 {
                return Err(ShapeError::NotDivisible {
                    shape,
                    axis: name,
                    size,
                    multiple,
                });
            }
        }
        Ok(())
    }

    /// Logits of the full-resolution output.
    ///
    /// # Shapes
    /// - input `[B, in_channels, T, H, W]` with `(T, H, W)` multiples of
    ///   [`UNetConfig::required_divisibility`]
    /// - output `[B, out_channels, T, H, W]`
    ///
    /// # Errors
    /// [`ShapeError`] when the channel count is wrong or an axis is not divisible.
    pub fn forward(&self, x: Tensor<5>) -> Result<Tensor<5>, ShapeError> {
        self.check_input(x.dims())?;
        let (decoded, _) = self.run(x, 0);
        Ok(self.output_block.forward(decoded))
    }

    /// The full-resolution logits followed by the deep-supervision outputs (method.md 2.1):
    /// head `i` applied to the decoder output at level `i + 1`, for
    /// `i < deep_supervision_outputs`. Without deep supervision, only the first entry.
    ///
    /// # Shapes
    /// - input `[B, in_channels, T, H, W]`
    /// - output `i = 0`: `[B, out_channels, T, H, W]`; output `i >= 1`: the resolution of level
    ///   `i` (e.g. `rl4seg3d`: `[B, C, T, H/2, W/2]`, `[B, C, T/2, H/4, W/4]`)
    pub fn forward_deep_supervision(&self, x: Tensor<5>) -> Result<Vec<Tensor<5>>, ShapeError> {
        self.check_input(x.dims())?;
        let n_ds = if self.config.deep_supervision {
            self.config.deep_supervision_outputs
        } else {
            0
        };
        let (decoded, per_level) = self.run(x, n_ds);
        let mut outputs = vec![self.output_block.forward(decoded)];
        for (head, features) in self.deep_supervision_heads.iter().zip(per_level) {
            outputs.push(head.forward(features));
        }
        Ok(outputs)
    }

    /// Encoder and decoder; returns the level-0 decoder output and the decoder outputs of
    /// levels `1..=keep_levels` (in that order).
    fn run(&self, x: Tensor<5>, keep_levels: usize) -> (Tensor<5>, Vec<Tensor<5>>) {
        let mut skips = Vec::with_capacity(self.downsamples.len() + 1);
        let mut out = self.input_block.forward(x);
        for block in &self.downsamples {
            skips.push(out.clone());
            out = block.forward(out);
        }
        skips.push(out.clone());
        out = self.bottleneck.forward(out);
        let levels = self.config.levels();
        // Skips are pushed shallowest first; the first `dropped_skips` carry nothing.
        for skip in skips.iter_mut().take(self.config.dropped_skips) {
            *skip = skip.zeros_like();
        }
        let mut kept = Vec::with_capacity(keep_levels);
        // One skip per decoder step, deepest first.
        for (i, (up, skip)) in self
            .upsamples
            .iter()
            .zip(skips.into_iter().rev())
            .enumerate()
        {
            out = up.forward(out, skip);
            // After upsample i the output is at level L - 2 - i.
            let level = levels - 2 - i;
            if level >= 1 && level <= keep_levels {
                kept.push(out.clone());
            }
        }
        kept.reverse();
        (out, kept)
    }
}
