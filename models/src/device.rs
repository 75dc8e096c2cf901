//! Run-time device selection (`runtime.device`: `"cpu"`, `"vulkan:0"`, `"cuda:0"`) and the CPU
//! worker pool (`runtime.threads`). The CPU backend is burn's `flex`; GPU backends exist only
//! when this crate is built with the `vulkan` or `cuda` feature, and asking for one that is
//! missing is a clear error rather than a silent fallback.

use std::fmt;
use std::str::FromStr;

pub use burn::tensor::Device;

use crate::error::DeviceError;

/// A parsed `runtime.device` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// burn-flex, pure-Rust CPU (always available).
    Cpu,
    /// wgpu on Vulkan; `None` = the best adapter, `Some(i)` = the i-th discrete GPU.
    Vulkan(Option<usize>),
    /// CUDA device index.
    Cuda(usize),
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, index) = match lower.split_once(':') {
            Some((name, index)) => {
                let index = index
                    .parse::<usize>()
                    .map_err(|_| DeviceError::Unknown(text.to_string()))?;
                (name, Some(index))
            }
            None => (lower.as_str(), None),
        };
        match (name, index) {
            ("cpu" | "flex", None | Some(0)) => Ok(Self::Cpu),
            ("vulkan" | "gpu", index) => Ok(Self::Vulkan(index)),
            ("cuda", index) => Ok(Self::Cuda(index.unwrap_or(0))),
            _ => Err(DeviceError::Unknown(text.to_string())),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Vulkan(None) => write!(f, "vulkan"),
            Self::Vulkan(Some(i)) => write!(f, "vulkan:{i}"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl DeviceSpec {
    /// The burn device (without autodiff; call `.autodiff()` on it for training).
    pub fn device(self) -> Result<Device, DeviceError> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            Self::Vulkan(index) => vulkan(index, self),
            Self::Cuda(index) => cuda(index, self),
        }
    }

    /// Whether this binary can drive the device.
    pub fn is_available(self) -> bool {
        match self {
            Self::Cpu => true,
            Self::Vulkan(_) => cfg!(feature = "vulkan"),
            Self::Cuda(_) => cfg!(feature = "cuda"),
        }
    }
}

/// Parse `runtime.device` and return the burn device (without autodiff).
pub fn select(spec: &str) -> Result<Device, DeviceError> {
    spec.parse::<DeviceSpec>()?.device()
}

#[cfg(feature = "vulkan")]
fn vulkan(index: Option<usize>, _spec: DeviceSpec) -> Result<Device, DeviceError> {
    use burn::tensor::DeviceKind;
    let kind = match index {
        None => DeviceKind::DefaultDevice,
        Some(i) => DeviceKind::DiscreteGpu(i),
    };
    Ok(Device::vulkan(kind))
}

#[cfg(not(feature = "vulkan"))]
fn vulkan(_index: Option<usize>, spec: DeviceSpec) -> Result<Device, DeviceError> {
    Err(DeviceError::FeatureMissing {
        spec: spec.to_string(),
        feature: "vulkan",
    })
}

#[cfg(feature = "cuda")]
fn cuda(index: usize, _spec: DeviceSpec) -> Result<Device, DeviceError> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize, spec: DeviceSpec) -> Result<Device, DeviceError> {
    Err(DeviceError::FeatureMissing {
        spec: spec.to_string(),
        feature: "cuda",
    })
}

/// Size rayon's global pool (which the CPU backend runs on) to `threads` (0 = all cores) and
/// return the number of threads in use. The pool can be sized once per process: a later call
/// with a different count keeps the first size, says so in the log, and returns it.
pub fn init_threads(threads: usize) -> Result<usize, DeviceError> {
    let wanted = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };
    match rayon::ThreadPoolBuilder::new()
        .num_threads(wanted)
        .build_global()
    {
        Ok(()) => Ok(wanted),
        Err(e) => {
            let current = rayon::current_num_threads();
            if current != wanted {
                tracing::warn!(
                    "runtime.threads = {threads}: the worker pool already runs {current} threads ({e}); keeping {current}"
                );
            }
            Ok(current)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_strings() {
        assert_eq!("cpu".parse::<DeviceSpec>(), Ok(DeviceSpec::Cpu));
        assert_eq!(" CPU ".parse::<DeviceSpec>(), Ok(DeviceSpec::Cpu));
        assert_eq!(
            "vulkan:1".parse::<DeviceSpec>(),
            Ok(DeviceSpec::Vulkan(Some(1)))
        );
        assert_eq!("vulkan".parse::<DeviceSpec>(), Ok(DeviceSpec::Vulkan(None)));
        assert_eq!("cuda".parse::<DeviceSpec>(), Ok(DeviceSpec::Cuda(0)));
        assert_eq!("cuda:2".parse::<DeviceSpec>(), Ok(DeviceSpec::Cuda(2)));
        for bad in ["tpu", "cuda:x", "cpu:3", ""] {
            let e = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(e.contains("use \"cpu\""), "{bad}: {e}");
        }
        assert_eq!(DeviceSpec::Vulkan(Some(0)).to_string(), "vulkan:0");
    }

    #[test]
    fn cpu_is_always_available() {
        assert!(select("cpu").is_ok());
        assert!(DeviceSpec::Cpu.is_available());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn missing_gpu_feature_is_a_clear_error() {
        let e = select("cuda:0").unwrap_err().to_string();
        assert!(e.contains("`cuda` feature"), "{e}");
        assert!(e.contains("--features cuda"), "{e}");
    }

    #[test]
    fn thread_pool_reports_its_size() {
        let n = init_threads(0).expect("pool");
        assert!(n >= 1);
        // A second call keeps the pool and reports its real size.
        assert_eq!(init_threads(n).expect("pool"), rayon::current_num_threads());
    }
}
