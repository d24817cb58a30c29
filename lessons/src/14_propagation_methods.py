# %% [markdown]
# # 14 · Propagation methods and their axioms: deconvnet, LRP, Integrated Gradients
#
# Lesson 06 sent the class score back through the network as a gradient, and guided
# backprop changed what each ReLU lets through on the way back. This lesson takes that idea
# to its three best-known relatives: the **deconvnet** of Zeiler & Fergus (the method guided
# backprop modifies), **Layer-wise Relevance Propagation** (Bach et al. 2015), which
# hands the score itself down layer by layer so that it is *conserved*, and **Integrated
# Gradients** (Sundararajan et al. 2017), which integrates the gradient along a path so that
# the map *adds up* to the change of the score. Each comes with a property you can check on
# your own screen, and we check it.
#
# ## What you will learn
# - the three backward ReLU rules (gradient, deconvnet, guided) as one switch, and which of
#   them looks at the forward pass;
# - LRP's epsilon, $z^+$ and $z^B$ rules, computed by hand on a 4-pixel network, and how a
#   composite assigns them to layers;
# - Integrated Gradients, its baseline and its number of steps, and how close the map comes
#   to completeness;
# - what cascading weight randomisation (lesson 12) does to these maps.

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
# **Three backward ReLU rules.** Write $z$ for a ReLU's input and $R$ for the signal arriving
# from above. The methods differ only in what the ReLU passes back:
#
# | method | passes back | looks at |
# |---|---|---|
# | gradient (saliency) | $\mathbb{1}[z > 0]\,R$ | the forward input |
# | deconvnet (Zeiler & Fergus 2014) | $\max(R, 0)$ | the backward signal |
# | guided backprop (Springenberg et al. 2015) | $\mathbb{1}[z > 0]\,\max(R, 0)$ | both |
#
# The deconvnet never asks which units were on: apart from max-pooling's switches, its map
# does not depend on the forward pass at all.
#
# **LRP** starts with the relevance $R = S_c(x)$, the target's pre-softmax score, and hands it
# down one layer at a time. A layer $z_k = \sum_j a_j w_{jk} + b_k$ gives each input $a_j$ its
# share of each output's relevance:
#
# $$R_j = \sum_k \frac{a_j w_{jk}}{z_k + \epsilon\,\mathrm{sign}(z_k)} R_k \quad(\epsilon),\qquad
# R_j = \sum_k \frac{(a_j w_{jk})^+}{\sum_{j'} (a_{j'} w_{j'k})^+} R_k \quad(z^+),$$
#
# $$R_i = \sum_k \frac{x_i w_{ik} - l_i w_{ik}^+ - h_i w_{ik}^-}{\sum_{i'} (x_{i'} w_{i'k} - l_{i'} w_{i'k}^+ - h_{i'} w_{i'k}^-)} R_k
# \quad(z^B,\ \text{pixels with } l_i \le x_i \le h_i).$$
#
# The shares of each $R_k$ sum to one, so relevance is **conserved** layer by layer, except
# what the biases and $\epsilon$ keep. Montavon et al. (2019) recommend a *composite*: $z^B$
# on the pixels, $z^+$ on the conv layers, $\epsilon$ on the dense layers.
#
# **Integrated Gradients** average the gradient on the straight path from a baseline image
# $x'$ to the image $x$:
#
# $$\mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1 \frac{\partial S_c}{\partial x_i}\big(x' + \alpha (x - x')\big)\,d\alpha,
# \qquad \sum_i \mathrm{IG}_i(x) = S_c(x) - S_c(x') \quad\text{(completeness)}.$$
#
# The integral becomes a sum over `steps` points of the path (trapezoid rule), so the
# completeness error is a quadrature error, and shrinks with more steps.

# %% [markdown]
# ## By hand
#
# A network small enough to write out: 4 pixels, 3 ReLU units, 2 classes. Its weights are
# set by hand, its pixels lie in $[0, 4]$ (we tell vislib so, for the $z^B$ rule).

# %%
import dataclasses
import keras

W1 = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0], [-1.0, 0.5, 1.0], [1.0, 1.0, -0.5]])
b1 = np.array([0.0, -0.5, -1.5])
W2 = np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 0.5]])
b2 = np.array([0.0, 0.0])

inp = keras.Input((1, 4, 1))
hidden = keras.layers.Dense(3, activation="relu", name="hidden")(keras.layers.Flatten()(inp))
net = keras.Model(inp, keras.layers.Dense(2, activation="softmax", name="out")(hidden))
net.get_layer("hidden").set_weights([W1, b1])
net.get_layer("out").set_weights([W2, b2])
tiny = dataclasses.replace(vislib.as_course(net), pixel_range=(0.0, 4.0))

x = np.array([3.0, 1.0, 2.0, 4.0])            # the 4 pixels
relu = lambda v: np.maximum(v, 0)
z1 = x @ W1 + b1; a1 = relu(z1); z2 = a1 @ W2 + b2
c = 0                                          # explain class 0
print("hidden pre-activations z1 =", z1, " logits z2 =", z2)

def on_net(fn, **options):                     # a vislib method on our 4-pixel image, as 4 numbers
    return fn(tiny, x.reshape(1, 1, 4, 1), c, reduce=None, **options).reshape(4)


# %% [markdown]
# The three ReLU rules. The signal reaching the hidden ReLUs is $W_2[:, c]$; each rule gates
# it, and $W_1^\top$ carries it to the pixels.

# %%
r = W2[:, c]
by_hand = {
    "gradient": ((z1 > 0) * r) @ W1.T,
    "deconvnet": relu(r) @ W1.T,
    "guided": ((z1 > 0) * relu(r)) @ W1.T,
}
by_vislib = {"gradient": on_net(vislib.saliency), "deconvnet": on_net(vislib.deconvnet),
             "guided": on_net(vislib.guided_backprop)}
for name in by_hand:
    print(f"{name:>9s}: by hand {np.round(by_hand[name], 3)}  vislib {np.round(by_vislib[name], 3)}")
    assert np.allclose(by_hand[name], by_vislib[name], atol=1e-5)

# %% [markdown]
# Hidden units 0 and 1 are on, unit 2 is off; the signal $W_2[:, 0] = (1, -1, 1)$ is negative
# at unit 1. So the gradient passes $(1, -1, 0)$, guided backprop $(1, 0, 0)$ (on *and*
# positive) and the deconvnet $(1, 0, 1)$ (positive, on or not).
#
# LRP: the output relevance is the class score $z_2[c]$; the hidden layer gets its share of it,
# then the pixels get theirs (unit 2 is off, $a_1 = 0$, so it gets nothing).

# %%
eps = 1e-6
R2 = z2[c]

def lrp_epsilon(a, W, b, R):                   # R: relevance of each output unit
    z = a @ W + b
    return a * (W @ (R / (z + eps * np.where(z >= 0, 1, -1))))

def lrp_zplus(a, W, R):
    zp = np.maximum(a[:, None] * W, 0)         # positive contributions (a_j w_jk)^+
    total = zp.sum(0)
    return np.divide(zp, total, out=np.zeros_like(zp), where=total > 0) @ R

def lrp_zb(x, W, R, low, high):
    q = x[:, None] * W - low * np.maximum(W, 0) - high * np.minimum(W, 0)
    return (q / q.sum(0)) @ R

R_out = np.eye(2)[c] * R2                      # relevance at the logits: the target's score only
R1 = lrp_epsilon(a1, W2, b2, R_out)
hand_lrp = {
    "epsilon": lrp_epsilon(x, W1, b1, R1),
    "zplus": lrp_zplus(x, W1, lrp_zplus(a1, W2, R_out)),
    "composite": lrp_zb(x, W1, R1, 0.0, 4.0),   # zB on the pixels, epsilon on the dense layer above
}
for rule, hand in hand_lrp.items():
    got = on_net(vislib.lrp, rule=rule)
    print(f"{rule:>9s}: by hand {np.round(hand, 3)} (sum {hand.sum():.3f})  vislib {np.round(got, 3)}")
    assert np.allclose(hand, got, atol=1e-4)
print("the score to distribute: S_c =", round(R2, 3), "; the bias b1 keeps the rest under epsilon")


# %% [markdown]
# Integrated Gradients from a black baseline: the gradient at $\alpha x$ is the saliency rule
# with the ReLU pattern at $\alpha x$ (units switch on along the path), averaged with the
# trapezoid rule.

# %%
def ig_by_hand(x, steps):
    alphas = np.linspace(0, 1, steps + 1)
    grads = np.array([((a * x @ W1 + b1 > 0) * W2[:, c]) @ W1.T for a in alphas])
    weights = np.full(steps + 1, 1 / steps); weights[[0, -1]] /= 2
    return x * (weights @ grads)

S = lambda v: relu(v @ W1 + b1) @ W2[:, c] + b2[c]   # the class score of the 4-pixel network
for steps in (4, 64):
    hand = ig_by_hand(x, steps)
    got = on_net(vislib.integrated_gradients, steps=steps)
    print(f"steps {steps:>2d}: by hand {np.round(hand, 3)}  vislib {np.round(got, 3)}  "
          f"sum {hand.sum():.4f} vs S(x) - S(0) = {S(x) - S(0 * x):.4f}")
    assert np.allclose(hand, got, atol=1e-4)

# %% [markdown]
# ## With vislib
#
# All three share the course's call shape `method(model, images, target=None, ...)` and
# return raw (N, H, W) maps: `deconvnet` the largest magnitude over colour channels like
# saliency; `lrp` and `integrated_gradients` *signed* maps summed over the colour channels,
# so that the conservation and completeness sums hold on what you see
# (`normalize=True` scales any map to [0, 1]). LRP runs through the Keras graph layer by
# layer; on EfficientNet-Lite0 it first folds every BatchNormalization into the convolution
# before it, and splits relevance over the residual additions in proportion to the inputs.

# %%
n = vislib.budget(cm.pick(clothes=6, photos=6, heavy=2), 2)   # VGG16: a gradient pass is 0.8 s on 2 cores
images, labels, names = vislib.examples(cm, n)
probs = cm.predict(images)
top1 = probs.argmax(1)
score = cm.logits(images)[np.arange(n), top1]            # S_c: what LRP distributes, IG accounts for
titles = [f"{cm.class_names[k]} {probs[i, k]:.2f}" for i, k in enumerate(top1)]
clip = vislib.clip_outliers

rules = {"saliency": vislib.saliency(cm, images), "deconvnet": vislib.deconvnet(cm, images),
         "guided backprop": vislib.guided_backprop(cm, images)}
fig, axes = plt.subplots(n, 4, figsize=(9, 2.2 * n), squeeze=False)
for i in range(n):
    axes[i, 0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[i, 0].set_title(titles[i], fontsize=8)
    for j, (name, m) in enumerate(rules.items()):
        axes[i, j + 1].imshow(clip(m[i]), cmap="gray"); axes[i, j + 1].set_title(name, fontsize=8)
for ax in axes.ravel(): ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# The LRP rules side by side (red: relevance for the class, blue: against it), with the
# fraction of the score that reaches the pixels. `vislib.lrp_rules` shows which rule the
# composite gives each layer.

# %%
print({k: v for k, v in list(vislib.lrp_rules(cm, "composite").items())[:4]}, "...")
LRP_RULES = ("epsilon", "zplus", "composite")
relevance = {rule: vislib.lrp(cm, images, rule=rule) for rule in LRP_RULES}
kept = {rule: r.reshape(n, -1).sum(1) / score for rule, r in relevance.items()}
for rule in LRP_RULES:
    print(f"{rule:>9s}: relevance at the pixels / score = {np.round(kept[rule], 3)}")

def show_signed(ax, m, title):
    lim = np.percentile(np.abs(m), 99.5) or 1.0
    ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim); ax.set_title(title, fontsize=8); ax.axis("off")

fig, axes = plt.subplots(n, 4, figsize=(9, 2.2 * n), squeeze=False)
for i in range(n):
    axes[i, 0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[i, 0].set_title(titles[i], fontsize=8)
    axes[i, 0].axis("off")
    for j, rule in enumerate(LRP_RULES):
        show_signed(axes[i, j + 1], relevance[rule][i], f"LRP {rule} ({kept[rule][i]:.2f})")
plt.tight_layout(); plt.show()

# %% [markdown]
# Integrated Gradients with three baselines: black, a blurred copy of the image, uniform
# noise. The baseline is what the map explains the image *against*: with a black baseline a
# black pixel can never get any attribution (on the clothes, the whole background).

# %%
steps = 16 if cm.heavy else vislib.budget(64, 16)   # VGG16 at 64 steps: 499 s for this cell (2026-12-03)
BASELINES = ("black", "blur", "uniform")
ig = {b: vislib.integrated_gradients(cm, images, baseline=b, steps=steps) for b in BASELINES}
fig, axes = plt.subplots(n, 4, figsize=(9, 2.2 * n), squeeze=False)
for i in range(n):
    axes[i, 0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[i, 0].set_title(titles[i], fontsize=8)
    axes[i, 0].axis("off")
    for j, b in enumerate(BASELINES):
        show_signed(axes[i, j + 1], ig[b][i], f"IG, {b} baseline")
plt.tight_layout(); plt.show()

# %% [markdown]
# How many steps does completeness need? The relative error
# $|\sum_i \mathrm{IG}_i - (S_c(x) - S_c(x'))| \,/\, |S_c(x) - S_c(x')|$ for a growing number of
# steps. We pass the baselines as arrays (`baseline=` takes any image): black, and the blur
# vislib's `"blur"` uses (a Gaussian of width max(H, W) / 14 pixels), so that we can score
# them with `cm.logits` ourselves.

# %%
from scipy.ndimage import gaussian_filter

step_list = [2, 8, 32] if cm.heavy else vislib.budget([2, 4, 8, 16, 32, 64, 128], [2, 8, 32])   # VGG16: 617 s at full length
xs = images[:1 if cm.heavy else vislib.budget(min(n, 3), 1)].astype("float32")
rows, target = np.arange(len(xs)), top1[:len(xs)]
width = max(cm.input_size) / 14
ends = {"black": np.zeros_like(xs), "blur": gaussian_filter(xs, sigma=(0, width, width, 0), mode="reflect")}

def completeness_error(baseline, steps):
    attr = vislib.integrated_gradients(cm, xs, target, baseline=baseline, steps=steps)
    delta = cm.logits(xs)[rows, target] - cm.logits(baseline)[rows, target]   # S(x) - S(x')
    return np.abs(attr.reshape(len(xs), -1).sum(1) - delta) / np.abs(delta)

errors = {}
for b, baseline in ends.items():
    errors[b] = [completeness_error(baseline, s) for s in step_list]
    errors[b] = np.array(errors[b])                   # (steps, images)
fig, ax = plt.subplots(figsize=(5, 3))
for b, e in errors.items():
    ax.loglog(step_list, e.mean(1), marker="o", label=f"{b} baseline")
ax.axhline(0.01, color="k", lw=0.6, ls="--"); ax.text(step_list[0], 0.011, "1 %", fontsize=8)
ax.set_xlabel("steps"); ax.set_ylabel("completeness error"); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()
print({b: [round(float(v), 4) for v in e.mean(1)] for b, e in errors.items()})

# %% [markdown]
# ## Explore
#
# Pick a method and its options. Every map needs a new pass through the network, so it is
# computed once and cached.

# %%
cache = {}

def explain(image, method, rule, baseline, steps):
    key = (image, method) + ((rule,) if method == "LRP" else (baseline, steps) if method == "IG" else ())
    if key not in cache:
        x1 = images[image:image + 1]
        if method == "LRP":
            cache[key] = vislib.lrp(cm, x1, rule=rule)[0]
        elif method == "IG":
            cache[key] = vislib.integrated_gradients(cm, x1, baseline=baseline, steps=steps)[0]
        else:
            cache[key] = {"saliency": vislib.saliency, "deconvnet": vislib.deconvnet,
                          "guided backprop": vislib.guided_backprop}[method](cm, x1)[0]
    return cache[key]

def show(image, method, rule, baseline, steps):
    m = explain(image, method, rule, baseline, steps)
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(images[image].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(titles[image]); axes[0].axis("off")
    if method in ("LRP", "IG"):
        show_signed(axes[1], m, f"{method}: sum {m.sum():.2f} (score {score[image]:.2f})")
    else:
        axes[1].imshow(clip(m), cmap="gray"); axes[1].set_title(method); axes[1].axis("off")
    plt.tight_layout(); plt.show()

vislib.explorer(show, heavy=("image", "method", "rule", "baseline", "steps"),
                image=widgets.Dropdown(options=[(f"{k}: {nm}", k) for k, nm in enumerate(names)], description="image"),
                method=widgets.Dropdown(options=["saliency", "deconvnet", "guided backprop", "LRP", "IG"],
                                        value="LRP", description="method"),
                rule=widgets.Dropdown(options=list(LRP_RULES), description="LRP rule"),
                baseline=widgets.Dropdown(options=list(BASELINES), description="IG baseline"),
                steps=widgets.Dropdown(options=[4, 16, 64], value=16, description="IG steps"))

# %% [markdown]
# ## What to notice
#
# - The deconvnet ignores the forward ReLU pattern: on the 4-pixel network, move the
#   hidden biases so that other units switch on, and its map stays the same while the
#   gradient's and guided backprop's change (checked below).
# - $z^+$ relevance is never negative and never more than the score; on a network whose
#   ReLUs see positive inputs only, none of it is lost, while epsilon's bias terms keep part
#   of it (they can even add: the fraction can exceed 1 or change sign).
# - The completeness error falls as the steps grow: it is the quadrature's error, largest
#   where many ReLUs switch along the path. On the clothes model 64 steps bring it to about
#   1 % (0.8 % pooled over 16 test items from black, 0.1 % from the blur); EfficientNet-Lite0's
#   path is far rougher: 10-90 % at 16-32 steps, 0.7 % and 10 % on two photos at 64 steps,
#   0.4 % and 1.3 % at 256. Sundararajan et al. suggest checking the sum and adding steps
#   until it is within 5 %.
# - LRP on EfficientNet-Lite0: every BatchNorm is folded into its convolution, and its shift
#   becomes a bias. The depthwise layers' biases carry many units on their own, so the $z^+$
#   rule (which shares relevance among positive *inputs* only) keeps just 4-7 % of the score
#   at the pixels, and the epsilon rule's bias terms can even flip its sign. On the clothes
#   models 90-98 % arrives. The maps can still be read; the conservation sums cannot.

# %%
shifted = keras.models.clone_model(net)
shift = np.array([-6.0, 0.0, 2.0])                                     # unit 0 off, unit 2 on
shifted.set_weights([W1, b1 + shift, W2, b2])
tiny2 = dataclasses.replace(vislib.as_course(shifted), pixel_range=(0.0, 4.0))
xx = x.reshape(1, 1, 4, 1)
print("ReLU pattern:", (x @ W1 + b1 > 0).astype(int), "->", (x @ W1 + b1 + shift > 0).astype(int))
assert ((x @ W1 + b1 > 0) != (x @ W1 + b1 + shift > 0)).any()
same = {f.__name__: np.allclose(f(tiny, xx, c, reduce=None), f(tiny2, xx, c, reduce=None))
        for f in (vislib.saliency, vislib.deconvnet, vislib.guided_backprop)}
print("map unchanged when the ReLU pattern moves:", same)
assert same == {"saliency": False, "deconvnet": True, "guided_backprop": False}

pos = score > 0                                     # z+ keeps the sign of the score
assert (relevance["zplus"][pos] >= 0).all() and (kept["zplus"][pos] <= 1 + 1e-4).all()
if cm.weights == "trained":                           # the offline clothes models (measured 0.94-0.98)
    assert (kept["zplus"] > 0.8).all(), kept["zplus"]
if cm.real_imagenet:
    vislib.claim(cm, (kept["zplus"] < 0.2).all(), f"on EfficientNet-Lite0 the z+ rule keeps less than 20 % of the "
                 f"score at the pixels (here {np.round(kept['zplus'], 3).tolist()}; measured 0.04-0.07)")
e = errors["black"].mean(1)
assert e[-1] < e[0], e                               # more steps, smaller error
print(f"completeness error with {step_list[-1]} steps: {e[-1]:.2%} (black), {errors['blur'].mean(1)[-1]:.2%} (blur)")

# %% [markdown]
# ### Sanity check (lesson 12)
#
# Adebayo et al. (2018) found that guided backprop and some LRP variants barely change when
# the network's weights are randomised from the top down: they show the image more than the
# model. Here is what this course's implementations do (Spearman's $\rho$ between the map of
# the trained network and the map with every layer from the top down to the one named
# randomised; near 0 = the map depended on those weights).

# %%
from vislib import metrics

weighted = metrics.weighted_layers(cm)
SANITY = {"guided backprop": vislib.guided_backprop, "deconvnet": vislib.deconvnet,
          "LRP composite": lambda m, x, t: vislib.lrp(m, x, t, rule="composite"),
          "IG": lambda m, x, t: vislib.integrated_gradients(m, x, t, steps=vislib.budget(16, 8))}
if cm.num_classes == 10:                                    # the small offline model: every weighted layer
    checkpoints, sx = weighted, images[:2]
else:                                                       # photos: the output layer, a middle and the first conv
    checkpoints, sx = [weighted[-1], weighted[len(weighted) // 2], weighted[0]], images[:1]
    if vislib.fast():                                       # each method is compiled again for the random copy
        checkpoints = [weighted[-1], weighted[0]]
        SANITY = {k: SANITY[k] for k in ("deconvnet", "LRP composite")}
sanity = {name: metrics.randomization_sanity(fn, cm, sx, top1[:len(sx)], layers=checkpoints)
          for name, fn in SANITY.items()}
fig, ax = plt.subplots(figsize=(6, 3))
for name, res in sanity.items():
    ax.plot(range(len(res.layers)), res.mean, marker="o", label=name)
    print(f"{name:>16s}: rho {[round(float(v), 2) for v in res.mean]}")
ax.set_xticks(range(len(res.layers)), res.layers, rotation=30, fontsize=7)
ax.set_ylabel("rank correlation with the original"); ax.legend(fontsize=8); ax.axhline(0, color="k", lw=0.5)
plt.tight_layout(); plt.show()

# %% [markdown]
# Measured under `VISLIB_FAST=1`: on the clothes model (two items, every weighted layer from
# the top down) Integrated Gradients and the LRP composite lose most of their picture once the
# dense layers are random (IG: 0.66, 0.58, 0.11, -0.03, -0.02; LRP: 0.58, 0.77, 0.21, -0.02,
# 0.19), the deconvnet falls at once but never quite to zero (0.4 with only the output layer
# random, 0.17 with everything random: its map is partly the image's structure), and guided
# backprop holds on longest (0.95 while the top two layers are random). On EfficientNet-Lite0 (one photo) the LRP composite is the one that
# survives: $\rho$ = 0.65 with every layer random, where the deconvnet drops to 0.22 and
# Integrated Gradients (not run on the CI budget) to 0.0. Its $z^+$ maps there mostly trace
# the photo's edges, the behaviour Adebayo et al. report for LRP variants.

# %%
rho_last = {name: float(res.mean[-1]) for name, res in sanity.items()}
print({name: round(v, 2) for name, v in rho_last.items()})
if cm.real_imagenet:
    vislib.claim(cm, rho_last["LRP composite"] > rho_last["deconvnet"] + 0.2,
                 f"with every layer random, the LRP composite keeps more of its map than the deconvnet "
                 f"(rho {rho_last['LRP composite']:.2f} vs {rho_last['deconvnet']:.2f}; measured 0.65 vs 0.22)")

# %% [markdown]
# ## Exercises
#
# 1. On the 4-pixel network, compute by hand the LRP-epsilon relevance of the pixels for
#    **class 1** (use `lrp_epsilon` twice); store the 4 numbers in `lrp_class1`.
# 2. Which of the three ReLU rules never looks at the forward pass? Set `forward_blind`
#    to `"gradient"`, `"deconvnet"` or `"guided"`.
# 3. With the black baseline, what should `vislib.integrated_gradients(cm, images[:1]).sum()`
#    be close to? Compute it from `cm.logits` and store it in `ig_total`.
# 4. What fraction of the score reaches the pixels under the $z^+$ rule for the first image?
#    Store it in `zplus_kept` (one number).

# %%
lrp_class1 = None        # your answer
forward_blind = None
ig_total = None
zplus_kept = None

R_out1 = np.eye(2)[1] * z2[1]
vislib.check(lrp_class1, lrp_epsilon(x, W1, b1, lrp_epsilon(a1, W2, b2, R_out1)), tol=1e-4,
             hint="start from R_out = (0, z2[1]), hand it to the hidden layer, then to the pixels", name="1. LRP for class 1")
vislib.check(forward_blind, "deconvnet", hint="the rule with no 1[z > 0] in it", name="2. forward-blind rule")
black = np.zeros_like(images[:1])
vislib.check(ig_total, float(cm.logits(images[:1])[0, top1[0]] - cm.logits(black)[0, top1[0]]), tol=2e-2,
             hint="completeness: the score of the image minus the score of the baseline, for the same class",
             name="3. IG total")
vislib.check(zplus_kept, float(kept["zplus"][0]), tol=1e-3,
             hint="the sum of the z+ relevance map divided by the class score", name="4. z+ relevance kept");

# %% [markdown]
# ## Summary
#
# - Saliency, deconvnet and guided backprop differ only in the backward ReLU rule; the
#   deconvnet's ignores the forward pass, so its maps are about the image's structure and
#   the max-pooling switches, not about which units fired.
# - LRP distributes the score itself: the epsilon rule is gradient x input for small
#   epsilon, $z^+$ keeps only positive contributions (non-negative maps), $z^B$ respects the
#   pixels' bounds. The biases (and BatchNorm's shifts) keep part of the relevance.
# - Integrated Gradients add up to $S_c(x) - S_c(x')$; the baseline decides what the map is
#   measured against, the steps how exactly it adds up.
#
# ## References
#
# - M. D. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
# - J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for Simplicity: The All Convolutional Net.* ICLR workshop 2015.
# - S. Bach, A. Binder, G. Montavon, F. Klauschen, K.-R. Mueller, W. Samek. *On Pixel-Wise Explanations for Non-Linear Classifier Decisions by Layer-Wise Relevance Propagation.* PLOS ONE 2015.
# - G. Montavon, A. Binder, S. Lapuschkin, W. Samek, K.-R. Mueller. *Layer-Wise Relevance Propagation: An Overview.* In Explainable AI, Springer 2019.
# - M. Sundararajan, A. Taly, Q. Yan. *Axiomatic Attribution for Deep Networks.* ICML 2017.
# - M. Ancona, E. Ceolini, C. Oeztireli, M. Gross. *Towards Better Understanding of Gradient-based Attribution Methods for Deep Neural Networks.* ICLR 2018.
# - P. Sturmfels, S. Lundberg, S.-I. Lee. *Visualizing the Impact of Feature Attribution Baselines.* Distill 2020.
# - J. Adebayo et al. *Sanity Checks for Saliency Maps.* NeurIPS 2018.
# - S. Lapuschkin et al. *Unmasking Clever Hans Predictors and Assessing What Machines Really Learn.* Nature Communications 2019.
