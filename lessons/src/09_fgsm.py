# %% [markdown]
# # 09 · Fooling the network: FGSM, transfer across models, noise images
#
# An ImageNet network that recognises a daisy (`efficientnet_lite0`, below) can be made to
# call it brain coral by changing every pixel by one grey level, a change you cannot see.
# Goodfellow, Shlens and Szegedy (2015) showed that one step along the sign of the loss
# gradient is enough: the *fast gradient sign method* (FGSM). This lesson builds it by hand, measures how often it works as the
# allowed change grows, watches where Grad-CAM looks before and after, shows that attacks
# made on one network also fool another, and feeds the network images that are pure noise.
#
# ## What you will learn
# - FGSM in four lines with `tf.GradientTape`, and `vislib.fgsm` / `vislib.iterative_fgsm`;
# - why $\epsilon$ is counted in pixel units and why the result is clipped;
# - the success rate as a function of $\epsilon$, single step vs iterative, against random
#   noise of the same size (the control that photos with nearly tied classes need);
# - how far the Grad-CAM map moves when the decision flips (**attention shift**);
# - how well attacks **transfer** to a network of another architecture;
# - what the network says about Perlin noise, random noise and a universal perturbation.

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
# Let $J(x, y)$ be the cross-entropy loss of the network for image $x$ (display pixels,
# 0-255) and label $y$. Near $x$ the loss is roughly linear,
# $J(x + \delta, y) \approx J(x, y) + \delta^\top \nabla_x J$. Among all changes with
# $\|\delta\|_\infty \le \epsilon$ (no pixel moves by more than $\epsilon$), the one that
# raises this linear model most is $\delta = \epsilon\,\mathrm{sign}(\nabla_x J)$:
#
# $$x^{adv} = \mathrm{clip}_{[0, 255]}\Big(x + \epsilon\,\mathrm{sign}\big(\nabla_x J(x, y)\big)\Big).$$
#
# The gradient is taken *through the profile's preprocessing*, so $\epsilon$ is in the
# pixels we look at, and clipping keeps a valid image. The **iterative** version
# (Kurakin et al. 2017) takes small steps of size $\alpha$ and projects back into the
# $\epsilon$-ball after each:
#
# $$x^{(t+1)} = \mathrm{clip}_{x, \epsilon}\Big(x^{(t)} + \alpha\,\mathrm{sign}\big(\nabla_x J(x^{(t)}, y)\big)\Big).$$
#
# A **targeted** attack descends the loss of a chosen class instead. The **success rate**
# is the share of correctly classified images whose class changes (on the photos: whose
# top-1 class changes). A photo the network is unsure about may change its class under
# *any* small change, so every rate needs a control: random noise of the same size, i.e.
# every pixel moved by $\pm\epsilon$ with a random sign.

# %%
import keras
import tensorflow as tf

OFFLINE = cm.channels == 1
images, labels, names = vislib.examples(cm, cm.pick(clothes=6, photos=6, heavy=2))   # clothes offline, photos on ImageNet
probs = cm.predict(images)
top1 = probs.argmax(1)

def correct_items(course, n):
    # the first n Fashion-MNIST test items that `course` classifies correctly, and their labels
    (xt, yt) = vislib.fashion_mnist().test
    pool, pool_y = xt[:400, ..., None].astype("float32"), yt[:400].astype(int)
    right = course.predict(pool).argmax(1) == pool_y
    return pool[right][:n], pool_y[right][:n]

if OFFLINE:                 # a batch of test items the model gets right, for success rates
    batch, batch_y = correct_items(cm, vislib.budget(200, 100))
else:                       # the photos; labels=None: each image's own top-1 class is the label
    batch, batch_y = images, None
EPS = cm.pick(clothes=[0, 2, 4, 8, 16, 32],                         # pixels (0-255)
              photos=vislib.budget([0, 0.25, 0.5, 1, 2, 4, 8], [0, 0.5, 1, 2, 8]), heavy=[0, 2, 8])
STEPS = cm.pick(clothes=vislib.budget(10, 5), photos=vislib.budget(10, 3), heavy=vislib.budget(5, 3))   # VGG16: a gradient takes ~0.7 s
print("top-1 on the example images:", ", ".join(f"{cm.class_names[c]} {p:.2f}" for c, p in zip(top1, probs.max(1))))
print(f"{len(batch)} images for success rates; epsilons {EPS}; iterative FGSM with {STEPS} steps")
if cm.weights not in ("trained", "imagenet"):
    print("Random weights: the numbers below show that the code runs, not what a trained network does.")

def show(image):
    return np.clip(image, 0, 255).astype("uint8").squeeze()


# %% [markdown]
# ## By hand
#
# Put the preprocessing and the network inside the tape, take the gradient of the loss
# with respect to the display pixels, step by $\epsilon$ along its sign, clip. The loss is
# computed from the pre-softmax scores (the dense layer's kernel applied by hand), which
# stays finite even when the network is very sure.

# %%
head = cm.model.layers[-1]                                        # Dense classifier (softmax inside)
features = keras.Model(cm.model.inputs, head.input)               # everything before it

k = names.index("flower") if "flower" in names else 0             # the daisy; item 0 offline
x = tf.convert_to_tensor(images[k:k + 1])
y = tf.constant(top1[k:k + 1])
with tf.GradientTape() as tape:
    tape.watch(x)
    logits = features(cm.preprocess(x), training=False) @ head.kernel + head.bias
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
grad = tape.gradient(loss, x).numpy()                             # dJ / d pixel

EPSILON = cm.pick(clothes=8.0, photos=1.0)                        # photos: one grey level is enough
adv_hand = np.clip(images[k:k + 1] + EPSILON * np.sign(grad), 0, 255)   # one signed step, clipped
p_adv = cm.predict(adv_hand)[0]
print(f"clean: {cm.class_names[top1[k]]} ({probs[k, top1[k]]:.2f});  "
      f"adversarial (eps={EPSILON:g}): {cm.class_names[p_adv.argmax()]} ({p_adv.max():.2f})")

# %%
delta = adv_hand[0] - images[k]
fig, axes = plt.subplots(1, 3, figsize=(8, 3))
axes[0].imshow(show(images[k]), cmap="gray", vmin=0, vmax=255); axes[0].set_title(f"clean: {cm.class_names[top1[k]]}")
axes[1].imshow(show(127.5 + delta * 127.5 / EPSILON), cmap="gray", vmin=0, vmax=255)
axes[1].set_title(f"perturbation x{127.5 / EPSILON:.0f}")
axes[2].imshow(show(adv_hand[0]), cmap="gray", vmin=0, vmax=255); axes[2].set_title(f"adversarial: {cm.class_names[p_adv.argmax()]}")
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# The perturbation is drawn amplified (grey = no change). Where the image is black and the
# sign says "darker", clipping removes the change: the result stays a valid image. On
# `efficientnet_lite0` one grey level ($\epsilon = 1$) turns the daisy (0.29) into
# brain_coral.
#
# ## With vislib
#
# `vislib.fgsm(model, images, labels=None, epsilon=8)` does the same for a batch (labels
# default to the model's own top-1 class); `vislib.iterative_fgsm(..., steps, step_size)` is
# the iterative version and `vislib.attack_success(model, clean, adversarial, labels)` the
# success rate.

# %%
adv_lib = vislib.fgsm(cm, images[k:k + 1], epsilon=EPSILON)
same = np.isclose(adv_lib, adv_hand, atol=1e-3)
print(f"vislib.fgsm equals the hand-made image in {same.mean():.2%} of the pixels")
assert np.abs(adv_lib - images[k:k + 1]).max() <= EPSILON + 1e-3
if cm.weights in ("trained", "imagenet"):   # random ImageNet nets score ~1e-11: float32 noise decides many signs
    # a trained net too has a few gradients a million times below the largest (efficientnet_lite0: 1 of 150528
    # at 2e-11); float32 rounding in two different graphs decides their sign, so they are left out
    tiny = np.abs(grad) < 1e-6 * np.abs(grad).max()
    print(f"pixels that differ: {(~same).sum()}, all with a gradient at rounding level: {bool(tiny[~same].all())}")
    assert same[~tiny].all(), "vislib.fgsm differs from the hand-made version"

# %% [markdown]
# ### Success rate against $\epsilon$, single step and iterative
#
# For every $\epsilon$ we attack the whole batch once with FGSM and once with iterative
# FGSM (same $\epsilon$-ball), add random $\pm\epsilon$ noise as the control, and count the
# flipped decisions.

# %%
from tqdm.auto import tqdm   # a progress bar

ADV = {}           # (method, eps) -> adversarial batch, reused below
IT = f"iterative FGSM ({STEPS} steps)"
rates = {"FGSM": [], IT: [], "random ±eps (control)": []}
signs = np.random.default_rng(0).choice([-1.0, 1.0], batch.shape)   # one random direction, scaled by each eps
for eps in tqdm(EPS, desc="epsilons", leave=False):
    ADV["fgsm", eps] = vislib.fgsm(cm, batch, batch_y, epsilon=eps)
    ADV["ifgsm", eps] = vislib.iterative_fgsm(cm, batch, batch_y, epsilon=eps, steps=STEPS)
    ADV["random", eps] = np.clip(batch + eps * signs, 0, 255).astype("float32")
    rates["FGSM"].append(vislib.attack_success(cm, batch, ADV["fgsm", eps], batch_y))
    rates[IT].append(vislib.attack_success(cm, batch, ADV["ifgsm", eps], batch_y))
    rates["random ±eps (control)"].append(vislib.attack_success(cm, batch, ADV["random", eps], batch_y))

fig, ax = plt.subplots(figsize=(5, 3.2))
for (name, r), style in zip(rates.items(), ["o-", "s-", "x--"]):
    ax.plot(EPS, r, style, label=name)
ax.set_xlabel("epsilon (pixels of 0-255)"); ax.set_ylabel("success rate"); ax.set_ylim(-0.02, 1.02)
ax.set_title(f"{cm.name}: {len(batch)} images"); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()
print("| epsilon | " + " | ".join(rates) + " |\n|---:|---:|---:|---:|")
for i, eps in enumerate(EPS):
    print(f"| {eps:g} | " + " | ".join(f"{r[i]:.2f}" for r in rates.values()) + " |")
if not OFFLINE:
    for eps in EPS[1:]:
        for method in ("fgsm", "random"):
            p_new = cm.predict(ADV[method, eps])
            print(f"{method:>6s} eps={eps:g}: " + ", ".join(
                f"{names[i]} -> {cm.class_names[c]}" if c != top1[i] else f"{names[i]} kept ({p_new[i, c]:.2f})"
                for i, c in enumerate(p_new.argmax(1))))
    p_sorted = -np.sort(-probs, axis=1)
    margin = p_sorted[:, 0] - p_sorted[:, 1]              # how far the top-1 class leads the top-2
    print("lead of the top-1 over the top-2 class:", ", ".join(f"{n} {m:.3f}" for n, m in zip(names, margin)))

# %% [markdown]
# Iterative FGSM follows the loss around its bends instead of trusting one linear step,
# so within the same $\epsilon$-ball it finds adversarial images more often.
#
# On `efficientnet_lite0` the curve is flat, not rising: from the smallest $\epsilon$ on, one
# FGSM step flips five of the six photos (every photo but the espresso), and $\epsilon = 1$,
# one grey level of 255, is plenty. Random $\pm 1$ noise flips one or two: the astronaut,
# where "bobsled" (0.130) leads "football_helmet" by 0.005, and with some random patterns
# the cat, where tiger_cat leads Egyptian_cat by 0.017. Five of the six photos have a top-1
# probability below 0.41, so "low confidence" alone does not predict this; what matters is
# how far the top-1 class leads the next. The espresso (0.96) resists one step at
# every $\epsilon$: its loss is far from linear, and a single step of the same sign overshoots
# (its probability falls to about 0.24 at $\epsilon = 2$ and climbs back with larger steps).
# Iterative FGSM, which re-reads the gradient after each small step, flips all six from
# $\epsilon = 0.25$ on. We claim at $\epsilon = 1$: FGSM flips at least 4 of the 6 photos
# (measured 5) and at least 2 more than random noise (measured 2 with the lesson's random
# pattern, 1-2 over five patterns); random noise flips only photos whose top-1 class leads
# by less than 0.05; iterative FGSM flips all 6 (measured with 3 and with 10 steps).

# %%
if cm.real_imagenet:   # measured on efficientnet_lite0 (see the text above)
    i1 = EPS.index(1) if 1 in EPS else None
    if i1 is not None and len(batch) == 6:
        flips = {name: int(round(r[i1] * len(batch))) for name, r in rates.items()}
        vislib.claim(cm, flips["FGSM"] >= 4 and flips["FGSM"] - flips["random ±eps (control)"] >= 2,
                     f"at eps=1 FGSM flips {flips['FGSM']} of 6 photos (claimed >= 4), random ±1 noise "
                     f"{flips['random ±eps (control)']} (claimed at least 2 fewer)")
        by_noise = cm.predict(ADV["random", 1]).argmax(1) != top1
        vislib.claim(cm, (margin[by_noise] < 0.05).all(),
                     f"random ±1 noise flips only nearly tied photos: leads {', '.join(f'{m:.3f}' for m in margin[by_noise])} "
                     "(claimed < 0.05)")
        vislib.claim(cm, flips[IT] == 6, f"at eps=1 iterative FGSM flips {flips[IT]} of 6 photos (claimed 6)")

# %% [markdown]
# ### Attention shift: where does Grad-CAM look after the attack?
#
# The study *Evaluating CNN Predictions using Visualization Techniques* showed Grad-CAM on
# Goodfellow's panda before and after FGSM. We do the same for every example image, and
# give two numbers per image: the correlation between the two maps and the distance
# between their peaks (in pixels).

# %%
EPS_SHIFT = cm.pick(clothes=16.0, photos=1.0)
adv_ex = vislib.fgsm(cm, images, epsilon=EPS_SHIFT)
adv_top = cm.predict(adv_ex).argmax(1)
cam_clean = vislib.gradcam(cm, images, normalize=True)                 # clean image, its top-1 class
cam_adv = vislib.gradcam(cm, adv_ex, normalize=True)                   # adversarial image, its new top-1 class

def shift(a, b):
    # (Pearson r, distance between the peaks in pixels) for two maps
    r = np.corrcoef(a.ravel(), b.ravel())[0, 1] if a.std() > 0 and b.std() > 0 else 0.0
    pa, pb = np.unravel_index(a.argmax(), a.shape), np.unravel_index(b.argmax(), b.shape)
    return float(r), float(np.hypot(pa[0] - pb[0], pa[1] - pb[1]))

SHIFT = np.array([shift(a, b) for a, b in zip(cam_clean, cam_adv)])
flipped = adv_top != top1
fig = vislib.plot_attributions(
    np.concatenate([images, adv_ex])[[i for k in range(len(images)) for i in (k, k + len(images))]],
    {"Grad-CAM": np.stack([m for pair in zip(cam_clean, cam_adv) for m in pair])},
    titles=[t for i in range(len(images)) for t in (f"clean: {cm.class_names[top1[i]]}",
            f"adv: {cm.class_names[adv_top[i]]}  r={SHIFT[i, 0]:.2f}, peak moved {SHIFT[i, 1]:.0f}px")],
    size=1.9)
plt.show()
for label, mask in (("flipped", flipped), ("not flipped", ~flipped)):
    if mask.any():
        print(f"{label} ({mask.sum()}): mean r = {SHIFT[mask, 0].mean():+.2f}, mean peak shift = {SHIFT[mask, 1].mean():.1f} px")

# %% [markdown]
# Offline, a flipped decision comes with a different map (on `fashion_cnn` the mean
# correlation with the clean map is close to 0). The real network behaves otherwise. On `efficientnet_lite0` at $\epsilon = 1$
# the new class is mostly explained by the same place: the daisy turned brain_coral is
# still the flower (r = 0.97), the palace turned bell_cote still the tower (0.98), the tiger
# cat turned Egyptian cat still the face (0.86). The network does not look elsewhere; it
# sees the same pixels as something else. The rocket is the exception: as a
# drilling_platform its map moves to the launch towers beside it (r = 0.36, peak 91 pixels
# away). We claim that at least half of the flipped photos keep a map with r > 0.8
# (measured 3 of 5) and that at least one map moves its peak by more than 30 pixels.

# %%
if cm.real_imagenet and flipped.any():   # measured on efficientnet_lite0 (see the text above)
    kept = int((SHIFT[flipped, 0] > 0.8).sum())
    vislib.claim(cm, kept >= np.ceil(flipped.sum() / 2) and SHIFT[flipped, 1].max() > 30,
                 f"{kept} of {flipped.sum()} flipped photos keep their Grad-CAM map (r > 0.8; claimed at least half); "
                 f"the largest peak move is {SHIFT[flipped, 1].max():.0f} px (claimed > 30)")

# %% [markdown]
# ### Cross-model transfer
#
# Adversarial images are made with one network's gradient. Do they fool a network that
# never saw them? That needs a second network trained on the same task:
#
# - `fashion_cnn` / `fashion_gap`: the other offline clothes model, a different architecture
#   (three conv layers and global average pooling against two conv blocks and dense layers)
#   trained by vislib the same way.
# - `vgg16`: ResNet50 and MobileNetV2; `mobilenet_v2`: ResNet50 only (the light profile
#   stays inside Binder's 2 GB). Their ImageNet weights are downloaded; this part is kept to
#   a few photos and two $\epsilon$, because every model costs memory and time.
# - `efficientnet_lite0`: there is no second ImageNet network with real weights offline, and
#   one with random weights would prove nothing (its top-1 class means nothing, so "fooled"
#   means nothing either). So under this profile the transfer is shown on the offline
#   clothes pair, attacks made on `fashion_cnn` and shown to `fashion_gap`: two real trained
#   networks, on clothes instead of photos. With internet, run the lesson with
#   `VISLIB_MODEL=mobilenet_v2` to see transfer between ImageNet networks.

# %%
if OFFLINE or cm.name == "efficientnet_lite0":   # the clothes pair (efficientnet_lite0: no second real ImageNet net)
    src = cm if OFFLINE else vislib.load_model("fashion_cnn")
    t_images, t_labels = (batch, batch_y) if OFFLINE else correct_items(src, vislib.budget(200, 100))
    other = "fashion_gap" if src.name != "fashion_gap" else "fashion_cnn"
    TARGETS = {other: vislib.load_model(other)}
    t_eps = [4, 8, 16, 32]
    if not OFFLINE:
        print(f"{cm.name}: no second real ImageNet network offline; attacks made on {src.name} "
              f"and shown to {other}, on {len(t_images)} clothes {src.name} classifies correctly")
else:
    src = cm
    w = None if cm.weights is None else "imagenet"
    # the light profile stays light: VGG16 alone (138 M weights) would take a 2 GB Binder session over
    others = ("resnet50",) if cm.name == "mobilenet_v2" else ("vgg16", "resnet50", "mobilenet_v2")
    TARGETS = {n: vislib.load_model(n, weights=w) for n in others if n != cm.name}
    t_images, t_labels, t_eps = images[:vislib.budget(4, 2)], None, [2, 8]
    if cm.weights is None:
        print("Random weights everywhere: these rates mean nothing about real networks.")
table = vislib.transfer_table(src, TARGETS, t_images, t_eps, labels=t_labels)
table

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
table.plot(ax=ax)
plt.tight_layout(); plt.show()

# %% [markdown]
# The attack is strongest on the network it was computed on (white box), but a good share
# of it carries over to a network with other layers and other weights (black box). A common
# explanation is that different networks pick up similar non-robust features of the data
# (Ilyas et al. 2019); the few images measured here show the transfer, not its cause. Xie et al. (2019) report such tables
# for ImageNet networks and make attacks transfer better by randomly resizing the input at
# every step.
#
# ### Noise images
#
# What does the network say about images that contain nothing? Perlin noise (smooth
# procedural noise that Co et al. 2019 found to act as a universal perturbation), uniform and
# Gaussian noise, plain mid-grey, and a **universal perturbation**: one pattern of at most
# $\epsilon$ per pixel, fitted to raise the loss of a whole set of images at once, here shown
# on its own on mid-grey. Offline it is fitted on half of the batch and tested on the other
# half; on the photos it is fitted on the six photos themselves (there are no others), so
# there it shows that one pattern can fool all of them at once, not that it generalises.

# %%
EPS_U = cm.pick(clothes=40.0, photos=16.0)
fit_on = batch[: len(batch) // 2] if OFFLINE else images
universal = vislib.universal_perturbation(cm, fit_on, epsilon=EPS_U,
                                         steps=cm.pick(clothes=vislib.budget(20, 8), photos=vislib.budget(20, 3),
                                                       heavy=vislib.budget(8, 3)))
NOISE = {
    "Perlin": vislib.perlin_noise(cm, octaves=4, seed=0, color=not OFFLINE, sine_frequency=None if OFFLINE else 6.0),
    "uniform": vislib.uniform_noise(cm, seed=0),
    "Gaussian": vislib.gaussian_noise(cm, seed=0),
    "mid-grey": np.full(cm.input_shape, 127.5, np.float32),
    "universal (on grey)": np.clip(127.5 + universal, 0, 255),
}
noise_images = np.stack(list(NOISE.values()))
noise_probs = cm.predict(noise_images)
noise_cam = vislib.gradcam(cm, noise_images, normalize=True)
titles = [f"{k}\n{cm.class_names[p.argmax()]} ({p.max():.2f})" for k, p in zip(NOISE, noise_probs)]
fig = vislib.plot_attributions(noise_images, {"Grad-CAM": noise_cam}, titles=titles, size=2.0)
plt.show()

held_out = batch[len(batch) // 2:] if OFFLINE else images
held_y = batch_y[len(batch) // 2:] if OFFLINE else None
fool_universal = vislib.attack_success(cm, held_out, np.clip(held_out + universal, 0, 255), held_y)
rng = np.random.default_rng(0)              # the control: five random patterns of the same size, one at a time
fool_randoms = [vislib.attack_success(cm, held_out, np.clip(held_out + EPS_U * rng.choice([-1.0, 1.0], universal.shape),
                                                            0, 255), held_y) for _ in range(5)]
fool_random = float(np.mean(fool_randoms))
print(f"one universal perturbation (eps={EPS_U:g}) flips {fool_universal:.0%} of "
      f"{'held-out items it was not fitted on' if OFFLINE else 'the photos it was fitted on'}; "
      f"five random +-{EPS_U:g} patterns flip {fool_random:.0%} on average ({', '.join(f'{f:.0%}' for f in fool_randoms)})")
for name, p in zip(NOISE, noise_probs):
    print(f"{name:>20s}: " + ", ".join(f"{cm.class_names[c]} {p[c]:.3f}" for c in np.argsort(-p)[:3]))

# %% [markdown]
# A network trained to pick one of its classes has no "nothing" answer: its softmax always
# names a class. How sure it is depends on the network: the offline clothes model
# `fashion_cnn` calls the Perlin, uniform, Gaussian and grey images all "Bag", at 0.64 to
# 0.99. Nguyen et al. (2015) *evolved* images that look like nothing to a person and get
# 99 % from ImageNet networks; plain noise is another matter.
# On `efficientnet_lite0` uniform noise is "kite" at 0.26 and Gaussian noise "doormat" at
# 0.04; mid-grey gets about 0.001 for each of the 1000 classes, a flat answer, the closest
# this network comes to "nothing". Perlin noise through a sine colour map, bands that curl
# like a maze, is "brain_coral" at 0.47 (0.47 to 0.81 over four seeds): a texture the network
# knows. We claim: brain_coral above 0.3 for the Perlin image, no class above 0.4 for uniform
# or Gaussian noise, and no class above 0.01 for grey.
#
# The universal perturbation is not random: the same pattern flips far more images than
# random noise of the same size. On the photos ($\epsilon = 16$) it flips all six; a random
# $\pm 16$ pattern flips two or three (the five patterns here; 2 to 4 over ten, the daisy and
# the palace almost always: noise this strong is no longer invisible). We claim at least 5
# for the universal pattern and at least 2 photos more than the random patterns' average.
# On grey, the pattern alone is a class too: "spider_web" at 0.89 after the 20 steps of the
# normal budget (under `VISLIB_FAST`, 3 steps: "stole" at 0.11).

# %%
if cm.real_imagenet and len(images) == 6:   # measured on efficientnet_lite0 (see the text above)
    top = {name: (cm.class_names[p.argmax()], float(p.max())) for name, p in zip(NOISE, noise_probs)}
    vislib.claim(cm, top["Perlin"][0] == "brain_coral" and top["Perlin"][1] > 0.3,
                 f"the sine-Perlin image is {top['Perlin'][0]} at {top['Perlin'][1]:.2f} (claimed brain_coral > 0.3)")
    vislib.claim(cm, max(top["uniform"][1], top["Gaussian"][1]) < 0.4 and top["mid-grey"][1] < 0.01,
                 f"uniform noise {top['uniform'][1]:.2f}, Gaussian {top['Gaussian'][1]:.2f} (claimed < 0.4), "
                 f"mid-grey {top['mid-grey'][1]:.4f} (claimed < 0.01)")
    n_u, n_r = fool_universal * 6, fool_random * 6
    vislib.claim(cm, n_u >= 5 and n_u - n_r >= 2,
                 f"the universal perturbation flips {n_u:.0f} of 6 photos (claimed >= 5), random ±{EPS_U:g} patterns "
                 f"{n_r:.1f} on average (claimed at least 2 fewer)")

# %% [markdown]
# ## Explore
#
# Choose an image and $\epsilon$ (each attack is computed once and cached); the amplification
# only redraws. Left to right: the clean image, the perturbation, the adversarial image, and
# the top-5 classes before (blue) and after (orange).

# %%
cache = {}

def attack(i, eps, method):
    key = (i, eps, method)
    if key not in cache:
        fn = vislib.fgsm if method == "FGSM" else (lambda *a, **k: vislib.iterative_fgsm(*a, steps=STEPS, **k))
        adv = fn(cm, images[i:i + 1], epsilon=eps)
        cache[key] = (adv[0], cm.predict(adv)[0])
    return cache[key]

def show_attack(image, epsilon, method, amplify):
    adv, p_adv = attack(image, epsilon, method)
    d = adv - images[image]
    fig, axes = plt.subplots(1, 5, figsize=(13, 2.8), gridspec_kw={"width_ratios": [1, 1, 1, 1.3, 1.3]})
    axes[0].imshow(show(images[image]), cmap="gray", vmin=0, vmax=255); axes[0].set_title("clean")
    axes[1].imshow(show(127.5 + amplify * d), cmap="gray", vmin=0, vmax=255); axes[1].set_title(f"perturbation x{amplify}")
    axes[2].imshow(show(adv), cmap="gray", vmin=0, vmax=255); axes[2].set_title(f"{method}, eps={epsilon}")
    for ax in axes[:3]: ax.axis("off")
    vislib.plot_topk(cm.decode(probs[image])[0], ax=axes[3]); axes[3].set_title("before")
    vislib.plot_topk(cm.decode(p_adv)[0], ax=axes[4], color="C1"); axes[4].set_title("after")
    plt.tight_layout(); plt.show()

vislib.explorer(show_attack, heavy=("image", "epsilon", "method"),
                image=widgets.Dropdown(options=[(f"{k}: {n}", k) for k, n in enumerate(names)], description="image"),
                epsilon=widgets.IntSlider(value=cm.pick(clothes=8, photos=1), min=0, max=32, step=1, description="epsilon"),
                method=widgets.Dropdown(options=["FGSM", "iterative FGSM"], description="method"),
                amplify=widgets.IntSlider(value=cm.pick(clothes=8, photos=40), min=1, max=40, description="amplify"))

# %% [markdown]
# ## What to notice
#
# - Every adversarial image lies within $\epsilon$ of the clean one in every pixel and in
#   the valid range $[0, 255]$; $\epsilon = 0$ changes nothing.
# - Iterative FGSM is at least as strong as one step. Offline the success rate rises with
#   $\epsilon$, and FGSM at $\epsilon = 16$ (6 % of the range) flips at least half of the
#   correctly classified items; on the real ImageNet network one grey level already flips
#   most photos, while random noise of the same size flips only the unsure ones.
# - The white-box attack beats the transferred one, but the transferred one still works
#   (under `efficientnet_lite0`: shown on the offline clothes pair).
# - The universal perturbation flips more images than random noise of the same size.
# - When the decision flips, the offline model's Grad-CAM map changes a lot (correlation with
#   the clean map close to 0); the real ImageNet network mostly keeps its map and reads the
#   same place as another class.

# %%
for (method, eps), adv in ADV.items():
    assert np.abs(adv - batch).max() <= eps + 1e-3, (method, eps)
    assert adv.min() >= 0 and adv.max() <= 255
assert rates["FGSM"][0] == 0
assert np.abs(universal).max() <= EPS_U + 1e-4
fg, it = np.array(rates["FGSM"]), np.array(rates[IT])
if cm.weights == "trained":                                # measured on the offline models
    assert fg[-1] > fg[1] and it[-1] >= fg[-1], rates
    assert np.all(it >= fg - 0.03), rates                  # iterative: at least as strong (up to 3 images in 100)
    assert rates["FGSM"][EPS.index(16)] >= 0.5, rates
    assert fool_universal > fool_random + 0.1, (fool_universal, fool_random)
    if flipped.any():                                    # measured on fashion_cnn: mean r = 0.03 after a flip
        assert SHIFT[flipped, 0].mean() < 0.5, SHIFT      # the map moved, not just its scale
if cm.name == "fashion_cnn":                               # measured: Bag at 0.64-0.99 for all four
    for name in ("Perlin", "uniform", "Gaussian", "mid-grey"):
        p = noise_probs[list(NOISE).index(name)]
        assert cm.class_names[p.argmax()] == "Bag" and p.max() > 0.5, (name, p.max())
if cm.real_imagenet:                                       # measured on efficientnet_lite0: 6 of 6 from eps 0.25 on
    vislib.claim(cm, np.all(it >= fg), f"iterative FGSM flips at least as many photos as FGSM at every eps: {rates}")
if src.weights == "trained":                               # the clothes pair (offline, and under efficientnet_lite0)
    assert table.success[-1, 0] >= table.success[-1, 1:].max(), table.success
    assert table.success[-1, 1] > 0.2, table.success        # transfers to the other architecture
elif src.real_imagenet:
    vislib.claim(cm, table.success[-1, 0] >= table.success[-1, 1:].max(),
                 f"the white-box attack flips at least as many photos as the transferred one: {table.as_dict()}")

# %%
# the explorer's callback serves cached attacks: a new amplification computes nothing
show_attack(0, 8, "FGSM", 8)
n_cached = len(cache)
show_attack(0, 8, "FGSM", 20)
assert len(cache) == n_cached

# %% [markdown]
# ## Exercises
#
# 1. From `rates["FGSM"]` and `EPS`, find the smallest $\epsilon$ at which FGSM flips at
#    least half of the batch (0 if none does). Set `eps_half`.
# 2. Make a targeted attack: push the first example image towards class 8 (`"Bag"` offline,
#    `"hen"` on ImageNet)
#    with `vislib.iterative_fgsm(..., targeted=True)` at $\epsilon = 32$ and `steps=STEPS`, and
#    set `p_target` to the probability the model now gives class 8.
# 3. What is the largest change of any pixel in `ADV["fgsm", 8]` compared with `batch`?
#    Set `largest_change` (a number).

# %%
eps_half = None        # your answer
p_target = None        # your answer
largest_change = None  # your answer

vislib.check(eps_half, next((e for e, r in zip(EPS, rates["FGSM"]) if r >= 0.5), 0),
             hint="walk along EPS and the FGSM rates together and stop at the first rate of at least 0.5",
             name="1. half flipped")
target_adv = vislib.iterative_fgsm(cm, images[:1], labels=8, epsilon=32, steps=STEPS, targeted=True)
vislib.check(p_target, float(cm.predict(target_adv)[0, 8]), tol=1e-3,
             hint="a targeted attack lowers the loss of the target class; then read the probability of class 8",
             name="2. targeted attack")
vislib.check(largest_change, float(np.abs(ADV["fgsm", 8] - batch).max()), tol=1e-3,
             hint="the largest absolute difference over every pixel of the batch; it can be less than 8 only where clipping bit", name="3. largest change");

# %% [markdown]
# ## Summary
#
# - FGSM is one signed gradient step of the loss with respect to the pixels; changes that a
#   person cannot see (one grey level on the real ImageNet network) change the decision of an
#   undefended network, where random noise of the same size does not. Compare every attack
#   with that control: an unsure network changes its mind under any noise.
# - `vislib.fgsm` and `vislib.iterative_fgsm` work in display pixels through the profile's
#   preprocessing, keep the change within $\epsilon$ and clip to the pixel range.
# - The success rate grows with $\epsilon$ until it saturates (on the photos: at once);
#   iterative attacks are stronger within the same ball.
# - After a successful attack Grad-CAM looks elsewhere, or (mostly, on the real network) at
#   the same place read as another class: an explanation explains the decision, not the truth.
# - Attacks transfer between architectures, which makes black-box attacks possible; a
#   single universal pattern fools many images at once. Every noise image gets a class, with
#   a confidence that depends on the noise: low for white noise, high for textures the
#   network knows.
#
# ## References
#
# - I. J. Goodfellow, J. Shlens, C. Szegedy. *Explaining and Harnessing Adversarial Examples.* ICLR 2015.
# - C. Szegedy, W. Zaremba, I. Sutskever, J. Bruna, D. Erhan, I. Goodfellow, R. Fergus. *Intriguing Properties of Neural Networks.* ICLR 2014.
# - A. Kurakin, I. Goodfellow, S. Bengio. *Adversarial Examples in the Physical World.* ICLR workshop 2017.
# - A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu. *Towards Deep Learning Models Resistant to Adversarial Attacks.* ICLR 2018.
# - C. Xie, Z. Zhang, Y. Zhou, S. Bai, J. Wang, Z. Ren, A. Yuille. *Improving Transferability of Adversarial Examples with Input Diversity.* CVPR 2019.
# - A. Ilyas, S. Santurkar, D. Tsipras, L. Engstrom, B. Tran, A. Madry. *Adversarial Examples Are Not Bugs, They Are Features.* NeurIPS 2019.
# - S.-M. Moosavi-Dezfooli, A. Fawzi, O. Fawzi, P. Frossard. *Universal Adversarial Perturbations.* CVPR 2017.
# - A. Shafahi, M. Najibi, Z. Xu, J. Dickerson, L. S. Davis, T. Goldstein. *Universal Adversarial Training.* AAAI 2020.
# - K. T. Co, L. Muñoz-González, S. de Maupeou, E. C. Lupu. *Procedural Noise Adversarial Examples for Black-Box Attacks on Deep Convolutional Networks.* CCS 2019.
# - A. Nguyen, J. Yosinski, J. Clune. *Deep Neural Networks are Easily Fooled: High Confidence Predictions for Unrecognizable Images.* CVPR 2015.
# - R. R. Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization.* ICCV 2017.
