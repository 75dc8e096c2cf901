//! Global gradient-norm clipping, as PyTorch's `clip_grad_norm_` (the original clips actor and
//! critic gradients to a norm of 0.5, method.md 3 and 12.8). burn's own clipping acts per
//! parameter tensor, which is not the same thing.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads
                .register::<D>(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// The global L2 norm of the gradients of `module`'s parameters (0 when none has one).
pub fn grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut visitor = SquaredNorm { grads, total: None };
    module.visit(&mut visitor);
    visitor
        .total
        .map_or(0.0, |t| f64::from(t.into_scalar::<f32>()).sqrt())
}

/// Scale all gradients so their global norm is at most `max_norm`
/// (`coef = max_norm / (norm + 1e-6)`, applied when below 1). Returns the norm before clipping.
pub fn clip_grad_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let norm = grad_norm(module, grads);
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let mut visitor = Scale {
            grads,
            factor: coef,
        };
        module.visit(&mut visitor);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unet::UNetConfig;
    use burn::tensor::Device;

    #[test]
    fn clipping_scales_the_global_norm() {
        let device = Device::flex();
        let config = UNetConfig::from_toml_str(
            "channels = [2, 4]\nkernels = [[1,3,3],[3,3,3]]\nstrides = [[1,1,1],[1,2,2]]",
        )
        .expect("config");
        let net = config.init(&device).expect("net").train();
        let x = Tensor::<5>::ones([1, 1, 2, 4, 4], &device.clone().autodiff());
        let loss = net
            .forward(x)
            .expect("forward")
            .square()
            .sum()
            .mul_scalar(100.0);
        let mut grads = GradientsParams::from_grads(loss.backward(), &net);
        let before = grad_norm(&net, &grads);
        assert!(before > 1.0, "{before}");
        let reported = clip_grad_norm(&net, &mut grads, 0.5);
        assert!((reported - before).abs() < 1e-9);
        let after = grad_norm(&net, &grads);
        assert!((after - 0.5).abs() < 1e-3, "{after}");
        // Below the limit nothing changes.
        let again = clip_grad_norm(&net, &mut grads, 10.0);
        assert!((grad_norm(&net, &grads) - again).abs() < 1e-6);
    }
}
