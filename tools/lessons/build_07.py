"""Build lessons/07_smoothgrad.ipynb (run: .venv/bin/python -m tools.lessons.build_07)."""

from tools.nb import build, code, md

CELLS = [
    md(r"""
# 07 · SmoothGrad: removing noise by adding noise

Saliency maps (lesson 06) are speckled: the gradient of a ReLU network jumps from pixel to
pixel, and a tiny change of the image gives a visibly different map. Smilkov et al. (2017)
proposed a blunt fix: explain many noisy copies of the image and average the maps. The
speckle averages out, what stays is what the class score depends on in a whole
neighbourhood of the image. This lesson builds SmoothGrad by hand, checks it against
`vislib.smoothgrad`, and puts a number on "less noisy".

## What you will learn
- why raw gradients are noisy, and what averaging over noisy copies estimates;
- SmoothGrad by hand in a few lines, and `vislib.smoothgrad` as a wrapper over *any*
  gradient method (saliency, guided backprop, Grad-CAM);
- how the noise level and the number of samples change the map;
- a measurement of "less noisy": two independent SmoothGrad runs agree more as the
  number of samples grows, and the maps get smoother.
"""),
    md(r"""
## The idea

Let $M_c(x)$ be any explanation map of class $c$ for image $x$, e.g. the saliency map
$\max_k |\partial S_c / \partial x_k|$. SmoothGrad averages it over $n$ noisy copies:

$$\hat M_c(x) = \frac{1}{n} \sum_{i=1}^{n} M_c\big(x + \varepsilon_i\big), \qquad
\varepsilon_i \sim \mathcal{N}(0, \sigma^2 I), \qquad \sigma = \text{noise} \cdot (x_{\max} - x_{\min}).$$

It is a Monte-Carlo estimate of $\mathbb{E}_\varepsilon[M_c(x + \varepsilon)]$, the map of a
*smoothed* network. Its sampling error shrinks like $1/\sqrt{n}$, so two runs with different
noise agree more and more as $n$ grows. The paper finds noise levels of 10-20% of the pixel
range best; the copies are clipped to the valid pixel range, and the class $c$ is decided
once on the clean image so every copy explains the same class.
"""),
    code(r"""
IMAGENET = cm.channels == 3
images, labels, names = vislib.examples(cm, (2 if cm.heavy else 3) if IMAGENET else 10)   # photos are expensive
probs = cm.predict(images)
top1 = probs.argmax(1)
titles = [f"{cm.class_names[c][:14]} {probs[i, c]:.2f}" for i, c in enumerate(top1)]
SAMPLES = (8 if cm.heavy else 10) if IMAGENET else 25   # on photos every sample is a gradient (VGG16: ~1.4/s)
NOISE = 0.15
lo, hi = cm.pixel_range
print(f"{len(images)} images; SmoothGrad with {SAMPLES} samples, noise {NOISE} "
      f"-> sigma = {NOISE * (hi - lo):.1f} grey levels")

def show(image):
    return image.astype("uint8").squeeze()
"""),
    md(r"""
## By hand

Stack `SAMPLES` noisy copies of every image, clip them to the pixel range, compute the
saliency map of each copy for the image's top-1 class, and average. The copies of all
images go through the network together.
"""),
    code(r"""
rng = np.random.default_rng(0)
sigma = NOISE * (hi - lo)
copies = np.repeat(images, SAMPLES, axis=0)                       # image i's copies are rows i*S ... i*S+S-1
noisy = np.clip(copies + sigma * rng.normal(size=copies.shape).astype(np.float32), lo, hi)
noisy_maps = vislib.saliency(cm, noisy, np.repeat(top1, SAMPLES))  # one map per noisy copy
sg_hand = noisy_maps.reshape(len(images), SAMPLES, *images.shape[1:3]).mean(axis=1)
vanilla = vislib.saliency(cm, images, top1)
print("noisy copies", noisy.shape, "-> maps", noisy_maps.shape, "-> SmoothGrad", sg_hand.shape)
"""),
    code(r"""
i = 0
fig, axes = plt.subplots(1, 6, figsize=(13, 2.5))
axes[0].imshow(show(images[i]), cmap="gray"); axes[0].set_title(titles[i])
axes[1].imshow(show(noisy[i * SAMPLES]), cmap="gray"); axes[1].set_title(f"a noisy copy (sigma {sigma:.0f})")
axes[2].imshow(vislib.normalize_map(vanilla[i]), cmap="gray"); axes[2].set_title("saliency")
for k in range(2):
    axes[3 + k].imshow(vislib.normalize_map(noisy_maps[i * SAMPLES + k]), cmap="gray")
    axes[3 + k].set_title(f"saliency of copy {k + 1}")
axes[5].imshow(vislib.normalize_map(sg_hand[i]), cmap="gray"); axes[5].set_title(f"mean of {SAMPLES}")
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()
"""),
    md(r"""
## With vislib

`vislib.smoothgrad(method, model, images, target=None, noise=0.15, samples=25, seed=0)` wraps
any method with the course's call shape. With the same seed it draws the same noise as our
hand-made version, so the maps must agree; with one sample and no noise it *is* the method.
"""),
    code(r"""
sg = vislib.smoothgrad(vislib.saliency, cm, images, top1, noise=NOISE, samples=SAMPLES, seed=0)
assert sg.shape == images.shape[:3] and sg.dtype == np.float32
assert np.allclose(sg, sg_hand, rtol=1e-4, atol=1e-6 * sg_hand.max()), "vislib.smoothgrad differs from the hand version"
print("vislib.smoothgrad equals the hand version; largest difference", float(np.abs(sg - sg_hand).max()))
same = vislib.smoothgrad(vislib.saliency, cm, images, top1, noise=0.0, samples=1)
assert np.allclose(same, vanilla, rtol=1e-5), "one sample without noise must be plain saliency"
"""),
    md(r"""
It works for any gradient method: here plain and guided backprop, each without and with
SmoothGrad (the same number of samples).
"""),
    code(r"""
gb = vislib.guided_backprop(cm, images, top1)
sg_gb = vislib.smoothgrad(vislib.guided_backprop, cm, images, top1, noise=NOISE, samples=SAMPLES)
columns = {"saliency": vanilla, "SmoothGrad": sg, "guided BP": gb, "SmoothGrad guided BP": sg_gb}
rows = list(range(min(4, len(images))))
fig, axes = plt.subplots(len(rows), 5, figsize=(11, 2.3 * len(rows)), squeeze=False)
for r, i in enumerate(rows):
    axes[r, 0].imshow(show(images[i]), cmap="gray"); axes[r, 0].set_title(titles[i])
    for c, (name, m) in enumerate(columns.items()):
        axes[r, c + 1].imshow(vislib.normalize_map(m[i]), cmap="gray")
        if r == 0:
            axes[r, c + 1].set_title(name)
for ax in axes.ravel(): ax.axis("off")
plt.tight_layout(); plt.show()
"""),
    md(r"""
### How much noise?

Too little noise changes nothing; too much drowns the image and the map blurs into the
network's generic preferences. One image, the same number of samples, growing noise:
"""),
    code(r"""
levels = [0.0, 0.05, 0.15, 0.3, 0.6]
i = 0
by_noise = {lvl: vislib.smoothgrad(vislib.saliency, cm, images[i:i + 1], int(top1[i]), noise=lvl, samples=SAMPLES)[0]
            for lvl in levels}
fig, axes = plt.subplots(1, len(levels), figsize=(2.3 * len(levels), 2.6))
for ax, (lvl, m) in zip(axes, by_noise.items()):
    ax.imshow(vislib.normalize_map(m), cmap="gray"); ax.set_title(f"noise {lvl:.0%}"); ax.axis("off")
plt.tight_layout(); plt.show()
"""),
    md(r"""
### "Less noisy", as a number

Two SmoothGrad runs with different seeds see different noise. If the maps were pure
speckle they would not correlate; if they show what the class depends on, they agree.
We draw `N_MAX` noisy copies per image for two seeds once; the mean of the first $n$ maps
is a SmoothGrad estimate with $n$ samples, so one pass gives the whole curve of the
correlation between the two runs against $n$.

We also measure roughness: the mean absolute difference between neighbouring pixels of the
map scaled to $[0, 1]$ (lower is smoother).
"""),
    code(r"""
N_MAX = 32 if not IMAGENET else 8 if cm.heavy else 16
ns = [n for n in (1, 2, 4, 8, 16, 32) if n <= N_MAX]

def per_sample_maps(seed, n=N_MAX, noise=NOISE):
    # (N, n, H, W): the saliency maps of n noisy copies of every image
    r = np.random.default_rng(seed)
    rep = np.repeat(images, n, axis=0)
    x = np.clip(rep + noise * (hi - lo) * r.normal(size=rep.shape).astype(np.float32), lo, hi)
    return vislib.saliency(cm, x, np.repeat(top1, n)).reshape(len(images), n, *images.shape[1:3])

def corr(a, b):
    # mean Pearson r over images between two stacks of maps
    return float(np.mean([np.corrcoef(p.ravel(), q.ravel())[0, 1] for p, q in zip(a, b)]))

def roughness(maps):
    m = vislib.normalize_map(maps)
    return float(np.abs(np.diff(m, axis=1)).mean() + np.abs(np.diff(m, axis=2)).mean())

run_a, run_b = per_sample_maps(seed=1), per_sample_maps(seed=2)
agreement = {n: corr(run_a[:, :n].mean(1), run_b[:, :n].mean(1)) for n in ns}
rough = {n: roughness(run_a[:, :n].mean(1)) for n in ns}
print("| samples | r(run A, run B) | roughness |")
print("|---:|---:|---:|")
print(f"| plain saliency | (same map every time) | {roughness(vanilla):.3f} |")
for n in ns:
    print(f"| {n} | {agreement[n]:.3f} | {rough[n]:.3f} |")
"""),
    code(r"""
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.plot(ns, [agreement[n] for n in ns], "o-")
ax1.set_xscale("log", base=2); ax1.set_xticks(ns, [str(n) for n in ns])
ax1.set_xlabel("samples n"); ax1.set_ylabel("r between two seeds"); ax1.set_ylim(0, 1.02)
ax1.set_title("reproducibility")
ax2.plot(ns, [rough[n] for n in ns], "o-", color="C1", label="SmoothGrad")
ax2.axhline(roughness(vanilla), color="k", ls="--", label="plain saliency")
ax2.set_xscale("log", base=2); ax2.set_xticks(ns, [str(n) for n in ns])
ax2.set_xlabel("samples n"); ax2.set_ylabel("roughness"); ax2.set_title("smoothness"); ax2.legend(fontsize=8)
plt.tight_layout(); plt.show()
"""),
    md(r"""
## Explore

Choose an image, a method, the noise level and the number of samples. Every new
combination is computed once and cached; switching between the map and the overlay only
redraws.
"""),
    code(r"""
METHODS = {"saliency": vislib.saliency, "guided backprop": vislib.guided_backprop}
sg_cache = {}

def smooth_map(i, method, noise, samples):
    key = (i, method, round(noise, 3), samples)
    if key not in sg_cache:
        sg_cache[key] = vislib.smoothgrad(METHODS[method], cm, images[i:i + 1], int(top1[i]),
                                          noise=noise, samples=samples)[0]
    return sg_cache[key]

def show_smoothgrad(image, method, noise, samples, view):
    plain = smooth_map(image, method, 0.0, 1)
    smooth = smooth_map(image, method, noise, samples)
    fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
    axes[0].imshow(show(images[image]), cmap="gray"); axes[0].set_title(titles[image])
    for ax, m, name in ((axes[1], plain, method), (axes[2], smooth, f"SmoothGrad {noise:.0%}, n={samples}")):
        if view == "overlay":
            ax.imshow(vislib.overlay(images[image], m, alpha=0.6, cmap="inferno"))
        else:
            ax.imshow(vislib.normalize_map(m), cmap="gray")
        ax.set_title(name, fontsize=9)
    for ax in axes: ax.axis("off")
    plt.tight_layout(); plt.show()

picker = [(f"{k}: {n}", k) for k, n in enumerate(names)]
sample_choices = [1, 5, 10, 25, 50] if not IMAGENET else [1, 5, 10, 25]
vislib.explorer(show_smoothgrad, heavy=("image", "method", "noise", "samples"),
                image=widgets.Dropdown(options=picker, description="image"),
                method=widgets.Dropdown(options=list(METHODS), description="method"),
                noise=widgets.FloatSlider(value=NOISE, min=0.0, max=0.5, step=0.05, description="noise"),
                samples=widgets.SelectionSlider(options=sample_choices, value=10, description="samples"),
                view=widgets.ToggleButtons(options=["map", "overlay"], description="view"))
"""),
    md(r"""
## What to notice

- SmoothGrad by hand and `vislib.smoothgrad` agree; one sample without noise is the plain method.
- Averaging over more samples makes two independent runs agree more: the correlation between
  seeds rises from one sample to the largest count.
- With trained weights the averaged maps are smoother than the plain saliency map.
- Noise 0 leaves the map unchanged however many samples are taken (every copy is the image).
"""),
    code(r"""
print({n: round(r, 3) for n, r in agreement.items()})
assert agreement[ns[-1]] > agreement[ns[0]], agreement
assert np.allclose(by_noise[0.0], vanilla[0], rtol=1e-4, atol=1e-7)
if cm.weights in ("trained", "imagenet"):
    assert rough[ns[-1]] < roughness(vanilla), (rough, roughness(vanilla))
"""),
    md(r"""
## Exercises

1. How large is sigma, in grey levels, for a noise level of 0.2 on this profile? Set `sigma_20`.
2. Compute SmoothGrad of **guided backprop** for the first image with 5 samples and seed 0
   (`vislib.smoothgrad`) and store the (H, W) map in `sg_guided`.
3. By how much did the correlation between the two seeds grow from 1 sample to the
   largest count? Set `r_gain` (use `agreement`).
"""),
    code(r"""
sigma_20 = None          # your answer
sg_guided = None         # your answer
r_gain = None            # your answer

vislib.check(sigma_20, 0.2 * (hi - lo), hint="noise * (max - min) of the pixel range cm.pixel_range",
             name="1. sigma")
vislib.check(sg_guided, vislib.smoothgrad(vislib.guided_backprop, cm, images[:1], samples=5, seed=0)[0],
             tol=1e-4, hint="vislib.smoothgrad(vislib.guided_backprop, cm, images[:1], samples=5, seed=0)[0]",
             name="2. SmoothGrad of guided backprop")
vislib.check(r_gain, agreement[ns[-1]] - agreement[ns[0]], tol=1e-3,
             hint="agreement[ns[-1]] - agreement[ns[0]]", name="3. gain in agreement");
"""),
    md(r"""
## Summary

- SmoothGrad averages an explanation over noisy copies of the image:
  $\hat M_c(x) = \frac{1}{n}\sum_i M_c(x + \varepsilon_i)$, with $\sigma$ a fraction of the
  pixel range (10-20% works well).
- `vislib.smoothgrad(method, ...)` is one wrapper for every gradient method; the target is
  fixed on the clean image, the copies are clipped to the pixel range and batched.
- "Less noisy" is measurable: independent runs agree more as the samples grow (the error
  falls like $1/\sqrt{n}$), and the maps get smoother. The price is $n$ backward passes
  per image instead of one.

## References

- D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg. *SmoothGrad: removing noise by adding noise.* ICML workshop on visualization for deep learning 2017.
- K. Simonyan, A. Vedaldi, A. Zisserman. *Deep Inside Convolutional Networks: Visualising Image Classification Models and Saliency Maps.* ICLR workshop 2014.
- J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for Simplicity: The All Convolutional Net.* ICLR workshop 2015.
- S. Hooker, D. Erhan, P.-J. Kindermans, B. Kim. *A Benchmark for Interpretability Methods in Deep Neural Networks.* NeurIPS 2019 (SmoothGrad-Squared).
"""),
]

if __name__ == "__main__":
    print(build("lessons/07_smoothgrad.ipynb", CELLS))
