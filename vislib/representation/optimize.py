"""Optimising an image: what class models and feature inversion share.

* random **transformations** applied to the image before every step (shift,
  scale, rotation), so what the optimiser builds must work at every offset,
  size and angle: "transformation robustness" (Olah, Mordvintsev & Schubert
  2017; the jitter of Yosinski et al. 2015 and of Mahendran & Vedaldi 2016);
* a **decorrelated Fourier parameterization**: the optimised variable is the
  image's 2-D spectrum, scaled by 1/frequency so that every frequency has
  about the same energy, and its colours in a decorrelated colour basis
  (Olah et al. 2017; Lucid's ``fft_image`` and ``to_valid_rgb``);
* the Adam update (Kingma & Ba 2015) both of them use on that variable.

Olah, Mordvintsev & Schubert. *Feature Visualization.* Distill 2017,
https://distill.pub/2017/feature-visualization/ (code: github.com/tensorflow/lucid,
``lucid/optvis/param/spatial.py``, ``color.py``, ``transform.py``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .._core import checks

# Lucid's colour basis (lucid/optvis/param/color.py): the square root of the
# colour correlation of ImageNet pixels, from an SVD; its columns normalised
# so the largest has norm 1
_COLOR_SQRT = np.array([[0.26, 0.09, 0.02],
                        [0.27, 0.00, -0.05],
                        [0.27, -0.09, 0.03]], np.float32)
COLOR_BASIS = (_COLOR_SQRT / np.max(np.linalg.norm(_COLOR_SQRT, axis=0))).astype(np.float32)


# ---------------------------------------------------------------- the loop around a step
def check_steps(steps, default: int) -> int:
    """Checked number of steps; ``default`` when ``steps`` is None."""
    return default if steps is None else checks.count(steps, "steps", high=100_000)


def check_record_every(record_every, steps: int) -> int:
    """Checked frame interval; ten frames over the run when None."""
    if record_every is None:
        return max(1, steps // 10)
    return checks.count(record_every, "record_every", high=100_000)


def to_display(x, lo: float, hi: float, as_uint8: bool) -> np.ndarray:
    """Pixels clipped to [lo, hi]; rounded to uint8 for 0-255 course profiles,
    so the image shown is exactly one a photo could be."""
    x = np.clip(np.asarray(x, np.float32), lo, hi)
    return np.round(x).astype(np.uint8) if as_uint8 else x


# ---------------------------------------------------------------- transformations
def check_transforms(jitter, scale, rotate, size: int) -> tuple[int, float, float]:
    """Checked (jitter pixels, scale fraction, rotation degrees)."""
    jitter = checks.count(jitter, "jitter", low=0, high=size // 2)
    scale = float(checks.in_range(scale, 0, 0.5, "scale"))
    rotate = float(checks.in_range(rotate, 0, 180, "rotate"))
    return jitter, scale, rotate


def draw_transforms(rng: np.random.Generator, n: int, jitter: int, scale: float,
                    rotate: float) -> np.ndarray:
    """(n, 4) float32 random transformations: integer shifts dy, dx in
    [-jitter, jitter], a zoom factor in [1 - scale, 1 + scale] and an angle
    in radians in [-rotate, rotate] degrees, each uniform."""
    shifts = rng.integers(-jitter, jitter + 1, (n, 2)) if jitter else np.zeros((n, 2))
    zoom = rng.uniform(1 - scale, 1 + scale, n) if scale else np.ones(n)
    angle = np.deg2rad(rng.uniform(-rotate, rotate, n)) if rotate else np.zeros(n)
    return np.column_stack([shifts, zoom, angle]).astype(np.float32)


def transform(x, params):
    """Apply one transformation ``params = (dy, dx, zoom, angle)`` to a batch
    ``x`` (N, H, W, C) (a tensor; differentiable; usable inside ``tf.function``).

    The zoom and rotation are one affine map about the image centre,
    resampled bilinearly with the border reflected (no constant frame for the
    network to see); the shift is a roll by whole pixels (nothing lost, no
    resampling).
    """
    x = tf.convert_to_tensor(x)
    h, w = x.shape[1], x.shape[2]
    dy, dx, zoom, angle = params[0], params[1], params[2], params[3]

    def affine(x):
        # ImageProjectiveTransform maps each *output* pixel to the input pixel it reads:
        # input = R(-angle) (output - centre) / zoom + centre
        c, s = tf.cos(angle) / zoom, tf.sin(angle) / zoom
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        a0, a1, b0, b1 = c, -s, s, c
        a2 = cx - a0 * cx - a1 * cy
        b2 = cy - b0 * cx - b1 * cy
        matrix = tf.reshape(tf.stack([a0, a1, a2, b0, b1, b2, 0.0, 0.0]), (1, 8))
        matrix = tf.tile(tf.cast(matrix, tf.float32), [tf.shape(x)[0], 1])
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=x, transforms=matrix, output_shape=tf.constant([h, w], tf.int32),
            fill_value=tf.constant(0.0), interpolation="BILINEAR", fill_mode="REFLECT")

    x = tf.cond(tf.logical_or(tf.not_equal(zoom, 1.0), tf.not_equal(angle, 0.0)),
                lambda: affine(x), lambda: x)
    return tf.roll(x, shift=tf.cast(tf.stack([dy, dx]), tf.int32), axis=[1, 2])


def random_views(images, n: int = 16, jitter: int = 16, scale: float = 0.1, rotate: float = 10.0,
                 seed: int = 0) -> np.ndarray:
    """``n`` randomly shifted, scaled and rotated copies of one image.

    The test that separates a feature from an adversarial pattern (Olah et
    al. 2017): an image the network calls "tabby" because it shows tabby
    features keeps that label when moved, resized or turned a little; a
    pattern that only works pixel for pixel loses it.

    Args:
        images: One image (H, W, C) in display pixels.
        n: Number of views, 1-1000.
        jitter: Largest shift in pixels.
        scale: Largest relative change of size (0.1: 90 % to 110 %).
        rotate: Largest rotation in degrees.
        seed: Seed of the random draws.

    Returns:
        float32 (n, H, W, C): the views, in the image's pixel range.

    Raises:
        ValueError: An image that is not (H, W, C), or options out of range.
    """
    x = np.asarray(images, np.float32)
    if x.ndim != 3:
        raise ValueError(f"images has shape {x.shape}; random_views takes one image (H, W, C)")
    n = checks.count(n, "n", low=1, high=1000)
    seed = checks.count(seed, "seed", low=0, high=2**32 - 1)
    jitter, scale, rotate = check_transforms(jitter, scale, rotate, min(x.shape[:2]))
    params = draw_transforms(np.random.default_rng(seed), n, jitter, scale, rotate)
    lo, hi = float(x.min()), float(x.max())
    views = [np.asarray(transform(x[None], tf.constant(p)))[0] for p in params]
    return np.clip(np.stack(views), lo, hi).astype(np.float32)   # bilinear never leaves the range; rounding might


# ---------------------------------------------------------------- Fourier parameterization
def fourier_scale(h: int, w: int, decay: float = 1.0) -> np.ndarray:
    """(h, w // 2 + 1) float32: 1 / frequency ** decay (Lucid's ``fft_image``),
    so a spectrum of equal-sized coefficients gives an image whose energy is
    spread like a natural image's (most of it at low frequencies)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    freqs = np.sqrt(fx * fx + fy * fy)
    return (1.0 / np.maximum(freqs, 1.0 / max(h, w)) ** decay * np.sqrt(h * w)).astype(np.float32)


def fourier_init(rng: np.random.Generator, h: int, w: int, channels: int, sd: float = 0.01) -> np.ndarray:
    """A random starting spectrum (2, channels, h, w // 2 + 1): real and
    imaginary parts, normal with standard deviation ``sd`` (Lucid's default)."""
    return (rng.standard_normal((2, channels, h, w // 2 + 1)) * sd).astype(np.float32)


def fourier_render(spectrum, scale, h: int, w: int, decorrelate: bool = True):
    """Spectrum (2, C, h, w//2+1) -> image (1, h, w, C) in [0, 1] (tensors).

    Inverse real FFT of the scaled spectrum, divided by 4 as Lucid does, the
    colours mapped out of the decorrelated basis (3 channels only), then a
    sigmoid into [0, 1]."""
    coeffs = tf.complex(spectrum[0] * scale, spectrum[1] * scale)
    img = tf.signal.irfft2d(coeffs, fft_length=[h, w])          # (C, h, w)
    img = tf.transpose(img, (1, 2, 0))[None] / 4.0
    if decorrelate and img.shape[-1] == 3:
        img = tf.einsum("nhwc,dc->nhwd", img, tf.constant(COLOR_BASIS))
    return tf.sigmoid(img)


# ---------------------------------------------------------------- the update
def adam(v, g, m, s, k, lr, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
    """One Adam step *up* the gradient ``g`` (tensors; ``k`` counts steps
    from 1). Returns the new ``(v, m, s)``."""
    m = beta1 * m + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * tf.square(g)
    k = tf.cast(k, tf.float32)
    m_hat = m / (1 - tf.pow(beta1, k))
    s_hat = s / (1 - tf.pow(beta2, k))
    return v + lr * m_hat / (tf.sqrt(s_hat) + eps), m, s


def total_variation(x, beta: float = 2.0):
    """Mean over pixels of ``((x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2) ^ (beta/2)``
    per image (N,), the TV^beta norm of Mahendran & Vedaldi (2015) (tensors)."""
    dy = x[:, 1:, :-1, :] - x[:, :-1, :-1, :]
    dx = x[:, :-1, 1:, :] - x[:, :-1, :-1, :]
    d2 = tf.reduce_sum(dy * dy + dx * dx, axis=-1)
    if beta == 2.0:
        return tf.reduce_mean(d2, axis=(1, 2))
    return tf.reduce_mean(tf.pow(d2 + 1e-8, beta / 2.0), axis=(1, 2))


__all__ = ["random_views", "transform", "draw_transforms", "fourier_render", "fourier_scale",
           "adam", "total_variation", "COLOR_BASIS"]
