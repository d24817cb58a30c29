# %% [markdown]
# # 07 · SmoothGrad: removing noise by adding noise
#
# Saliency maps (lesson 06) are speckled: the gradient of a ReLU network jumps from pixel to
# pixel, and a tiny change of the image gives a visibly different map. Smilkov et al. (2017)
# proposed a blunt fix: explain many noisy copies of the image and average the maps. The
# speckle averages out, what stays is what the class score depends on in a whole
# neighbourhood of the image. This lesson builds SmoothGrad by hand, checks it against
# `vislib.smoothgrad`, and puts a number on "less noisy".
#
# ## What you will learn
# - why raw gradients are noisy, and what averaging over noisy copies estimates;
# - SmoothGrad by hand in a few lines, and `vislib.smoothgrad` as a wrapper over *any*
#   gradient method (saliency, guided backprop, Grad-CAM);
# - how the noise level and the number of samples change the map;
# - a measurement of "less noisy": two independent SmoothGrad runs agree more as the
#   number of samples grows, the maps get smoother (less total variation per unit of map),
#   and on real photos more of the map falls on the object.

# %%
# Setup: the same first cell in every lesson (profile, seeds, quiet logs; installs the course on Colab)
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "google.colab" in sys.modules and not os.path.isdir("/content/cnn-vis-course"):
    # !git clone -q --depth 1 https://github.com/cnn-vis-course/cnn-vis-course /content/cnn-vis-course
    # %pip install -q -e /content/cnn-vis-course
    sys.path.insert(0, "/content/cnn-vis-course")
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets
import vislib

cm = vislib.setup()  # the active model profile: VISLIB_MODEL, else vgg16 (offline: efficientnet_lite0)

# %% [markdown]
# ## The idea
#
# Let $M_c(x)$ be any explanation map of class $c$ for image $x$, e.g. the saliency map
# $\max_k |\partial S_c / \partial x_k|$. SmoothGrad averages it over $n$ noisy copies:
#
# $$\hat M_c(x) = \frac{1}{n} \sum_{i=1}^{n} M_c\big(x + \varepsilon_i\big), \qquad
# \varepsilon_i \sim \mathcal{N}(0, \sigma^2 I), \qquad \sigma = \text{noise} \cdot (x_{\max} - x_{\min}).$$
#
# It is a Monte-Carlo estimate of $\mathbb{E}_\varepsilon[M_c(x + \varepsilon)]$. For the
# *signed, unclipped* gradient this expectation is the gradient of a smoothed network (the
# class score averaged over the noise); the maps we draw take absolute values or a maximum over
# channels first, so they are the average of the maps, not the map of a smoothed network. Its sampling error shrinks like $1/\sqrt{n}$, so two runs with different
# noise agree more and more as $n$ grows. The paper finds noise levels of 10-20% of the pixel
# range best; the copies are clipped to the valid pixel range, and the class $c$ is decided
# once on the clean image so every copy explains the same class.

# %%
from vislib import clip_outliers   # gradient maps are drawn with their top 1 % capped (lesson 06)

images, labels, names = vislib.examples(cm, cm.pick(clothes=10, photos=6, heavy=2))   # photos are expensive
probs = cm.predict(images)
top1 = probs.argmax(1)
titles = [f"{cm.class_names[c][:14]} {probs[i, c]:.2f}" for i, c in enumerate(top1)]
SAMPLES = cm.pick(clothes=25, photos=10, heavy=8)   # on photos every sample is a gradient (VGG16: ~1.4/s)
NOISE = 0.15
lo, hi = cm.pixel_range
print(f"{len(images)} images; SmoothGrad with {SAMPLES} samples, noise {NOISE} "
      f"-> sigma = {NOISE * (hi - lo):.1f} grey levels")

def show(image):
    return image.astype("uint8").squeeze()

def gray(m):
    # a gradient map for display: top 1 % capped, scaled to [0, 1]
    return vislib.normalize_map(clip_outliers(m))


# %% [markdown]
# ## By hand
#
# Stack `SAMPLES` noisy copies of every image, clip them to the pixel range, compute the
# saliency map of each copy for the image's top-1 class, and average. The copies of all
# images go through the network together.

# %%
rng = np.random.default_rng(0)
sigma = NOISE * (hi - lo)
copies = np.repeat(images, SAMPLES, axis=0)                       # image i's copies are rows i*S ... i*S+S-1
noisy = np.clip(copies + sigma * rng.normal(size=copies.shape).astype(np.float32), lo, hi)
noisy_maps = vislib.saliency(cm, noisy, np.repeat(top1, SAMPLES))  # one map per noisy copy
sg_hand = noisy_maps.reshape(len(images), SAMPLES, *images.shape[1:3]).mean(axis=1)
vanilla = vislib.saliency(cm, images, top1)
print("noisy copies", noisy.shape, "-> maps", noisy_maps.shape, "-> SmoothGrad", sg_hand.shape)

# %%
i = 0
fig, axes = plt.subplots(1, 6, figsize=(13, 2.5))
axes[0].imshow(show(images[i]), cmap="gray"); axes[0].set_title(titles[i])
axes[1].imshow(show(noisy[i * SAMPLES]), cmap="gray"); axes[1].set_title(f"a noisy copy (sigma {sigma:.0f})")
axes[2].imshow(gray(vanilla[i]), cmap="gray"); axes[2].set_title("saliency")
for k in range(2):
    axes[3 + k].imshow(gray(noisy_maps[i * SAMPLES + k]), cmap="gray")
    axes[3 + k].set_title(f"saliency of copy {k + 1}")
axes[5].imshow(gray(sg_hand[i]), cmap="gray"); axes[5].set_title(f"mean of {SAMPLES}")
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# ## With vislib
#
# `vislib.smoothgrad(model, images, target=None, method=vislib.saliency, noise=0.15, samples=25, seed=0)`
# has the course's one call shape and wraps any method that has it (`method=`). With the same seed it draws the same noise as our
# hand-made version, so the maps must agree; with one sample and no noise it *is* the method.

# %%
sg = vislib.smoothgrad(cm, images, top1, noise=NOISE, samples=SAMPLES, seed=0)
assert sg.shape == images.shape[:3] and sg.dtype == np.float32
assert np.allclose(sg, sg_hand, rtol=1e-4, atol=1e-6 * sg_hand.max()), "vislib.smoothgrad differs from the hand version"
print("vislib.smoothgrad equals the hand version; largest difference", float(np.abs(sg - sg_hand).max()))
same = vislib.smoothgrad(cm, images, top1, noise=0.0, samples=1)
assert np.allclose(same, vanilla, rtol=1e-5), "one sample without noise must be plain saliency"

# %% [markdown]
# It works for any gradient method: here plain and guided backprop, each without and with
# SmoothGrad (the same number of samples).

# %%
rows = list(range(min(cm.pick(clothes=4, photos=3), len(images))))   # the images drawn below
gb = vislib.guided_backprop(cm, images[rows], top1[rows])
sg_gb = vislib.smoothgrad(cm, images[rows], top1[rows], noise=NOISE, samples=SAMPLES, method=vislib.guided_backprop)
columns = {"saliency": vanilla, "SmoothGrad": sg, "guided BP": gb, "SmoothGrad guided BP": sg_gb}
fig, axes = plt.subplots(len(rows), 5, figsize=(11, 2.3 * len(rows)), squeeze=False)
for r, i in enumerate(rows):
    axes[r, 0].imshow(show(images[i]), cmap="gray"); axes[r, 0].set_title(titles[i])
    for c, (name, m) in enumerate(columns.items()):
        axes[r, c + 1].imshow(gray(m[r if m is gb or m is sg_gb else i]), cmap="gray")
        if r == 0:
            axes[r, c + 1].set_title(name)
for ax in axes.ravel(): ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# ### How much noise?
#
# With no noise every copy is the image and the average is the plain map; a little noise
# already removes speckle; too much drowns the image, and the map blurs into broad blobs
# (on the cat photo at 60 % the eyes become two bright patches). One image, the same number
# of samples, growing noise:

# %%
levels = [0.0, 0.05, 0.15, 0.3, 0.6]
i = 0
by_noise = {lvl: vislib.smoothgrad(cm, images[i:i + 1], int(top1[i]), noise=lvl, samples=SAMPLES)[0]
            for lvl in levels}
fig, axes = plt.subplots(1, len(levels), figsize=(2.3 * len(levels), 2.6))
for ax, (lvl, m) in zip(axes, by_noise.items()):
    ax.imshow(gray(m), cmap="gray"); ax.set_title(f"noise {lvl:.0%}"); ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# ### "Less noisy", as a number
#
# Two SmoothGrad runs with different seeds see different noise. If the maps were pure
# speckle they would not correlate; if they show what the class depends on, they agree.
# We draw `N_MAX` noisy copies per image for two seeds once; the mean of the first $n$ maps
# is a SmoothGrad estimate with $n$ samples, so one pass gives the whole curve of the
# correlation between the two runs against $n$.
#
# We also measure roughness, the map's total variation per unit of mass,
#
# $$R(M) = \frac{\sum_{i,j} |M_{i+1,j} - M_{i,j}| + |M_{i,j+1} - M_{i,j}|}{2 \sum_{i,j} |M_{i,j}|},$$
#
# 0 for a constant map and large for speckle. Dividing by the map's mass instead of its
# maximum matters: a gradient map's maximum sits on a few outlier pixels, and a measure
# scaled by it would mostly measure those. (On photos the two-seed experiment uses the first
# three images, to keep the lesson fast; the roughness uses them all.)

# %%
N_MAX = cm.pick(clothes=32, photos=vislib.budget(16, 8), heavy=8)
ns = [n for n in (1, 2, 4, 8, 16, 32) if n <= N_MAX]
n_agree = cm.pick(clothes=len(images), photos=3)
agree_images, agree_top1 = images[:n_agree], top1[:n_agree]

def per_sample_maps(seed, n=N_MAX, noise=NOISE):
    # (N, n, H, W): the saliency maps of n noisy copies of every image
    r = np.random.default_rng(seed)
    rep = np.repeat(agree_images, n, axis=0)
    x = np.clip(rep + noise * (hi - lo) * r.normal(size=rep.shape).astype(np.float32), lo, hi)
    return vislib.saliency(cm, x, np.repeat(agree_top1, n)).reshape(len(agree_images), n, *images.shape[1:3])

def corr(a, b):
    # mean Pearson r over images between two stacks of maps
    return float(np.mean([np.corrcoef(p.ravel(), q.ravel())[0, 1] for p, q in zip(a, b)]))

def roughness(maps):
    # total variation per unit of mass, one value per map
    m = np.abs(np.asarray(maps, np.float64))
    tv = np.abs(np.diff(m, axis=1)).sum(axis=(1, 2)) + np.abs(np.diff(m, axis=2)).sum(axis=(1, 2))
    return tv / (2 * m.sum(axis=(1, 2)))

run_a, run_b = per_sample_maps(seed=1), per_sample_maps(seed=2)
agreement = {n: corr(run_a[:, :n].mean(1), run_b[:, :n].mean(1)) for n in ns}
rough = {n: float(roughness(run_a[:, :n].mean(1)).mean()) for n in ns}
rough_plain = float(roughness(vanilla[:len(agree_images)]).mean())
print("| samples | r(run A, run B) | roughness |")
print("|---:|---:|---:|")
print(f"| plain saliency | (same map every time) | {rough_plain:.3f} |")
for n in ns:
    print(f"| {n} | {agreement[n]:.3f} | {rough[n]:.3f} |")
rough_sal, rough_sg = roughness(vanilla), roughness(sg)
print(f"all {len(images)} images, roughness: saliency {np.round(rough_sal, 2)}, SmoothGrad ({SAMPLES} samples) "
      f"{np.round(rough_sg, 2)}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.plot(ns, [agreement[n] for n in ns], "o-")
ax1.set_xscale("log", base=2); ax1.set_xticks(ns, [str(n) for n in ns])
ax1.set_xlabel("samples n"); ax1.set_ylabel("r between two seeds"); ax1.set_ylim(0, 1.02)
ax1.set_title("reproducibility")
ax2.plot(ns, [rough[n] for n in ns], "o-", color="C1", label="SmoothGrad")
ax2.axhline(rough_plain, color="k", ls="--", label="plain saliency")
ax2.set_xscale("log", base=2); ax2.set_xticks(ns, [str(n) for n in ns])
ax2.set_xlabel("samples n"); ax2.set_ylabel("roughness"); ax2.set_ylim(0); ax2.set_title("smoothness")
ax2.legend(fontsize=8)
plt.tight_layout(); plt.show()

# %% [markdown]
# One noisy copy's map is as rough as the plain one; the average smooths quickly. On
# EfficientNet-Lite0 the roughness of the six photos falls from 0.62-0.69 (plain saliency)
# to about 0.25 with 10 samples.
#
# Smoother alone would not be worth much: averaging *any* noise makes it smoother. What
# stays after averaging should be what the class depends on. With the hand-drawn boxes we
# can check that it falls on the object: the share of the map inside the box, divided by
# the box's share of the image (1 = no better than a uniform map), and the pointing game
# (is the map's maximum inside the box?). As in lesson 06, only labelled images whose box
# covers less than 90 % of the image can tell (on the photos: rocket, palace, flower).

# %%
from vislib import metrics

boxes = vislib.example_boxes(cm, images)
H, W = cm.input_size
area = np.array([metrics.box_mask(b, (H, W)).mean() for b in boxes])
scored = (labels >= 0) & (area < 0.9)
in_box = {name: metrics.roi_fit(m, boxes) / area for name, m in (("saliency", vanilla), ("SmoothGrad", sg))}
points = {name: metrics.pointing_game(m, boxes) for name, m in (("saliency", vanilla), ("SmoothGrad", sg))}
for name in in_box:
    print(f"{name:>10}: share in box / box area on the scored images {np.round(in_box[name][scored], 2)}; "
          f"maximum inside the box on {points[name].sum()} of {len(images)} images")
gain = in_box["SmoothGrad"][scored].mean() - in_box["saliency"][scored].mean() if scored.any() else np.nan
if scored.any():
    print(f"on average SmoothGrad puts {'more' if gain > 0 else 'less'} of its map inside the box than the plain gradient "
          f"({in_box['SmoothGrad'][scored].mean():.2f} against {in_box['saliency'][scored].mean():.2f})")

# %% [markdown]
# On EfficientNet-Lite0 the plain gradient is spread as evenly as the box's area (ratios
# 0.96-1.03 on the rocket, the palace and the flower), and its maximum misses the rocket
# and the flower. SmoothGrad's map puts 1.26-2.5 times the box's share on the object, and
# its maximum falls in the box on all six photos: the averaging removed speckle *and* kept
# the object. On the clothes this need not happen (the last line above says which way it
# went): every noisy copy turns the black background, which the network only ever saw
# black, into grey speckle, and the gradient there grows.

# %% [markdown]
# ## Explore
#
# Choose an image, a method, the noise level and the number of samples. Every new
# combination is computed once and cached; switching between the map and the overlay only
# redraws.

# %%
METHODS = {"saliency": vislib.saliency, "guided backprop": vislib.guided_backprop}
sg_cache = {}

def smooth_map(i, method, noise, samples):
    key = (i, method, round(noise, 3), samples)
    if key not in sg_cache:
        sg_cache[key] = vislib.smoothgrad(cm, images[i:i + 1], int(top1[i]),
                                          noise=noise, samples=samples, method=METHODS[method])[0]
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
            ax.imshow(gray(m), cmap="gray")
        ax.set_title(name, fontsize=9)
    for ax in axes: ax.axis("off")
    plt.tight_layout(); plt.show()

picker = [(f"{k}: {n}", k) for k, n in enumerate(names)]
sample_choices = cm.pick(clothes=[1, 5, 10, 25, 50], photos=[1, 5, 10, 25])
vislib.explorer(show_smoothgrad, heavy=("image", "method", "noise", "samples"),
                image=widgets.Dropdown(options=picker, description="image"),
                method=widgets.Dropdown(options=list(METHODS), description="method"),
                noise=widgets.FloatSlider(value=NOISE, min=0.0, max=0.5, step=0.05, description="noise"),
                samples=widgets.SelectionSlider(options=sample_choices, value=10, description="samples"),
                view=widgets.ToggleButtons(options=["map", "overlay"], description="view"))

# %% [markdown]
# ## What to notice
#
# - SmoothGrad by hand and `vislib.smoothgrad` agree; one sample without noise is the plain method.
# - Averaging over more samples makes two independent runs agree more: the correlation between
#   seeds rises from one sample to the largest count.
# - With trained weights the averaged maps are smoother than the plain saliency map. With
#   real ImageNet weights the check is on every photo: SmoothGrad's roughness at most 0.6
#   times the plain map's (measured on EfficientNet-Lite0: 0.36-0.41 times).
# - With real ImageNet weights SmoothGrad puts more of its map on the object than a uniform
#   map would, on every scored photo (checked: at least 1.15 times the box's share and more
#   than the plain gradient; measured 1.26-2.51 against 0.96-1.03).
# - Noise 0 leaves the map unchanged however many samples are taken (every copy is the image).

# %%
print({n: round(r, 3) for n, r in agreement.items()})
assert agreement[ns[-1]] > agreement[ns[0]], agreement
assert np.allclose(by_noise[0.0], vanilla[0], rtol=1e-4, atol=1e-7)
if cm.weights == "trained":   # the offline clothes model
    assert rough[ns[-1]] < rough_plain, (rough, rough_plain)
if cm.real_imagenet:
    ratio = rough_sg / rough_sal
    vislib.claim(cm, (ratio <= 0.6).all(), f"SmoothGrad ({SAMPLES} samples) is less rough than plain saliency on every "
                                          f"photo: total variation per unit mass {np.round(ratio, 2).tolist()} times "
                                          f"the plain map's (at most 0.6)")
    sg_in, sal_in = in_box["SmoothGrad"][scored], in_box["saliency"][scored]
    if scored.any():   # VGG16 runs on two photos, both close-ups whose box is the whole image
        vislib.claim(cm, (sg_in >= 1.15).all() and (sg_in > sal_in).all(),
                     f"on the {scored.sum()} labelled photos whose box is smaller than the image, SmoothGrad puts "
                     f"{np.round(sg_in, 2).tolist()} times the box's area share inside the box (at least 1.15), "
                     f"more than plain saliency ({np.round(sal_in, 2).tolist()})")

# %% [markdown]
# ## Exercises
#
# 1. How large is sigma, in grey levels, for a noise level of 0.2 on this profile? Set `sigma_20`.
# 2. Compute SmoothGrad of **guided backprop** for the first image with 5 samples and seed 0
#    (`vislib.smoothgrad`) and store the (H, W) map in `sg_guided`.
# 3. By how much did the correlation between the two seeds grow from 1 sample to the
#    largest count? Set `r_gain` (use `agreement`).

# %%
sigma_20 = None          # your answer
sg_guided = None         # your answer
r_gain = None            # your answer

vislib.check(sigma_20, 0.2 * (hi - lo), hint="the noise level is a fraction of the pixel range (max - min), cm.pixel_range",
             name="1. sigma")
vislib.check(sg_guided, vislib.smoothgrad(cm, images[:1], samples=5, seed=0, method=vislib.guided_backprop)[0],
             tol=1e-4, hint="smoothgrad averages any gradient method over noisy copies: tell it which method to average",
             name="2. SmoothGrad of guided backprop")
vislib.check(r_gain, agreement[ns[-1]] - agreement[ns[0]], tol=1e-3,
             hint="the agreement at the largest sample count minus the agreement at one sample", name="3. gain in agreement");

# %% [markdown]
# ## Summary
#
# - SmoothGrad averages an explanation over noisy copies of the image:
#   $\hat M_c(x) = \frac{1}{n}\sum_i M_c(x + \varepsilon_i)$, with $\sigma$ a fraction of the
#   pixel range (10-20% works well).
# - `vislib.smoothgrad(model, images, method=...)` is one wrapper for every gradient method; the target is
#   fixed on the clean image, the copies are clipped to the pixel range and batched.
# - "Less noisy" is measurable: independent runs agree more as the samples grow (the error
#   falls like $1/\sqrt{n}$), the maps get smoother (total variation per unit of mass), and
#   on real photos more of the map falls on the object. The price is $n$ backward passes
#   per image instead of one.
#
# ## References
#
# - D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg. *SmoothGrad: removing noise by adding noise.* ICML workshop on visualization for deep learning 2017.
# - K. Simonyan, A. Vedaldi, A. Zisserman. *Deep Inside Convolutional Networks: Visualising Image Classification Models and Saliency Maps.* ICLR workshop 2014.
# - J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for Simplicity: The All Convolutional Net.* ICLR workshop 2015.
# - S. Hooker, D. Erhan, P.-J. Kindermans, B. Kim. *A Benchmark for Interpretability Methods in Deep Neural Networks.* NeurIPS 2019 (SmoothGrad-Squared).
