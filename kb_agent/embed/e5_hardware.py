"""Device, precision and threads for the torch e5 embedder, chosen from the hardware.

- device: CUDA when torch sees a GPU, else the CPU (``embedder.device`` overrides).
- dtype: float16 on CUDA; bfloat16 on a CPU with AMX or AVX-512 BF16 (bf16 matmuls run there
  several times faster than float32); float32 on other CPUs, where bf16 is emulated and slower
  (``embedder.dtype`` overrides).
- threads: ``embedder.num_threads``, else the cores this process may run on.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_BF16_FLAGS = {"amx_bf16", "avx512_bf16"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU feature flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def cpu_has_fast_bf16(flags: set[str] | None = None) -> bool:
    flags = cpu_flags() if flags is None else flags
    if flags:
        return bool(flags & _BF16_FLAGS)
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")   # torch's own CPUID probes
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def choose_device(setting: str | None) -> str:
    return setting or ("cuda" if torch.cuda.is_available() else "cpu")


def choose_dtype(setting: str | None, device: str, flags: set[str] | None = None) -> torch.dtype:
    if setting:
        return DTYPES[setting]
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.float16
    if kind == "cpu" and cpu_has_fast_bf16(flags):
        return torch.bfloat16
    return torch.float32


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not on Linux
        return os.cpu_count() or 1


def choose_threads(setting: int | None) -> int:
    return setting if setting else available_cores()
