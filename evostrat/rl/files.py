"""Policy files: plain data in an ``.npz`` archive (no pickle), read defensively.

A policy file holds the architecture, the weights, the environment id, the
observation-normalization statistics and how the policy was chosen (validation
return). :func:`load_policy` reads it without trusting it: no pickle, each array's
header is read and its size checked against the architecture before any data is
decompressed, and every malformed file raises one :class:`PolicyFileError` with a
one-line message. Whether the environment id may be made is the caller's call
(:func:`evostrat.rl.envs.check_env_id`).
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evostrat.rl.policy import MAX_LAYER, Policy

FORMAT = "evostrat-policy-1"
#: the most hidden layers a file may declare (deeper is no policy of this package)
MAX_DEPTH = 64
_SMALL = 4096  # elements: the most any field but params/low/high/obs stats may hold


class PolicyFileError(ValueError):
    """A file that is not a valid evostrat policy file (one-line message)."""


@dataclass
class PolicyFile:
    """What a policy file holds."""

    policy: Policy
    params: np.ndarray
    env_id: str
    obs_mean: np.ndarray | None = None
    obs_std: np.ndarray | None = None
    info: dict[str, float] = field(default_factory=dict)


def save_policy(path: str, saved: PolicyFile) -> None:
    """Write ``saved`` to exactly ``path`` (atomically: a temporary file, renamed)."""
    p = saved.policy
    empty = np.zeros(0)
    arrays: dict[str, Any] = {
        "format": np.array(FORMAT),
        "env_id": np.array(saved.env_id),
        "obs_dim": np.array(p.obs_dim, dtype=np.int64),
        "act_dim": np.array(p.act_dim, dtype=np.int64),
        "hidden": np.asarray(p.hidden, dtype=np.int64),
        "discrete": np.array(p.discrete),
        "low": np.asarray(p.low, dtype=np.float64),
        "high": np.asarray(p.high, dtype=np.float64),
        "activation": np.array(p.activation),
        "squash": np.array(p.squash),
        "params": np.asarray(saved.params, dtype=np.float64),
        "obs_mean": empty if saved.obs_mean is None else saved.obs_mean,
        "obs_std": empty if saved.obs_std is None else saved.obs_std,
    }
    for key, value in saved.info.items():
        arrays[f"info_{key}"] = np.array(float(value))
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".policy-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _read(zf: zipfile.ZipFile, name: str, kinds: str, max_size: int) -> np.ndarray:
    """Array ``name`` of the archive, its header checked before reading the data."""
    try:
        fp = zf.open(name + ".npy")
    except KeyError:
        raise PolicyFileError(f"missing {name!r}") from None
    with fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise PolicyFileError(f"{name!r} has an unsupported format {version}")
        if dtype.kind not in kinds or dtype.hasobject or len(shape) > 1:
            raise PolicyFileError(f"{name!r} has type {dtype} and shape {shape}")
        size = math.prod(shape)
        if size > max_size or dtype.itemsize > 4 * 256:
            raise PolicyFileError(f"{name!r} is too large (shape {shape})")
        data = fp.read(size * dtype.itemsize)
    if len(data) != size * dtype.itemsize:
        raise PolicyFileError(f"{name!r} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _scalar(zf: zipfile.ZipFile, name: str, kinds: str) -> Any:
    value = _read(zf, name, kinds, 1)
    if value.shape != ():
        raise PolicyFileError(
            f"{name!r} must be a single value, got shape {value.shape}"
        )
    return value.item()


def _policy(zf: zipfile.ZipFile) -> Policy:
    hidden = _read(zf, "hidden", "iu", MAX_DEPTH)
    discrete = bool(_scalar(zf, "discrete", "b"))
    low = _read(zf, "low", "f", MAX_LAYER)
    high = _read(zf, "high", "f", MAX_LAYER)
    try:
        return Policy(
            int(_scalar(zf, "obs_dim", "iu")),
            int(_scalar(zf, "act_dim", "iu")),
            tuple(int(h) for h in hidden),
            discrete,
            () if discrete else tuple(low.tolist()),
            () if discrete else tuple(high.tolist()),
            str(_scalar(zf, "activation", "U")),
            str(_scalar(zf, "squash", "U")),
        )
    except ValueError as err:
        raise PolicyFileError(str(err)) from None


def _load(zf: zipfile.ZipFile) -> PolicyFile:
    if _scalar(zf, "format", "U") != FORMAT:
        raise PolicyFileError(f"unknown format (expected {FORMAT!r})")
    policy = _policy(zf)
    params = _read(zf, "params", "f", policy.num_params).astype(np.float64)
    if params.shape != (policy.num_params,):
        raise PolicyFileError(
            f"'params' has {params.size} values, the architecture needs "
            f"{policy.num_params}"
        )
    mean = _read(zf, "obs_mean", "f", policy.obs_dim).astype(np.float64)
    std = _read(zf, "obs_std", "f", policy.obs_dim).astype(np.float64)
    if mean.size != std.size or mean.size not in (0, policy.obs_dim):
        raise PolicyFileError("observation statistics do not fit the policy")
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(mean))):
        raise PolicyFileError("weights or statistics are not finite")
    if std.size and not (np.all(np.isfinite(std)) and np.all(std > 0)):
        raise PolicyFileError("observation std must be positive and finite")
    info = {}
    for name in zf.namelist()[:_SMALL]:
        if name.startswith("info_") and name.endswith(".npy"):
            info[name[5:-4]] = float(_scalar(zf, name[:-4], "fiu"))
    env_id = str(_scalar(zf, "env_id", "U"))
    if mean.size == 0:
        return PolicyFile(policy, params, env_id, None, None, info)
    return PolicyFile(policy, params, env_id, mean, std, info)


def load_policy(path: str) -> PolicyFile:
    """Read a file written by :func:`save_policy`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    PolicyFileError
        Anything else wrong with the file, in one line.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no policy file {path!r}")
    try:
        with zipfile.ZipFile(path) as zf:
            return _load(zf)
    except PolicyFileError as err:
        raise PolicyFileError(
            f"{path}: not a valid evostrat policy file: {err}"
        ) from None
    except Exception as err:  # zip, npy-header, unicode errors: all one line
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise PolicyFileError(
            f"{path}: not a valid evostrat policy file: {reason}"
        ) from None
