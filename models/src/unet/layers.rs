//! The U-Net's building blocks (method.md 2.1), named as patchless-nnUnet names them so that
//! parameter paths equal the original's state_dict keys (`conv1.conv.weight`, `norm.weight`,
//! `transp_conv.weight`, ...): conv, instance norm, conv layer (conv -> norm -> LeakyReLU),
//! conv block (two layers), up-sampling block and the 1x1x1 output block; plus the
//! Kaiming-normal initialisation from a seeded random stream.

use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::{batch_norm_train, conv_transpose3d, conv3d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Kaiming-normal weights as PyTorch's `kaiming_normal_(w, a)` (fan-in mode, leaky-ReLU gain):
/// `std = sqrt(2 / (1 + a^2)) / sqrt(fan_in)`.
pub(crate) fn kaiming_normal<const D: usize>(
    shape: [usize; D],
    fan_in: usize,
    a: f64,
    rng: &mut impl Rng,
    device: &Device,
) -> Param<Tensor<D>> {
    let std = (2.0 / (1.0 + a * a)).sqrt() / (fan_in.max(1) as f64).sqrt();
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            (z * std) as f32
        })
        .collect();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

fn constant<const D: usize>(shape: [usize; D], value: f32, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::full(shape, value, device))
}

/// A 3D convolution `[B, Cin, T, H, W] -> [B, Cout, T', H', W']` with symmetric padding.
#[derive(Module, Debug)]
pub struct Conv {
    /// `[Cout, Cin, kT, kH, kW]`.
    pub weight: Param<Tensor<5>>,
    /// `[Cout]`, absent for the bias-free output convs.
    pub bias: Option<Param<Tensor<1>>>,
    #[module(skip)]
    pub stride: [usize; 3],
    #[module(skip)]
    pub padding: [usize; 3],
}

impl Conv {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        channels: [usize; 2],
        kernel: [usize; 3],
        stride: [usize; 3],
        padding: [usize; 3],
        bias: bool,
        slope: f64,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let [cin, cout] = channels;
        let fan_in = cin * kernel.iter().product::<usize>();
        let shape = [cout, cin, kernel[0], kernel[1], kernel[2]];
        Self {
            weight: kaiming_normal(shape, fan_in, slope, rng, device),
            bias: bias.then(|| constant([cout], 0.0, device)),
            stride,
            padding,
        }
    }

    /// # Shapes
    /// - input `[B, Cin, T, H, W]`, output `[B, Cout, T/sT, H/sH, W/sW]` (same-padded).
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        conv3d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(Param::val),
            ConvOptions::new(self.stride, self.padding, [1, 1, 1], 1),
        )
    }
}

/// A bias-free transposed 3D convolution with kernel = stride (the decoder's up-sampling).
#[derive(Module, Debug)]
pub struct TransposedConv {
    /// `[Cin, Cout, sT, sH, sW]` (PyTorch's layout for transposed convs).
    pub weight: Param<Tensor<5>>,
    #[module(skip)]
    pub stride: [usize; 3],
}

impl TransposedConv {
    pub(crate) fn new(
        channels: [usize; 2],
        stride: [usize; 3],
        slope: f64,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let [cin, cout] = channels;
        // PyTorch computes the fan-in of a transposed conv weight from its dim 1 (= Cout).
        let fan_in = cout * stride.iter().product::<usize>();
        let shape = [cin, cout, stride[0], stride[1], stride[2]];
        Self {
            weight: kaiming_normal(shape, fan_in, slope, rng, device),
            stride,
        }
    }

    /// # Shapes
    /// - input `[B, Cin, T, H, W]`, output `[B, Cout, T*sT, H*sH, W*sW]`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        conv_transpose3d(
            x,
            self.weight.val(),
            None,
            ConvTransposeOptions::new(self.stride, [0, 0, 0], [0, 0, 0], [1, 1, 1], 1),
        )
    }
}

/// Instance normalisation with per-channel affine (`weight`, `bias` as PyTorch names them), no
/// running statistics.
#[derive(Module, Debug)]
pub struct InstanceNorm {
    /// `[C]`, initialised to 1.
    pub weight: Param<Tensor<1>>,
    /// `[C]`, initialised to 0.
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub epsilon: f64,
}

impl InstanceNorm {
    pub(crate) fn new(channels: usize, epsilon: f64, device: &Device) -> Self {
        Self {
            weight: constant([channels], 1.0, device),
            bias: constant([channels], 0.0, device),
            epsilon,
        }
    }

    /// Normalise each (sample, channel) over `(T, H, W)` with the biased variance.
    ///
    /// Runs as one batch norm with batch statistics over `[1, B * C, T*H*W]` (each (sample,
    /// channel) is one "channel" there, with the affine repeated per sample): burn
    /// differentiates it as one operation, and the CPU backend has a fused kernel for it (two
    /// passes forward, two backward) where the same formula out of tensor operations costs a
    /// dozen full-size passes and as many intermediate tensors.
    ///
    /// # Shapes
    /// - input and output `[B, C, T, H, W]`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let [b, c, t, h, w] = x.dims();
        let flat: Tensor<3> = x.reshape([1, b * c, t * h * w]);
        let (gamma, beta) = (self.weight.val(), self.bias.val());
        let (gamma, beta) = if b == 1 {
            (gamma, beta)
        } else {
            (gamma.repeat_dim(0, b), beta.repeat_dim(0, b))
        };
        batch_norm_train(flat, gamma, beta, self.epsilon)
            .output
            .reshape([b, c, t, h, w])
    }
}

/// LeakyReLU. Under autodiff it is `x * m` with the mask `m` (1 where `x > 0`, the slope
/// elsewhere) built from `x` outside the graph: the same values bit for bit, and a backward pass of one
/// multiplication, where burn's generic LeakyReLU (a `mask_where` of `x` and `slope * x`)
/// records two operations whose backward passes allocate zero tensors and mask twice.
/// Without autodiff, burn's fused kernel.
///
/// # Shapes
/// - input and output: any.
pub fn leaky_relu_fast<const D: usize>(x: Tensor<D>, negative_slope: f64) -> Tensor<D> {
    if !x.is_tracked() {
        return leaky_relu(x, negative_slope);
    }
    // sign(x) is 1 for x > 0, 0 for zeros and -1 below, so the mask is 1 above zero and the
    // slope elsewhere; a zero gives the same (signed) zero either way, and NaN stays NaN. The
    // mask is computed without autodiff (a constant for the multiplication).
    let mask = x.clone().inner().sign().clamp_min(negative_slope);
    x * mask
}

/// Conv -> InstanceNorm -> LeakyReLU (patchless-nnUnet's `ConvLayer`).
#[derive(Module, Debug)]
pub struct ConvLayer {
    pub conv: Conv,
    pub norm: InstanceNorm,
    #[module(skip)]
    pub negative_slope: f64,
}

impl ConvLayer {
    /// # Shapes
    /// - input `[B, Cin, T, H, W]`, output `[B, Cout, T/sT, H/sH, W/sW]`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        leaky_relu_fast(self.norm.forward(self.conv.forward(x)), self.negative_slope)
    }
}

/// Shape of one conv block: channels, kernel, stride of the first layer, padding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockShape {
    pub cin: usize,
    pub cout: usize,
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub padding: [usize; 3],
    pub slope: f64,
    pub epsilon: f64,
}

/// Two conv layers; only the first is strided (patchless-nnUnet's `ConvBlock`).
#[derive(Module, Debug)]
pub struct ConvBlock {
    pub conv1: ConvLayer,
    pub conv2: ConvLayer,
}

impl ConvBlock {
    pub(crate) fn new(s: BlockShape, rng: &mut impl Rng, device: &Device) -> Self {
        // The second conv has stride 1, so its padding is (k + 1 - 1) / 2 = k / 2.
        let same = s.kernel.map(|k| k / 2);
        let layer = |cin, stride, padding, rng: &mut _| ConvLayer {
            conv: Conv::new(
                [cin, s.cout],
                s.kernel,
                stride,
                padding,
                true,
                s.slope,
                rng,
                device,
            ),
            norm: InstanceNorm::new(s.cout, s.epsilon, device),
            negative_slope: s.slope,
        };
        let conv1 = layer(s.cin, s.stride, s.padding, rng);
        let conv2 = layer(s.cout, [1, 1, 1], same, rng);
        Self { conv1, conv2 }
    }

    /// # Shapes
    /// - input `[B, Cin, T, H, W]`, output `[B, Cout, T/sT, H/sH, W/sW]`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.conv2.forward(self.conv1.forward(x))
    }
}

/// Transposed conv up, concatenation with the skip, conv block (patchless-nnUnet's
/// `UpsampleBlock`).
#[derive(Module, Debug)]
pub struct UpsampleBlock {
    pub transp_conv: TransposedConv,
    pub conv_block: ConvBlock,
}

impl UpsampleBlock {
    /// # Shapes
    /// - input `[B, Cin, T, H, W]`, skip `[B, Cout, T*sT, H*sH, W*sW]`, output like skip.
    pub fn forward(&self, x: Tensor<5>, skip: Tensor<5>) -> Tensor<5> {
        let up = self.transp_conv.forward(x);
        self.conv_block.forward(Tensor::cat(vec![up, skip], 1))
    }
}

/// A bias-free 1x1x1 conv to class logits (patchless-nnUnet's `OutputBlock`).
#[derive(Module, Debug)]
pub struct OutputBlock {
    pub conv: Conv,
}

impl OutputBlock {
    pub(crate) fn new(
        cin: usize,
        cout: usize,
        slope: f64,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Self {
        let conv = Conv::new(
            [cin, cout],
            [1, 1, 1],
            [1, 1, 1],
            [0, 0, 0],
            false,
            slope,
            rng,
            device,
        );
        Self { conv }
    }

    /// # Shapes
    /// - input `[B, Cin, T, H, W]`, output `[B, Cout, T, H, W]`.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.conv.forward(x)
    }
}
