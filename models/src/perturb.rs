//! Weight perturbation of a network (method.md 4.4, `predict_do_model_perturb`): `N(0, 1)·m`
//! added to every float parameter, from a seeded stream so the reward data set is reproducible
//! (the original seeds with the wall clock).

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::unet::UNet;

struct Noise {
    rng: ChaCha8Rng,
    scale: f32,
}

impl ModuleMapper for Noise {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let scale = self.scale;
        let rng = &mut self.rng;
        param.map(|t| {
            let shape = t.dims();
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n)
                .map(|_| {
                    let z: f32 = StandardNormal.sample(rng);
                    scale * z
                })
                .collect();
            let noise = Tensor::<D>::from_data(TensorData::new(values, shape), &t.device());
            t + noise
        })
    }
}

/// A copy of `net` with `scale·N(0, 1)` added to every float parameter.
pub fn perturb_weights(net: &UNet, scale: f64, seed: u64) -> UNet {
    net.clone().map(&mut Noise {
        rng: ChaCha8Rng::seed_from_u64(seed),
        scale: scale as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::named_tensors;
    use crate::unet::UNetConfig;
    use burn::tensor::Device;

    #[test]
    fn perturbation_changes_every_tensor_by_the_given_scale_and_is_seeded() {
        let config = UNetConfig::from_toml_str(
            "channels = [2, 4]\nkernels = [[1,3,3],[3,3,3]]\nstrides = [[1,1,1],[1,2,2]]",
        )
        .expect("config");
        let net = config.init_seeded(&Device::flex(), 1).expect("net");
        let a = perturb_weights(&net, 0.1, 7);
        let b = perturb_weights(&net, 0.1, 7);
        let before = named_tensors(&net);
        let after = named_tensors(&a);
        assert_eq!(after, named_tensors(&b), "same seed, same weights");
        let (mut sum_sq, mut n) = (0.0f64, 0usize);
        for (x, y) in before.iter().zip(&after) {
            assert_eq!(x.name, y.name);
            assert_ne!(x.values, y.values, "{} unchanged", x.name);
            for (u, v) in x.values.iter().zip(&y.values) {
                sum_sq += f64::from(v - u).powi(2);
                n += 1;
            }
        }
        let std = (sum_sq / n as f64).sqrt();
        assert!((std - 0.1).abs() < 0.02, "noise std {std}");
    }
}
