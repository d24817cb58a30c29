# %% [markdown]
# # 06 · Saliency and guided backpropagation
#
# Occlusion (lesson 05) asked the network one question per grey square. A single
# backward pass asks all pixels at once: *if this pixel changed a little, how much would
# the class score change?* The answer is the gradient of the score with respect to the
# image, drawn as a picture: a **saliency map**. This lesson computes it by hand, draws
# its sharper cousin **guided backpropagation**, measures how little either cares about
# *which* class you ask for, and tries to cut the object out of the image with it.
#
# ## What you will learn
# - the image gradient $\partial S_c / \partial x$ and why we take it on the pre-softmax score;
# - how to compute it with `tf.GradientTape` in a few lines, and with `vislib.saliency`;
# - why the map takes the maximum over colour channels;
# - what guided backpropagation changes, and why its maps look so clean;
# - a measured fact: gradient maps barely change with the class asked for, Grad-CAM's do;
# - how far a thresholded saliency map gets as an object mask.

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
# Near an image $x_0$ the class score $S_c$ (the logit, before the softmax) is almost
# linear (Simonyan et al. 2014):
#
# $$S_c(x) \approx w^\top x + b, \qquad w = \left.\frac{\partial S_c}{\partial x}\right|_{x_0}.$$
#
# The weight $w_{ijk}$ says how much the score moves per unit change of pixel $(i, j)$ in
# colour channel $k$. The saliency map keeps its size, taking the largest magnitude over
# the channels:
#
# $$M_{ij} = \max_k \left| w_{ijk} \right|.$$
#
# We differentiate $S_c$, not the probability $p_c$: $p_c$ can also rise by *lowering the
# other classes*, so its gradient mixes in evidence about them.
#
# **Guided backpropagation** (Springenberg et al. 2015) changes only the backward pass
# through each ReLU. Plain backprop passes a gradient $R$ where the forward input was
# positive; guided backprop also requires the gradient itself to be positive:
#
# $$R^{\text{in}} = \mathbb{1}[z > 0]\; R^{\text{out}} \quad\text{(plain)}, \qquad
# R^{\text{in}} = \mathbb{1}[z > 0]\;\mathbb{1}[R^{\text{out}} > 0]\; R^{\text{out}} \quad\text{(guided)}.$$

# %%
images, labels, names = vislib.examples(cm, 10)   # 10 clothes offline, the 6 sample photos on ImageNet profiles
probs = cm.predict(images)
order = np.argsort(-probs, axis=1)
top1, top2 = order[:, 0], order[:, 1]
titles = [f"{cm.class_names[c]} {probs[i, c]:.2f}" for i, c in enumerate(top1)]
print(len(images), "images; top-1:", [cm.class_names[c] for c in top1])

# %% [markdown]
# ## By hand
#
# The classifier's last layer is a `Dense` layer with the softmax built in. We run
# everything before it, apply its kernel and bias ourselves to get the logits, and let
# `tf.GradientTape` differentiate the top-1 logit with respect to the *display* pixels
# (so the preprocessing sits inside the tape). Each image's score depends only on its own
# pixels, so one tape over the sum of the scores gives every image's gradient. An eager
# tape keeps every layer's output of every image until `tape.gradient` returns (about
# 60 MB per photo on VGG16, 100 MB on EfficientNet-Lite0), so on the photo networks we take
# only the first three photos here (two on VGG16).

# %%
import keras
import tensorflow as tf

head = cm.model.layers[-1]                          # Dense classifier (softmax inside)
body = keras.Model(cm.model.inputs, head.input)     # everything before it, same weights

n_hand = cm.pick(clothes=len(images), photos=3, heavy=2)   # a few photos keep the tape under Binder's 2 GB
x = tf.convert_to_tensor(images[:n_hand])           # display pixels, 0-255
with tf.GradientTape() as tape:
    tape.watch(x)
    logits = body(cm.preprocess(x), training=False) @ head.kernel + head.bias   # S_c, before softmax
    score = tf.reduce_sum(tf.gather(logits, top1[:n_hand], batch_dims=1))              # each image's top-1 score
grads = tape.gradient(score, x).numpy()             # dS/dx: (N, H, W, C)
hand = np.abs(grads).max(axis=-1)                   # max over colour channels: (N, H, W)
print("gradient", grads.shape, "-> saliency", hand.shape)

# %% [markdown]
# The signed gradient (red: brighter would raise the score, blue: lower it), each colour
# channel's magnitude, and their maximum, the saliency map. Drawn in grey like Simonyan et
# al.'s figures, each map with its top 1 % of values capped (as captum's `outlier_perc` does):
# on a trained network a handful of pixels hold gradients many times larger than the rest,
# and scaled to that maximum the map would look black.

# %%
from vislib import clip_outliers   # cap a map's top 1 % for display (lesson text below)

i = 0
chans = np.abs(grads[i])
fig, axes = plt.subplots(1, 3 + cm.channels, figsize=(2.3 * (3 + cm.channels), 2.6))
axes[0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(titles[i])
lim = np.abs(grads[i].sum(-1)).max()
axes[1].imshow(grads[i].sum(-1), cmap="RdBu_r", vmin=-lim, vmax=lim); axes[1].set_title("signed gradient")
for k in range(cm.channels):
    axes[2 + k].imshow(clip_outliers(chans[..., k]), cmap="gray"); axes[2 + k].set_title(f"|grad| channel {k}")
axes[-1].imshow(clip_outliers(hand[i]), cmap="gray"); axes[-1].set_title("max over channels")
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# ## With vislib
#
# `vislib.saliency(model, images, target=None)` is the same computation, batched and
# compiled once per model; `target=None` means each image's top-1 class. It returns raw
# gradient magnitudes (not rescaled), so it must equal our hand-made map, up to float
# rounding: the compiled graph rounds the last digits differently, and on a ReLU6 network a
# unit that sits within rounding distance of a kink (0 or 6) can fall on the other side of
# it, which changes the gradient of a few pixels. On EfficientNet-Lite0 this happens to one
# unit (in `block6a`) for the astronaut photo and moves the map by 0.14 % of its maximum;
# the other photos agree to better than 1e-5. The check allows 1 %.
# `vislib.guided_backprop` has the same call shape; it runs on a copy of the network that
# shares its weights and gates the gradient after every ReLU, so `cm.model` is never changed.

# %%
sal = vislib.saliency(cm, images)                 # (N, H, W), max_c |dS/dx_c| for the top-1 class
assert sal.shape == images.shape[:3] and sal.dtype == np.float32
err = float(np.abs(sal[:n_hand] - hand).max() / max(hand.max(), 1e-30))
print(f"largest difference between vislib.saliency and the tape: {err:.1e} of the map's maximum")
if cm.weights in ("trained", "imagenet"):   # random ImageNet nets score ~1e-11: float32 rounding dominates
    assert err < 1e-2, "vislib.saliency differs from the tape"

gb = vislib.guided_backprop(cm, images)           # same call shape, guided ReLU gradients

# %%
show = list(range(min(6, len(images))))
fig, axes = plt.subplots(len(show), 3, figsize=(7, 2.3 * len(show)), squeeze=False)
for r, i in enumerate(show):
    axes[r, 0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[r, 0].set_title(titles[i])
    axes[r, 1].imshow(clip_outliers(sal[i]), cmap="gray"); axes[r, 1].set_title("saliency")
    axes[r, 2].imshow(clip_outliers(gb[i]), cmap="gray"); axes[r, 2].set_title("guided backprop")
for ax in axes.ravel(): ax.axis("off")
plt.tight_layout(); plt.show()


# %% [markdown]
# On the photos the plain gradient is speckled but shows the image's structure: the rims
# of the cup and the saucer, the cat's eyes and nose, the palace's eaves. Guided backprop
# is sparser and follows the object's edges more closely (on EfficientNet-Lite0 it also
# carries a fine checkerboard: the footprint of the stride-2 convolutions in the backward
# pass, the artefact Odena et al. 2016 describe for transposed convolutions). Is it cleaner
# because it explains the *class* better? A map that explains "why class $c$" should change
# when we ask about another class. Let us measure it.
#
# ### Do the maps depend on the class?
#
# For every image we compute each map for the top-1 class, for the top-2 class and for the
# least likely of all classes, and correlate the top-1 map with each of the others
# (Pearson's $r$ over pixels: 1 = the same picture). Grad-CAM (lesson 08) is added as a
# yardstick: it weights the last conv layer's feature maps by the class's gradient, so it is
# built to be class-discriminative.

# %%
def corr(a, b):
    # Pearson r per image between two stacks of maps (0 when a map is constant)
    out = []
    for p, q in zip(a, b):
        ok = p.std() > 0 and q.std() > 0
        out.append(np.corrcoef(p.ravel(), q.ravel())[0, 1] if ok else 0.0)
    return np.array(out)

METHODS = {"saliency": vislib.saliency, "guided backprop": vislib.guided_backprop, "Grad-CAM": lambda m, x, t: vislib.gradcam(m, x, t, normalize=True)}
last = order[:, -1]                                 # each image's least likely class
first_maps = {"saliency": sal, "guided backprop": gb, "Grad-CAM": vislib.gradcam(cm, images, top1, normalize=True)}
pairs = {name: (first_maps[name], fn(cm, images, top2)) for name, fn in METHODS.items()}
far = {name: fn(cm, images, last) for name, fn in METHODS.items()}
same = {name: corr(a, b) for name, (a, b) in pairs.items()}
same_far = {name: corr(first_maps[name], far[name]) for name in METHODS}
for name in METHODS:
    print(f"{name:>16s}: r(top-1, top-2) = {same[name].mean():.2f}  per image {np.round(same[name], 2)}")
    print(f"{'':>16s}  r(top-1, least likely) = {same_far[name].mean():.2f}  per image {np.round(same_far[name], 2)}")

# %%
fig, (ax, *rest) = plt.subplots(1, 4, figsize=(12, 2.8), gridspec_kw={"width_ratios": [1.6, 1, 1, 1]})
xs = np.arange(len(METHODS))
for k, (label, r) in enumerate([("top-2 class", same), ("least likely class", same_far)]):
    ax.bar(xs + (k - 0.5) * 0.38, [r[n].mean() for n in METHODS], 0.38, yerr=[r[n].std() for n in METHODS],
           capsize=3, label=label)
ax.set_xticks(xs, list(METHODS), fontsize=8); ax.legend(fontsize=7)
ax.set_ylabel("r with the top-1 map"); ax.set_ylim(-1, 1.05); ax.axhline(0, color="k", lw=0.5)
ax.set_title(f"mean over {len(images)} images")
i = 1                                               # the second image (on the photos: the espresso)
for a, name in zip(rest, METHODS):
    pair = [vislib.normalize_map(clip_outliers(m)) for m in (first_maps[name][i], far[name][i])]
    a.imshow(np.concatenate(pair, axis=1), cmap="inferno")
    a.set_title(f"{name}: {cm.class_names[top1[i]][:10]} | {cm.class_names[last[i]][:10]}", fontsize=8)
    a.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# Guided backprop hardly changes with the class: it reconstructs the image's edges
# (Nie et al. 2018 argue, from an analysis of a simplified network and experiments, that it mostly does image recovery, and Adebayo et al. 2018 find
# its maps survive even randomised weights). On EfficientNet-Lite0 its map for the least
# likely of the 1000 classes correlates with the top-1 map at $r \geq 0.98$ on every
# photo. Grad-CAM's map moves with the class: for the least likely class it correlates
# *negatively* with the top-1 map (it points at other parts of the image), or is empty.
# The top-2 class is not a good test on ImageNet: it is often a close cousin (tiger cat vs
# Egyptian cat, missile vs projectile), so Grad-CAM points at the same object for both (mean
# $r$ = 0.93 on the photos) and the noisy plain gradient looks *more* class-dependent
# (0.68). There the plain gradient sits in between for a distant class (about 0.5).
#
# ### A saliency map as an object mask
#
# Simonyan et al. (2014) turned saliency maps into object boxes without ever training on
# boxes (they seeded a colour segmentation with the map's brightest pixels). The crude
# version: keep the pixels above a percentile of the map and compare this mask with the
# object's box by intersection over union, $\mathrm{IoU} = |M \cap B| / |M \cup B|$. A random
# mask of the same size is the baseline: its expected IoU is $qb / (q + b - qb)$ for mask
# fraction $q$ and box fraction $b$. The boxes are hand-annotated for the sample photos
# (`data/annotations.json`) and, for Fashion-MNIST, the bounding box of the item on its
# black background. A box that covers (nearly) the whole image cannot tell a good mask
# from a random one (the cat's face, the cup), so we score the labelled images whose box
# covers less than 90 % of the image: on the photos the rocket, the palace and the flower.

# %%
boxes = vislib.example_boxes(cm, images)   # hand-drawn boxes on photos, the item's bounding box offline
H, W = cm.input_size
regions = []
for bs in boxes:                       # union of an image's boxes as a boolean region
    r = np.zeros((H, W), bool)
    for x0, y0, x1, y1 in bs:
        r[y0:y1, x0:x1] = True
    regions.append(r)

def mask_iou(smap, region, percentile):
    # IoU of the pixels above the percentile with the region, and the random-mask baseline
    mask = smap >= np.percentile(smap, percentile)
    q, b = mask.mean(), region.mean()
    return (mask & region).sum() / (mask | region).sum(), q * b / (q + b - q * b), mask

area = np.array([r.mean() for r in regions])
scored = (labels >= 0) & (area < 0.9)              # labelled images whose box leaves part of the image out
print("scored:", [n for n, k in zip(names, scored) if k][:8], "..." if scored.sum() > 8 else "")

def iou_table(percentile, maps=sal):
    # (IoU of the mask, IoU of a random mask of the same size) per scored image
    return np.array([mask_iou(m, r, percentile)[:2] for m, r, k in zip(maps, regions, scored) if k])

for name, m in (("saliency", sal), ("guided backprop", gb)):
    for p in (50, 70, 90):
        t = iou_table(p, m)
        print(f"{name:>16s}, percentile {p}: mean IoU {t[:, 0].mean():.3f}  (random mask: {t[:, 1].mean():.3f})")


# %%
def show_mask(image, method, percentile):
    i, m = image, {"saliency": sal, "guided backprop": gb}[method][image]
    iou, base, mask = mask_iou(m, regions[i], percentile)
    fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
    axes[0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(titles[i])
    vislib.draw_boxes(axes[0], boxes[i])
    axes[1].imshow(clip_outliers(m), cmap="gray"); axes[1].set_title(method)
    axes[2].imshow(mask, cmap="gray"); vislib.draw_boxes(axes[2], boxes[i])
    axes[2].set_title(f"top {100 - percentile}% pixels: IoU {iou:.2f} (random {base:.2f})")
    for ax in axes: ax.axis("off")
    plt.tight_layout(); plt.show()

picker = [(f"{k}: {n}", k) for k, n in enumerate(names)]
vislib.explorer(show_mask, image=widgets.Dropdown(options=picker, description="image"),
                method=widgets.Dropdown(options=["saliency", "guided backprop"], description="map"),
                percentile=widgets.IntSlider(value=60, min=0, max=98, step=2, description="percentile"))

# %% [markdown]
# On EfficientNet-Lite0 the plain gradient's mask is no better than a random one: at the
# 60th percentile its IoU is 0.93-1.05 times the random mask's on the rocket, the palace
# and the flower. The speckle is spread over the whole photo (lesson 07 averages it away).
# Guided backprop's mask beats chance on all three (1.55-2.0 times: its bright pixels are the
# object's edges), the kind of map Simonyan et al.'s segmentation needs.
#
# ## Explore
#
# Pick an image, a method and which class to explain (the image's top-1 to top-5).
# Each map needs a backward pass, so it is computed once and cached; switching between the
# plain map and the overlay only redraws.

# %%
maps_cache = {}

def explain(i, method, rank):
    key = (i, method, rank)
    if key not in maps_cache:
        cls = int(order[i, rank])
        maps_cache[key] = (cls, METHODS[method](cm, images[i:i + 1], cls)[0])
    return maps_cache[key]

def show_explanation(image, method, rank, view):
    cls, m = explain(image, method, rank)
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(images[image].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(names[image])
    if view == "overlay":
        axes[1].imshow(vislib.overlay(images[image], m, alpha=0.5))
    else:
        axes[1].imshow(clip_outliers(m), cmap="inferno")
    axes[1].set_title(f"{method}: {cm.class_names[cls]} ({probs[image, cls]:.2f})", fontsize=9)
    for ax in axes: ax.axis("off")
    plt.tight_layout(); plt.show()

vislib.explorer(show_explanation, heavy=("image", "method", "rank"),
                image=widgets.Dropdown(options=picker, description="image"),
                method=widgets.Dropdown(options=list(METHODS), description="method"),
                rank=widgets.Dropdown(options=[(f"top-{r + 1}", r) for r in range(5)], description="class"),
                view=widgets.ToggleButtons(options=["map", "overlay"], description="view"))

# %% [markdown]
# ## What to notice
#
# - The tape and `vislib.saliency` agree; saliency is a magnitude, never negative.
# - Guided backprop is not the plain gradient: gating negative gradients changes the map.
# - Asking for another class changes every saliency map a little. On the offline clothes
#   model the plain gradient's top-1 and top-2 maps are more alike than Grad-CAM's, and
#   guided backprop's are the most alike of all. With real ImageNet weights the top-2 class
#   is too close a cousin to tell; the least likely class is the test: guided backprop's
#   map barely moves ($r \geq 0.95$ is checked, 0.986 was the lowest measured on
#   EfficientNet-Lite0), Grad-CAM's turns away ($r \leq 0.3$ is checked; at most -0.17 was
#   measured, or an empty map).
# - On the clothes, the brightest pixels of the saliency map fall on the item more often
#   than chance. On the ImageNet photos the plain gradient's mask is at chance (checked:
#   within 0.8-1.2 times the random IoU on average, measured 1.00) while guided backprop's
#   beats it on every scored photo (checked: at least 1.2 times; measured 1.55-2.0).

# %%
assert (sal >= 0).all() and (gb >= 0).all()
assert not np.allclose(vislib.normalize_map(gb), vislib.normalize_map(sal), atol=1e-3)
assert all(not np.allclose(vislib.normalize_map(a), vislib.normalize_map(b), atol=1e-3)
           for a, b in zip(*pairs["saliency"]))   # the class does change the gradient
mean_r = {n: float(r.mean()) for n, r in same.items()}
print({n: round(v, 3) for n, v in mean_r.items()})
if cm.weights == "trained":   # measured on the offline models (ImageNet's top-2 is often a look-alike class)
    assert mean_r["saliency"] > mean_r["Grad-CAM"], mean_r
    assert mean_r["guided backprop"] > mean_r["Grad-CAM"], mean_r
    assert mean_r["guided backprop"] > mean_r["saliency"], mean_r
if cm.real_imagenet:
    r_gb, r_gc = same_far["guided backprop"], same_far["Grad-CAM"]
    vislib.claim(cm, (r_gb >= 0.95).all(), f"guided backprop's map for the least likely class correlates with the "
                                           f"top-1 map at r >= 0.95 on every photo (here {r_gb.min():.3f} at least)")
    vislib.claim(cm, (r_gc <= 0.3).all(), f"Grad-CAM's map for the least likely class correlates with the top-1 map "
                                          f"at r <= 0.3 on every photo (here {r_gc.max():.2f} at most)")

# %%
t, t_gb = iou_table(60), iou_table(60, gb)
print(f"IoU at the 60th percentile: saliency mask {t[:, 0].mean():.3f}, guided backprop mask {t_gb[:, 0].mean():.3f}, "
      f"random mask {t[:, 1].mean():.3f}")
assert ((t >= 0) & (t <= 1)).all()
if cm.weights == "trained":   # the offline clothes model
    assert t[:, 0].mean() > t[:, 1].mean()
if cm.real_imagenet:
    sal_ratio, gb_ratio = t[:, 0] / t[:, 1], t_gb[:, 0] / t_gb[:, 1]
    vislib.claim(cm, 0.8 <= sal_ratio.mean() <= 1.2, f"the plain saliency mask is at chance: its IoU is "
                 f"{sal_ratio.mean():.2f} times a random mask's on average (checked: 0.8-1.2)")
    vislib.claim(cm, len(gb_ratio) >= 3 and (gb_ratio >= 1.2).all(), f"guided backprop's mask beats a random one on "
                 f"every scored photo: IoU ratio {np.round(gb_ratio, 2).tolist()} (checked: at least 1.2)")

# %% [markdown]
# ## Exercises
#
# 1. Compute the saliency map of the first image for its **second** most likely class with
#    `vislib.saliency` and store the (H, W) map in `second_map`.
# 2. Reduce `grads[0]` (our hand-made gradient) over the colour channels by the **mean** of
#    the absolute values instead of the maximum; store it in `mean_map`.
# 3. Which of the three methods changed least between the top-1 and top-2 class? Set
#    `least_discriminative` to its name as written in `METHODS`.
# 4. Which percentile in 10, 20, ..., 90 gives the highest mean IoU of the saliency mask?
#    Set `best_percentile` (use `iou_table`).

# %%
second_map = None          # your answer
mean_map = None            # your answer
least_discriminative = None
best_percentile = None

vislib.check(second_map, vislib.saliency(cm, images[:1], int(top2[0]))[0], tol=1e-3,
             hint="the same call as for the top-1 map, with the second most likely class as the target", name="1. second class")
vislib.check(mean_map, vislib.saliency(cm, images[:1], reduce="mean")[0], tol=1e-3,
             hint="absolute values first, then the mean over the colour axis (the last one) instead of the maximum", name="2. mean over channels")
vislib.check(least_discriminative, max(mean_r, key=mean_r.get),
             hint="the highest bar in the chart", name="3. least class-discriminative")
vislib.check(best_percentile, max(range(10, 100, 10), key=lambda p: iou_table(p)[:, 0].mean()),
             hint="compute the mean IoU of the saliency mask for every percentile and keep the best one", name="4. best percentile");

# %% [markdown]
# ## Summary
#
# - The saliency map is $\max_k |\partial S_c / \partial x_{ijk}|$: one backward pass of the
#   pre-softmax class score, taken through the preprocessing to the display pixels.
# - `vislib.saliency` and `vislib.guided_backprop` share one call shape,
#   `(model, images, target=None) -> (N, H, W)`; both leave the model untouched.
# - Gradient maps of a trained network put their maximum on a few pixels: draw them with
#   the top 1 % capped (or you see a black square), in grey as Simonyan et al. did.
# - Guided backprop draws crisp edges, but its maps barely change with the class, even for
#   the least likely one: it shows *what is in the image* more than *why this class*. The
#   plain gradient is noisy (lesson 07 smooths it) and only partly class-dependent.
#   Grad-CAM (lesson 08) is built to be class-discriminative.
# - The brightest pixels make a crude object mask: on the clothes the plain gradient's beats
#   chance; on the ImageNet photos only guided backprop's does, and neither is a segmentation.
#
# ## References
#
# - K. Simonyan, A. Vedaldi, A. Zisserman. *Deep Inside Convolutional Networks: Visualising Image Classification Models and Saliency Maps.* ICLR workshop 2014.
# - J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for Simplicity: The All Convolutional Net.* ICLR workshop 2015.
# - R. R. Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization.* ICCV 2017.
# - W. Nie, Y. Zhang, A. Patel. *A Theoretical Explanation for Perplexing Behaviors of Backpropagation-based Visualizations.* ICML 2018.
# - J. Adebayo et al. *Sanity Checks for Saliency Maps.* NeurIPS 2018.
# - A. Odena, V. Dumoulin, C. Olah. *Deconvolution and Checkerboard Artifacts.* Distill 2016.
