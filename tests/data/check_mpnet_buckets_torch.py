#!/usr/bin/python3
"""Checks make_family_models.relative_bucket (numpy, the goldens' bucket rule) against the same rule in torch
ops, written as Hugging Face's MPNetEncoder.relative_position_bucket writes it: torch's vectorized float32
log decides the buckets at distances 16, 32, 64 and 128, so both must agree bit for bit there.

    /usr/bin/python3 tests/data/check_mpnet_buckets_torch.py     (needs python3-torch; exits 77 without it)

Not part of CI (torch is a large package qkv does not need); run by hand when the bucket rule changes.
"""
import math
import os
import sys

import numpy as np

try:
    import torch
except ImportError:
    print("python3-torch is not installed; skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_family_models  # noqa: E402


def torch_bucket(relative_position, num_buckets=32, max_distance=128):
    n = -relative_position
    num_buckets //= 2
    ret = (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact) *
                                (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    return ret + torch.where(is_small, n, val_if_large)


def main():
    failures = 0
    for t in (1, 7, 64, 163, 512, 4096):  # [T, T] matrices: the vectorized path, as the model computes them
        positions = torch.arange(t)
        relative = positions[None, :] - positions[:, None]
        mismatches = int((torch_bucket(relative).numpy() != make_family_models.relative_bucket(relative.numpy())).sum())
        print("T=%d: %d of %d buckets differ" % (t, mismatches, t * t))
        failures += mismatches
    print("torch %s: %s" % (torch.__version__, "identical" if failures == 0 else "DIFFERENT"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
