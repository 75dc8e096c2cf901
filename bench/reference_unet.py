#!/usr/bin/env python3
"""PyTorch reference for the rl4seg U-Net (method.md 2.1, patchless-nnUnet's UNet).

Two jobs:

* ``bench`` (default): time one training step (forward, cross-entropy, backward, Adam) and one
  inference forward of the ``small`` and ``rl4seg3d`` presets at the same fixed shapes and
  thread count as ``cargo bench -p models --bench unet``; prints one line per case.
* ``fixture``: write the tiny PyTorch state_dict + input/output fixture that
  ``models/tests/pytorch_import.rs`` loads (original (X, Y, T) axis order and key names).

The architecture is read from ``configs/model/<preset>.toml`` (kernels and strides in (T, H, W)
order, tensors (B, C, T, H, W)), so both sides time the same network. CPU only.
Run from the repository root: ``python bench/reference_unet.py bench --threads 2``.
"""

import argparse
import pathlib
import statistics
import struct
import time
import tomllib

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Shapes shared with models/benches/unet.rs: (batch, channels, T, H, W).
CASES = {
    "small": {"train": (2, 1, 4, 128, 128), "infer": (2, 1, 4, 128, 128), "repeats": 5},
    "rl4seg3d": {"train": (1, 1, 4, 128, 128), "infer": (2, 1, 4, 128, 128), "repeats": 3},
}


def padding(kernel, stride):
    return tuple((k - s + 1) // 2 for k, s in zip(kernel, stride))


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, kernel, stride, slope, eps):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel, stride, padding(kernel, stride), bias=True)
        self.norm = nn.InstanceNorm3d(cout, eps=eps, affine=True)
        self.lrelu = nn.LeakyReLU(slope, inplace=True)

    def forward(self, x):
        return self.lrelu(self.norm(self.conv(x)))


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, kernel, stride, slope, eps):
        super().__init__()
        self.conv1 = ConvLayer(cin, cout, kernel, stride, slope, eps)
        self.conv2 = ConvLayer(cout, cout, kernel, (1, 1, 1), slope, eps)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class UpsampleBlock(nn.Module):
    def __init__(self, cin, cout, kernel, stride, slope, eps):
        super().__init__()
        self.transp_conv = nn.ConvTranspose3d(cin, cout, stride, stride, bias=False)
        self.conv_block = ConvBlock(2 * cout, cout, kernel, (1, 1, 1), slope, eps)

    def forward(self, x, skip):
        return self.conv_block(torch.cat((self.transp_conv(x), skip), dim=1))


class OutputBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 1, 1, 0, bias=False)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    """Same structure and parameter names as patchless-nnUnet's UNet."""

    def __init__(self, cfg, in_channels=1, out_channels=3, deep_supervision=False):
        super().__init__()
        ch, ks, st = cfg["channels"], [tuple(k) for k in cfg["kernels"]], [tuple(s) for s in cfg["strides"]]
        slope, eps = cfg.get("negative_slope", 0.01), cfg.get("norm_epsilon", 1e-5)
        n = len(ch)
        self.input_block = ConvBlock(in_channels, ch[0], ks[0], st[0], slope, eps)
        self.downsamples = nn.ModuleList(
            [ConvBlock(ch[i - 1], ch[i], ks[i], st[i], slope, eps) for i in range(1, n - 1)]
        )
        self.bottleneck = ConvBlock(ch[n - 2], ch[n - 1], ks[n - 1], st[n - 1], slope, eps)
        self.upsamples = nn.ModuleList(
            [UpsampleBlock(ch[i], ch[i - 1], ks[i], st[i], slope, eps) for i in range(n - 1, 0, -1)]
        )
        self.output_block = OutputBlock(ch[0], out_channels)
        heads = [OutputBlock(ch[i + 1], out_channels) for i in range(n - 2)] if deep_supervision else []
        self.deep_supervision_heads = nn.ModuleList(heads)
        for m in self.modules():
            if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)):
                nn.init.kaiming_normal_(m.weight, a=slope)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        out = self.input_block(x)
        skips = [out]
        for down in self.downsamples:
            out = down(out)
            skips.append(out)
        out = self.bottleneck(out)
        for up, skip in zip(self.upsamples, reversed(skips)):
            out = up(out, skip)
        return self.output_block(out)


def load_preset(name):
    with open(ROOT / "configs" / "model" / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for name in args.presets:
        case = CASES[name]
        net = UNet(load_preset(name))
        params = sum(p.numel() for p in net.parameters())
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x = torch.rand(case["train"])
        y = torch.randint(0, 3, (case["train"][0],) + case["train"][2:])
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()

        train_s = timed(step, case["repeats"])
        xi = torch.rand(case["infer"])

        def infer():
            with torch.inference_mode():
                net(xi)

        infer_s = timed(infer, case["repeats"])
        print(
            f"{name}: params {params}, train step {list(case['train'])} {train_s:.3f} s, "
            f"inference {list(case['infer'])} {infer_s:.3f} s"
        )


def write_safetensors(path, tensors):
    """Minimal safetensors writer (f32), so the fixture needs no extra package."""
    header, offset, payload = {}, 0, b""
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        payload += data
    import json

    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + payload)


def fixture(args):
    """A 3-level net in the ORIGINAL axis order (X, Y, T): kernels [3,3,1] / [3,3,3], strides
    [1,1,1] / [2,2,1] / [2,2,2], with 4 -> 1 deep-supervision head stored as the original does."""
    torch.manual_seed(7)
    ours = {
        "channels": [2, 4, 4],
        "kernels": [[1, 3, 3], [3, 3, 3], [3, 3, 3]],
        "strides": [[1, 1, 1], [1, 2, 2], [2, 2, 2]],
    }
    original = dict(ours)
    original["kernels"] = [k[::-1] for k in ours["kernels"]]
    original["strides"] = [s[::-1] for s in ours["strides"]]
    net = UNet(original, in_channels=1, out_channels=3, deep_supervision=True).eval()
    # Non-trivial norm affines so the test sees them.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.InstanceNorm3d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
            if isinstance(m, nn.Conv3d) and m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)
    out_dir = ROOT / "models" / "tests" / "fixtures"
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out_dir / "tiny_unet_original.pt")
    x_ours = torch.rand(1, 1, 4, 8, 12)  # (B, C, T, H, W)
    x_orig = x_ours.permute(0, 1, 4, 3, 2).contiguous()  # (B, C, X=W, Y=H, T)
    with torch.no_grad():
        y_orig = net(x_orig)
    y_ours = y_orig.permute(0, 1, 4, 3, 2).contiguous()
    write_safetensors(out_dir / "tiny_unet_io.safetensors", {"input": x_ours, "output": y_ours})
    print(f"wrote {out_dir}/tiny_unet_original.pt and tiny_unet_io.safetensors")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="job")
    b = sub.add_parser("bench")
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--presets", nargs="+", default=["small", "rl4seg3d"], choices=sorted(CASES))
    sub.add_parser("fixture")
    args = parser.parse_args()
    if args.job == "fixture":
        fixture(args)
    else:
        if args.job is None:
            args = b.parse_args([])
        bench(args)


if __name__ == "__main__":
    main()
