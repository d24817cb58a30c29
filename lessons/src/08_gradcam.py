# %% [markdown]
# # 08 · Grad-CAM and its family
#
# Saliency maps (lesson 06) are sharp but hardly care which class you ask about. Class
# activation maps go the other way: they look at the last convolutional layer, whose
# feature maps still know *where* things are and already know *what* they are, and weight
# them by how much each one speaks for the class. The result is coarse but
# class-discriminative. This lesson builds CAM and Grad-CAM by hand, then meets the
# family: counterfactual maps, Guided Grad-CAM, Grad-CAM++ and Score-CAM.
#
# ## What you will learn
# - CAM: why a global-average-pooling (GAP) network explains itself with its own weights;
# - Grad-CAM in five lines, for any CNN, and that it equals `vislib.gradcam`;
# - how the choice of layer trades resolution against meaning, and why the default layer is
#   the *activated* output of the last block, not the conv layer before its BatchNorm;
# - counterfactual maps (what argues *against* a class) and Guided Grad-CAM;
# - Grad-CAM++ and Score-CAM, how far the methods agree and how much
#   of each map falls on the object.

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
# Let $A^k \in \mathbb{R}^{h \times w}$ be the $k$-th feature map of a convolutional layer
# and $S_c$ the pre-softmax score of class $c$.
#
# **CAM** (Zhou et al. 2016) needs a network that ends in global average pooling and one
# dense layer, $S_c = \sum_k w^c_k \frac{1}{hw}\sum_{ij} A^k_{ij}$. Swapping the sums shows
# how much each position contributes:
#
# $$M_c(i, j) = \sum_k w^c_k A^k_{ij}.$$
#
# **Grad-CAM** (Selvaraju et al. 2017) works for any CNN: it replaces $w^c_k$ by the
# average gradient of the score over the feature map,
#
# $$\alpha^c_k = \frac{1}{hw}\sum_{ij}\frac{\partial S_c}{\partial A^k_{ij}}, \qquad
# L^c = \mathrm{ReLU}\Big(\sum_k \alpha^c_k A^k\Big),$$
#
# upsampled to the image. On a GAP network $\partial S_c / \partial A^k_{ij} = w^c_k / hw$,
# so Grad-CAM *is* CAM (up to scale). Negating the gradients gives the **counterfactual**
# map (what argues against $c$); multiplying by guided backprop gives **Guided Grad-CAM**.
# **Grad-CAM++** (Chattopadhay et al. 2018) averages only positive gradients, weighting each
# position by $a^{kc}_{ij} = g^2 / (2g^2 + \sum_{ab} A^k_{ab}\, g^3)$ with
# $g = \partial S_c / \partial A^k_{ij}$. **Score-CAM** (Wang et al. 2020) uses no gradient:
# each feature map, scaled to $[0, 1]$, masks the image, and the class probability of the
# masked image is the map's weight.

# %%
import warnings
import keras
import tensorflow as tf

def upsample(maps, size):
    # (N, h, w) -> (N, H, W), bilinear with half-pixel centres (tf.image.resize's convention)
    return tf.image.resize(np.asarray(maps, np.float32)[..., None], size, method="bilinear").numpy()[..., 0]

def to01(maps):
    # each map scaled to [0, 1] on its own; a map that is constant (e.g. all zero) becomes 0
    lo = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - lo
    return np.divide(maps - lo, span, out=np.zeros_like(maps), where=span > 0)

images, labels, names = vislib.examples(cm, cm.pick(clothes=10, photos=6, heavy=3))
probs = cm.predict(images)
order = np.argsort(-probs, axis=1)
top1 = order[:, 0]
titles = [f"{cm.class_names[c]} {probs[i, c]:.2f}" for i, c in enumerate(top1)]
print(len(images), "images; last conv layer:", cm.last_conv, tuple(cm.model.get_layer(cm.last_conv).output.shape))


# %% [markdown]
# ## By hand
#
# ### CAM, on a network that ends in global average pooling
#
# CAM only applies when the classifier is one dense layer on globally averaged feature
# maps. MobileNetV2, ResNet50 and EfficientNet-Lite0 (the offline real ImageNet network
# `efficientnet_lite0`: `top_activation` -> `avg_pool` -> `predictions`) are built that way,
# and so is the offline clothes model `fashion_gap`. VGG16 and `fashion_cnn` flatten the
# last feature maps into fully connected layers, which weight every *position* separately,
# so there is no single $w^c_k$ per channel: under those profiles we use `fashion_gap`
# (offline) or skip CAM.

# %%
def ends_in_gap(course):
    return isinstance(course.model.layers[-2], keras.layers.GlobalAveragePooling2D)

if ends_in_gap(cm):
    gcm, gimages = cm, images
    print(f"{cm.name} ends in global average pooling and one dense layer: CAM runs on it directly.")
elif cm.channels == 1:
    gcm, gimages = vislib.load_model("fashion_gap"), images      # the offline GAP network, same clothes
    print(f"{cm.name} ends in Flatten + dense layers; CAM is shown on {gcm.name}.")
else:
    gcm, gimages = None, None
    print(f"{cm.name} ends in Flatten + fully connected layers, not global average pooling: "
          "CAM does not apply. Run the lesson with VISLIB_MODEL=mobilenet_v2 (or fashion_cnn) to see it; "
          "Grad-CAM below works for every CNN.")

# %%
if gcm is not None:
    gap = gcm.model.layers[-2]                                        # GlobalAveragePooling2D
    dense = gcm.model.layers[-1]                                      # Dense classifier
    feat_layer = gap.input._keras_history.operation.name             # the layer whose maps GAP averages
    A_gap = vislib.activations(gcm, gimages, feat_layer)[feat_layer]  # the last feature maps A^k (lesson 03): (N, h, w, K)
    g_top = gcm.predict(gimages).argmax(1)
    w_c = np.asarray(dense.kernel)[:, g_top]                          # (K, N): w^c_k for each image's class
    cam_hand = np.maximum(np.einsum("nhwk,kn->nhw", A_gap, w_c), 0)   # sum_k w^c_k A^k, ReLU
    cam_hand = to01(upsample(cam_hand, gcm.input_size))
    cam_lib = vislib.cam(gcm, gimages, normalize=True)   # scaled to [0, 1] like to01
    print(f"CAM on {gcm.name}, feature maps {A_gap.shape[1:]}: largest difference hand vs vislib.cam "
          f"{np.abs(cam_hand - cam_lib).max():.1e}")
    if gcm.weights in ("trained", "imagenet"):   # random ImageNet nets score ~1e-11: float32 rounding dominates
        assert np.allclose(cam_hand, cam_lib, atol=1e-4)
    fig = vislib.plot_attributions(gimages[:4], {"CAM": cam_lib[:4]},
                                   titles=[gcm.class_names[c] for c in g_top[:4]])
    plt.show()

# %% [markdown]
# ### Grad-CAM, for any CNN
#
# One tape gives both the feature maps of the last conv layer and the gradient of the
# top-1 score with respect to them. The rest is numpy: average the gradient over positions,
# weight the maps, ReLU, upsample, scale to $[0, 1]$.

# %%
layer = cm.model.get_layer(cm.last_conv)
head = cm.model.layers[-1]                                        # Dense classifier (softmax inside)
sub = keras.Model(cm.model.inputs, [layer.output, head.input])    # feature maps and the classifier's input

with tf.GradientTape() as tape:
    A, h = sub(cm.preprocess(images), training=False)
    logits = h @ head.kernel + head.bias                          # pre-softmax scores S_c
    score = tf.reduce_sum(tf.gather(logits, top1, batch_dims=1))
dA = tape.gradient(score, A).numpy()                              # dS_c / dA^k_ij
A = A.numpy()

alpha = dA.mean(axis=(1, 2), keepdims=True)                       # alpha_k: average gradient per channel
heat = np.maximum((alpha * A).sum(axis=-1), 0)                    # ReLU(sum_k alpha_k A^k), (N, h, w)
gradcam_hand = to01(upsample(heat, cm.input_size))
print("feature maps", A.shape, "-> coarse map", heat.shape, "-> upsampled", gradcam_hand.shape)

# %% [markdown]
# ## With vislib
#
# `vislib.gradcam(model, images, target=None, layer=None)` does the same (batched, compiled
# once per model; the layer defaults to the profile's last conv layer) and must agree with
# the hand-made map. Like every vislib method it returns raw values unless asked for
# `normalize=True` (each map scaled to [0, 1], as `to01` does). On a GAP network it also equals
# CAM at the pooled layer, up to that scale: the raw Grad-CAM weights are the classifier's weights
# divided by the number of positions.

# %%
gc = vislib.gradcam(cm, images, normalize=True)
assert gc.shape == images.shape[:3] and gc.dtype == np.float32
print("largest difference between vislib.gradcam and the hand-made map:", float(np.abs(gc - gradcam_hand).max()))
if cm.weights in ("trained", "imagenet"):   # random ImageNet nets score ~1e-11: float32 rounding dominates
    assert np.allclose(gc, gradcam_hand, atol=1e-4), "vislib.gradcam differs from the hand-made map"
if gcm is not None:
    gap_layer = gcm.model.layers[-2].input._keras_history.operation.name
    with warnings.catch_warnings():   # empty maps were reported just above; CAM has them too
        warnings.simplefilter("ignore", UserWarning)
        diff = np.abs(vislib.gradcam(gcm, gimages, layer=gap_layer, normalize=True) - cam_lib).max()
    print(f"on {gcm.name}, Grad-CAM at {gap_layer!r} vs CAM: largest difference {diff:.1e}")
    if gcm.weights in ("trained", "imagenet"):
        assert diff < 1e-4

# %% [markdown]
# ### When the map is empty
#
# Grad-CAM keeps only positive evidence: where $\sum_k \alpha_k A^k \le 0$ at every position of the
# layer, the ReLU leaves a map that is zero everywhere. That is the method's answer (no position
# speaks for the class at this layer), not a bug: vislib warns once per call, naming how many maps
# are empty, which images and the layer, and `plot_attributions` labels such panels "all-zero map";
# the counterfactual map, $\mathrm{ReLU}(-\sum_k \alpha_k A^k)$, then shows the evidence against the
# class, or another layer may show evidence for it. How often does it happen on this profile?

# %%
if cm.channels == 1:
    x_zero, source = vislib.fashion_mnist().test[0][:200, ..., None].astype("float32"), "the first 200 test images"
else:
    x_zero, source = images, "the sample photos"
empty, warned = {}, {}
for name in (cm.last_conv, cm.first_conv):
    with warnings.catch_warnings(record=True) as caught:   # caught and counted, not printed one by one
        warnings.simplefilter("always")
        raw = vislib.gradcam(cm, x_zero, layer=name, normalize=False)
    warned[name] = [str(w.message) for w in caught if "all zero" in str(w.message)]
    empty[name] = raw.max(axis=(1, 2)) == 0
    print(f"{name:>16s}: {empty[name].sum()} of {len(x_zero)} top-1 Grad-CAM maps are all zero "
          f"({empty[name].mean():.0%} of {source}); vislib warned {len(warned[name])} time(s)")
show = np.flatnonzero(empty[cm.last_conv])[:3]
if len(show):   # those images, with their (not empty) counterfactual maps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig = vislib.plot_attributions(x_zero[show], {"Grad-CAM": vislib.gradcam(cm, x_zero[show], normalize=True),
                                                      "counterfactual": vislib.gradcam(cm, x_zero[show], counterfactual=True, normalize=True)},
                                       titles=[f"test image {i}" for i in show])
    plt.show()


# %% [markdown]
# ### Which layer?
#
# Earlier layers have finer maps but their channels mean less (edges, textures); the last
# conv layer's channels mean object parts but its map is coarse. We take the deepest
# *activated* layer at each resolution (an activation, a pooling layer or a conv layer with
# its own non-linearity: what the next block reads) and, to see how class-specific each map
# is, correlate the maps for the top-1 and top-2 classes (lower = the two classes are
# explained by different places).

# %%
def corr(a, b):
    # Pearson r per image between two stacks of maps (0 when a map is constant)
    return np.array([np.corrcoef(p.ravel(), q.ravel())[0, 1] if p.std() > 0 and q.std() > 0 else 0.0
                     for p, q in zip(a, b)])

def activated(l):
    # what the next block reads: an activation, a pooling layer, or a conv layer with its own non-linearity
    if isinstance(l, (keras.layers.ReLU, keras.layers.Activation, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
        return True
    return isinstance(l, keras.layers.Conv2D) and getattr(l.activation, "__name__", "linear") != "linear"

names_in_order = [l.name for l in cm.model.layers]
deepest = {}
for l in cm.model.layers:
    if activated(l) and len(l.output.shape) == 4:
        deepest[tuple(l.output.shape[1:3])] = l.name                   # the last such layer at each size
LAYERS = sorted(set(deepest.values()) | {cm.last_conv}, key=names_in_order.index)[-5:]

n_sweep = cm.pick(clothes=len(images), photos=3)   # a few photos: every layer costs a backward pass
sweep = {}
for name in LAYERS:
    with warnings.catch_warnings():   # many maps: the empty ones are counted below, not warned about one call at a time
        warnings.simplefilter("ignore", UserWarning)
        m1 = vislib.gradcam(cm, images[:n_sweep], order[:n_sweep, 0], layer=name, normalize=True)
        m2 = vislib.gradcam(cm, images[:n_sweep], order[:n_sweep, 1], layer=name, normalize=True)
    sweep[name] = (m1, corr(m1, m2).mean())
    n_empty = int((m1.max(axis=(1, 2)) == 0).sum() + (m2.max(axis=(1, 2)) == 0).sum())
    print(f"{name:>26s} {str(tuple(cm.model.get_layer(name).output.shape[1:3])):>10s}  r(top-1, top-2) = {sweep[name][1]:+.2f}"
          f"   all-zero maps: {n_empty} of {2 * n_sweep}")
print("top-2 classes:", ", ".join(f"{cm.class_names[order[i, 0]]} / {cm.class_names[order[i, 1]]}" for i in range(n_sweep)))

fig, axes = plt.subplots(1, len(LAYERS) + 1, figsize=(2.2 * (len(LAYERS) + 1), 2.6))
axes[0].imshow(images[0].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(titles[0])
for ax, name in zip(axes[1:], LAYERS):
    ax.imshow(vislib.overlay(images[0], sweep[name][0][0]))
    ax.set_title(f"{name}\n{tuple(cm.model.get_layer(name).output.shape[1:3])}", fontsize=8)
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# Selvaraju et al. take the last conv layer as the best compromise between high-level
# meaning and spatial detail, and show on VGG16 that the maps get worse at earlier layers,
# whose small receptive fields see only local, less semantic features. The numbers above
# need reading with care. On `efficientnet_lite0` the top-2 class is mostly a close sibling
# of the top-1 (Egyptian_cat beside tiger_cat, cup beside espresso), so at the last layer
# the two maps nearly coincide (mean r about 0.9 on the first three photos): both classes
# are about the same object, and that is right. The shallower layers give the two classes
# less similar maps (r 0.2 to 0.4), but look at them: scattered edges and texture over the whole image,
# not two different objects. The small offline network has only two conv blocks, so its
# numbers need not follow any trend: look at the maps.

# %%
if cm.real_imagenet:   # measured on efficientnet_lite0: mean r = 0.89 at top_activation (threshold 0.75)
    vislib.claim(cm, sweep[cm.last_conv][1] > 0.75,
                 f"at {cm.last_conv} the maps of the top-1 and top-2 classes nearly coincide: "
                 f"mean r = {sweep[cm.last_conv][1]:.2f} (measured 0.89 on efficientnet_lite0; claimed > 0.75)")

# %% [markdown]
# ### Counterfactual maps
#
# Negating the gradients keeps the positions whose features lower the class score:
# where the evidence *against* the class lies. At the layer's own resolution the two maps
# never overlap (one is $\mathrm{ReLU}(x)$, the other $\mathrm{ReLU}(-x)$).

# %%
with warnings.catch_warnings():   # empty counterfactual maps are counted below
    warnings.simplefilter("ignore", UserWarning)
    con = vislib.gradcam(cm, images, counterfactual=True, normalize=True)
r_pro_con = corr(gc, con)
print("r(Grad-CAM, counterfactual) per image:", np.round(r_pro_con, 2))
empty_con = con.max(axis=(1, 2)) == 0
print(f"empty counterfactual maps: {empty_con.sum()} of {len(con)}")
fig = vislib.plot_attributions(images[:3], {"Grad-CAM (for)": gc[:3], "counterfactual (against)": con[:3]},
                               titles=titles[:3])
plt.show()

# %% [markdown]
# On `efficientnet_lite0` most counterfactual maps are empty (5 of the 6 photos): at every
# position of the 7x7 map the weighted sum $\sum_k \alpha_k A^k_{ij}$ is positive, so no
# region of these photos argues against the top-1 class. The exception is the astronaut,
# whose top-1 class (bobsled, 0.13) is a guess. An empty map has no correlation with
# anything (r = 0 above).

# %%
if cm.real_imagenet:   # measured on efficientnet_lite0: 5 of 6 empty (threshold: at least 4)
    vislib.claim(cm, empty_con.sum() >= 4 and len(con) == 6,
                 f"the counterfactual map of the top-1 class is empty on {empty_con.sum()} of {len(con)} photos "
                 "(measured 5 of 6 on efficientnet_lite0; claimed at least 4)")

# %% [markdown]
# ### Guided Grad-CAM, Grad-CAM++ and Score-CAM
#
# Guided Grad-CAM multiplies the sharp guided-backprop map by the coarse Grad-CAM map:
# fine detail, but only where Grad-CAM points. vislib computes Grad-CAM++ from the same pass as
# Grad-CAM (activations and their gradient) with the formula of the authors' code, as
# tf-keras-vis writes it (its tests compare the two), and Score-CAM in batches the way
# tf-keras-vis computes it. Score-CAM needs one forward pass per feature map and image: all
# 1280 maps of EfficientNet-Lite0's `top_activation` take minutes for the six photos on two CPU
# cores. So on wide layers `vislib.scorecam` keeps by default (`max_channels="auto"`) each
# image's 128 maps of largest spatial variance, the rule of tf-keras-vis' `max_N` ("Faster
# Score-CAM"); `benchmarks/ANALYSIS.md` gives how close that came to all maps and what it saved.
# Under `VISLIB_FAST` this lesson keeps 16.

# %%
k = int(cm.model.get_layer(cm.last_conv).output.shape[-1])
max_channels = None if k <= 64 else vislib.budget("auto", 16)   # "auto": vislib's default, 128 maps of a wide layer
print(f"{cm.last_conv} has {k} feature maps; Score-CAM uses {vislib.scorecam_channels(cm, max_channels=max_channels)} of them")

n_show = min(len(images), 4)
with warnings.catch_warnings():   # guided Grad-CAM recomputes Grad-CAM, whose empty maps were reported above
    warnings.simplefilter("ignore", UserWarning)
    guided = vislib.guided_gradcam(cm, images, normalize=True)
MAPS = {
    "Grad-CAM": gc,
    "Grad-CAM++": vislib.gradcam_plus_plus(cm, images, normalize=True),
    "Score-CAM": vislib.scorecam(cm, images, max_channels=max_channels, normalize=True),
    "guided Grad-CAM": guided,
    "counterfactual": con,
}
fig = vislib.plot_attributions(images[:n_show], {k_: v[:n_show] for k_, v in MAPS.items()}, titles=titles[:n_show])
plt.show()

# %% [markdown]
# How much do the methods agree, and how much of each map falls on the object? The
# boxes are hand-annotated for the sample photos and, for Fashion-MNIST, the item's
# bounding box on its black background; a map spread evenly would put the box's share of
# the image inside it. Two numbers per map: the share of its mass inside the box, and
# whether its peak falls inside (the *pointing game* of Zhang et al. 2016). On photos only
# some boxes can tell us anything: the cat's face and the cup fill the whole crop (their
# box is the image), and the astronaut has no ImageNet label, so we score the labelled
# photos whose box covers less than 90 % of the image and whose top-1 class is the label
# (on `efficientnet_lite0`: rocket, china and flower).

# %%
boxes = vislib.example_boxes(cm, images)   # hand-drawn boxes on photos, the item's bounding box offline
H, W = cm.input_size
regions = np.zeros((len(images), H, W), bool)
for i, bs in enumerate(boxes):
    for x0, y0, x1, y1 in bs:
        regions[i, y0:y1, x0:x1] = True
area = regions.mean(axis=(1, 2))                 # the box's share of the image
scored = area > 0
if cm.channels == 3:   # photos: a box that fills the crop says nothing; unlabelled or misclassified photos are left out
    scored &= (area < 0.9) & (labels == top1)
S = np.where(scored)[0]

def shares(m):
    # per image: the share of the map's mass that falls in the object box (0 for an empty map)
    mass = m.sum(axis=(1, 2))
    return (m * regions).sum(axis=(1, 2)) / np.where(mass > 0, mass, 1)

def hits(m):
    # per image: does the map's peak fall inside the box? (an empty map points nowhere)
    peak = m.reshape(len(m), -1).argmax(1)
    return regions.reshape(len(m), -1)[np.arange(len(m)), peak] & (m.max(axis=(1, 2)) > 0)

def inside(m):
    # mean share of the map's mass in the box, over the scored images
    return float(shares(m)[S].mean()) if len(S) else 0.0

cams = ["Grad-CAM", "Grad-CAM++", "Score-CAM"]
share = {name: inside(m) for name, m in MAPS.items()}
for a, b in [("Grad-CAM", "Grad-CAM++"), ("Grad-CAM", "Score-CAM"), ("Grad-CAM++", "Score-CAM")]:
    print(f"mean r({a}, {b}) = {corr(MAPS[a], MAPS[b]).mean():+.2f}")
print(f"{len(S)} scored images; share inside the box (box = {area[S].mean():.2f} of the image):",
      {n: round(v, 2) for n, v in share.items()})
if cm.channels == 3:
    print(f"{'':>16s}" + "".join(f"{names[i]:>18s}" for i in S) + "\n" + f"{'box area':>16s}"
          + "".join(f"{area[i]:>18.2f}" for i in S))
    for name in ["Grad-CAM", "Grad-CAM++", "Score-CAM", "guided Grad-CAM"]:
        sh, hi = shares(MAPS[name]), hits(MAPS[name])
        print(f"{name:>16s}" + "".join(f"{sh[i]:>10.2f} ({'peak in' if hi[i] else 'peak out'})" for i in S))

fig, ax = plt.subplots(figsize=(6, 2.6))
ax.bar(list(share), list(share.values()), color=[f"C{i}" for i in range(len(share))])
ax.axhline(area[S].mean() if len(S) else 0, color="k", ls="--", lw=1, label="spread evenly")
ax.set_ylabel("share in the box"); ax.set_ylim(0, 1); ax.legend(fontsize=8)
ax.tick_params(axis="x", labelsize=8)
plt.tight_layout(); plt.show()

# %% [markdown]
# On `fashion_cnn` the family disagrees. Grad-CAM puts much of its mass *next to* the item:
# for the T-shirt, where long sleeves would be. Empty background is evidence too (no sleeves
# rules out shirt, pullover and coat), and this network can use it, because its dense head
# weights every position separately. Score-CAM cannot see that kind of evidence: it
# multiplies the input by each feature map, and black stays black, so it can only credit
# the item's own pixels. Grad-CAM++, which keeps only positive gradients, lies in between.
#
# On GAP networks (where Grad-CAM is CAM) the methods agree closely. On `efficientnet_lite0`
# the mean correlation between any two of Grad-CAM, Grad-CAM++ and Score-CAM is 0.89 or more
# on the six photos (with Score-CAM on 16 maps; 0.95 with the default 128; we claim more than 0.8). On the three scored photos every
# method puts more of its mass in the box than the box's area (China: 0.91 to 0.97 of the map
# in a box of 0.63 of the image; the flower: 0.88 to 0.95 in 0.55), and Grad-CAM, Grad-CAM++ and Score-CAM point inside the
# box on two of the three. The rocket is the miss: its box is the rocket's body, 30 pixels
# wide, narrower than one cell of the 7x7 map (32 pixels), and the peak lands in the cells
# on either side; still, 0.14 to 0.16 of the map lies in a box of 0.10. Guided Grad-CAM, sharpened by
# guided backprop, points at the rocket itself. We claim: every method's share is at least
# 1.2 times the box's area on each scored photo (measured: at least 1.4), and each method's
# peak falls in the box on at least two of the three (measured: 2, 2, 2 and 3). Which map to
# trust is the question of lesson 12.

# %%
if cm.real_imagenet and len(S):   # thresholds measured on efficientnet_lite0 (see the text above)
    pairs = [("Grad-CAM", "Grad-CAM++"), ("Grad-CAM", "Score-CAM"), ("Grad-CAM++", "Score-CAM")]
    r_min = min(corr(MAPS[a], MAPS[b]).mean() for a, b in pairs)
    vislib.claim(cm, r_min > 0.8, f"Grad-CAM, Grad-CAM++ and Score-CAM agree: smallest mean r = {r_min:.2f} "
                 "(measured 0.89 with 16 Score-CAM maps, 0.95 with 128; claimed > 0.8)")
    most = int(np.ceil(2 * len(S) / 3))
    for name in ["Grad-CAM", "Grad-CAM++", "Score-CAM", "guided Grad-CAM"]:
        ratio = (shares(MAPS[name]) / np.where(area > 0, area, 1))[S]
        n_hit = int(hits(MAPS[name])[S].sum())
        vislib.claim(cm, ratio.min() >= 1.2 and n_hit >= most,
                     f"{name}: share in the box / box area >= {ratio.min():.2f} on every scored photo (claimed >= 1.2), "
                     f"peak in the box on {n_hit} of {len(S)} (claimed >= {most})")


# %% [markdown]
# ### Why the activated output, not the conv layer before BatchNorm
#
# The default layer `cm.last_conv` is the *activated* output of the last block:
# `top_activation` on `efficientnet_lite0` (conv, then BatchNorm, then ReLU6), `out_relu` on
# MobileNetV2. The conv layer itself (`top_conv`, `Conv_1`) holds un-normalised maps, about
# half of their values negative, which the classifier never sees as such. Grad-CAM there is
# no longer CAM, and Score-CAM, which turns each map into a mask, masks the image with the
# wrong regions. On networks whose conv layers carry their own ReLU (VGG16, the offline
# models) there is nothing to compare.

# %%
def conv_before(course):
    # the conv layer whose output reaches course.last_conv only through BatchNorm / activation layers
    layer = course.model.get_layer(course.last_conv)
    while isinstance(layer, (keras.layers.BatchNormalization, keras.layers.ReLU, keras.layers.Activation)):
        layer = layer.input._keras_history.operation
    return None if layer.name == course.last_conv else layer.name

pre_conv = conv_before(cm)
if pre_conv is None:
    print(f"{cm.last_conv} has its own activation and no BatchNorm after it: nothing to compare.")
else:
    A_pre = np.asarray(keras.Model(cm.model.inputs, cm.model.get_layer(pre_conv).output)(cm.preprocess(images), training=False))
    neg_pre, neg_act = float((A_pre < 0).mean()), float((A < 0).mean())
    reference = cam_lib if gcm is cm else gc                 # on a GAP network: CAM, how the score is made of positions
    sc_pre = vislib.scorecam(cm, images, layer=pre_conv, max_channels=max_channels, normalize=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        gc_pre = vislib.gradcam(cm, images, layer=pre_conv, normalize=True)
    r_sc_act, r_sc_pre = corr(MAPS["Score-CAM"], reference), corr(sc_pre, reference)
    gap_pre = float(np.abs(gc_pre - reference).max())
    print(f"negative values: {neg_pre:.0%} of {pre_conv}, {neg_act:.0%} of {cm.last_conv}")
    print(f"largest difference between Grad-CAM at {pre_conv} and CAM: {gap_pre:.2f}")
    print(f"mean r(Score-CAM, CAM): {r_sc_act.mean():.2f} at {cm.last_conv}, {r_sc_pre.mean():.2f} at {pre_conv}; "
          f"empty Score-CAM maps at {pre_conv}: {(sc_pre.max(axis=(1, 2)) == 0).sum()} of {len(images)}")
    worst = np.sort(np.argsort(r_sc_pre)[:3])                # the three photos where the layers disagree most
    fig = vislib.plot_attributions(images[worst], {f"Score-CAM @ {cm.last_conv}": MAPS["Score-CAM"][worst],
                                                   f"Score-CAM @ {pre_conv}": sc_pre[worst]},
                                   titles=[titles[i] for i in worst])
    plt.show()

# %% [markdown]
# On `efficientnet_lite0`, 56 % of the values of `top_conv` are negative on the six photos
# (none of `top_activation`'s; we claim more than 40 %), Grad-CAM at `top_conv` differs from
# CAM by up to 0.39 (claimed: more than 0.1), and Score-CAM at `top_conv` follows CAM far
# less closely (mean r 0.56 against 0.91 at `top_activation` with 16 maps, 0.42 against 0.95
# with 128; claimed: above 0.8 at `top_activation` and at least 0.2 lower at `top_conv`): its
# map of the cat is empty, on the rocket it leaves the rocket for the edges of the picture,
# on China it moves off the tower to the sky and water beside it.

# %%
if pre_conv is not None and cm.real_imagenet:   # measured on efficientnet_lite0 (see the text above)
    vislib.claim(cm, neg_pre > 0.4, f"{neg_pre:.0%} of the values of {pre_conv} are negative "
                 "(measured 56 %; claimed > 40 %)")
    vislib.claim(cm, gap_pre > 0.1, f"Grad-CAM at {pre_conv} is not CAM: largest difference {gap_pre:.2f} "
                 "(measured 0.39; claimed > 0.1)")
    vislib.claim(cm, r_sc_act.mean() > 0.8 and r_sc_act.mean() - r_sc_pre.mean() > 0.2,
                 f"Score-CAM follows CAM at {cm.last_conv} (mean r {r_sc_act.mean():.2f}, claimed > 0.8) "
                 f"and much less at {pre_conv} ({r_sc_pre.mean():.2f}; claimed at least 0.2 lower)")

# %% [markdown]
# ## Explore
#
# Choose an image, a method, a layer and one of the image's top-5 classes; each map is
# computed once and cached. The overlay's opacity only redraws.

# %%
EXPLAIN = {
    "Grad-CAM": lambda x, c, layer: vislib.gradcam(cm, x, c, layer=layer, normalize=True),
    "counterfactual": lambda x, c, layer: vislib.gradcam(cm, x, c, layer=layer, counterfactual=True, normalize=True),
    "guided Grad-CAM": lambda x, c, layer: vislib.guided_gradcam(cm, x, c, layer=layer, normalize=True),
    "Grad-CAM++": lambda x, c, layer: vislib.gradcam_plus_plus(cm, x, c, layer=layer, normalize=True),
    "Score-CAM": lambda x, c, layer: vislib.scorecam(
        cm, x, c, layer=layer, max_channels=max_channels if int(cm.model.get_layer(layer).output.shape[-1]) > 64 else None, normalize=True),
}
cache = {}

def explain(i, method, layer, rank):
    key = (i, method, layer, rank)
    if key not in cache:
        cls = int(order[i, rank])
        with warnings.catch_warnings():   # an empty map is labelled on the panel instead
            warnings.simplefilter("ignore", UserWarning)
            cache[key] = (cls, EXPLAIN[method](images[i:i + 1], cls, layer)[0])
    return cache[key]

def show_cam(image, method, layer, rank, alpha):
    cls, m = explain(image, method, layer, rank)
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(images[image].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(names[image])
    axes[1].imshow(vislib.overlay(images[image], m, alpha=alpha))
    vislib.label_zero_map(axes[1], m)                    # "all-zero map" when it is one
    axes[1].set_title(f"{method} @ {layer}\n{cm.class_names[cls]} ({probs[image, cls]:.2f})", fontsize=9)
    for ax in axes: ax.axis("off")
    plt.tight_layout(); plt.show()

vislib.explorer(show_cam, heavy=("image", "method", "layer", "rank"),
                image=widgets.Dropdown(options=[(f"{k_}: {n}", k_) for k_, n in enumerate(names)], description="image"),
                method=widgets.Dropdown(options=list(EXPLAIN), description="method"),
                layer=widgets.Dropdown(options=LAYERS + ([pre_conv] if pre_conv else []), value=cm.last_conv,
                                       description="layer"),
                rank=widgets.Dropdown(options=[(f"top-{r + 1}", r) for r in range(5)], description="class"),
                alpha=widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="alpha"))

# %% [markdown]
# ## What to notice
#
# - Grad-CAM by hand equals `vislib.gradcam`; on a GAP network CAM equals Grad-CAM.
# - Every map is at input resolution, each scaled to $[0, 1]$ on its own; an all-zero map
#   stays zero, and vislib says how many there were (one warning per call, not one per map).
# - Guided Grad-CAM is zero wherever Grad-CAM is zero (it is their product).
# - The evidence for and against a class sits in different places: the Grad-CAM map and its
#   counterfactual are never positively correlated (with trained weights, where neither map
#   is empty: negatively).
# - With the trained offline clothes model, Grad-CAM++ and Score-CAM agree with each other
#   more than with Grad-CAM, and put more of their mass on the item than Grad-CAM does.
# - With real ImageNet weights (`efficientnet_lite0`) the family agrees, puts more of its
#   mass in the object's box than the box's area and mostly points inside it; at the conv
#   layer before BatchNorm, Score-CAM loses the object (checked above with `vislib.claim`).

# %%
for name, m in MAPS.items():
    assert m.shape == images.shape[:3] and m.dtype == np.float32, name
    peak = m.max(axis=(1, 2))
    assert m.min() >= 0 and np.all(np.isclose(peak, 1) | (peak == 0)), (name, peak)   # per image
for name in empty:   # one warning per call exactly when some map was empty, naming how many
    assert len(warned[name]) == int(empty[name].any()), warned[name]
    assert all(w.startswith(f"gradcam: {empty[name].sum()} of {len(x_zero)} maps are all zero") for w in warned[name])
assert (MAPS["guided Grad-CAM"][gc == 0] == 0).all()
assert (r_pro_con <= 0.05).all(), r_pro_con
if cm.weights in ("trained", "imagenet"):   # where both maps are non-empty (an empty map has r = 0)
    both = ~empty_con & (gc.max(axis=(1, 2)) > 0)
    assert both.any() and (r_pro_con[both] < 0).all(), r_pro_con
if cm.weights == "trained":   # measured on the offline models
    r_pp_sc = corr(MAPS["Grad-CAM++"], MAPS["Score-CAM"]).mean()
    assert r_pp_sc > 0.2 and r_pp_sc > corr(MAPS["Grad-CAM"], MAPS["Score-CAM"]).mean()
    assert share["Grad-CAM++"] > share["Grad-CAM"] and share["Score-CAM"] > share["Grad-CAM"], share

# %%
# the explorer's callback serves cached maps: a second call with another alpha computes nothing
show_cam(0, "Grad-CAM", cm.last_conv, 1, 0.5)
n_cached = len(cache)
show_cam(0, "Grad-CAM", cm.last_conv, 1, 0.8)
assert len(cache) == n_cached

# %% [markdown]
# ## Exercises
#
# 1. Grad-CAM's channel weights: set `alpha0` to the vector $\alpha_k$ (one value per
#    feature map of `cm.last_conv`) for the first image, from `dA`.
# 2. How many positions wide is the coarse Grad-CAM map at `cm.last_conv`, before it is
#    upsampled? Set `coarse_width`.
# 3. Compute the Grad-CAM map of the first image for its **least** likely class with
#    `vislib.gradcam` and store the (H, W) map in `least_map`.
# 4. Build the counterfactual map of the first image by hand from `A` and `dA` (coarse,
#    ReLU, then `upsample` and `to01` from the first cell) and store it in `against`.

# %%
alpha0 = None          # your answer
coarse_width = None    # your answer
least_map = None       # your answer
against = None         # your answer

vislib.check(alpha0, dA[0].mean(axis=(0, 1)), tol=1e-4, hint="alpha_k is the gradient with respect to map k averaged over all its positions",
             name="1. channel weights")
vislib.check(coarse_width, A.shape[2], hint="the feature maps are stored as (images, height, width, channels)", name="2. coarse width")
vislib.check(least_map, vislib.gradcam(cm, images[:1], int(order[0, -1]))[0], tol=1e-3,
             hint="the same call as for the top-1 map, with the least likely class (the end of order) as the target", name="3. least likely class")
vislib.check(against, con[0], tol=1e-3,
             hint="Grad-CAM by hand (weighted sum of the maps, ReLU, upsample, scale to 0-1) with the weights negated",
             name="4. counterfactual by hand");

# %% [markdown]
# ## Summary
#
# - CAM reads the explanation off a GAP network's own classifier weights; Grad-CAM replaces
#   them by average gradients and so works for every CNN (and equals CAM on GAP networks).
# - `vislib.cam`, `gradcam` (with `counterfactual=True`), `guided_gradcam`,
#   `gradcam_plus_plus` and `scorecam` share one call shape,
#   `(model, images, target=None, layer=None) -> (N, H, W)` in $[0, 1]$.
# - The layer sets the trade-off: deep layers mean more, shallow layers see finer. Take the
#   activated output of a block (after BatchNorm and the activation), not the conv before it.
# - On a real ImageNet network with a GAP head the family agrees and points at the object
#   on most photos; on a network with a flattening head methods can disagree: one average
#   gradient per channel can credit the background. Score-CAM weights each feature map by
#   how much the class probability rises when the image is masked by that map; its result is
#   still a weighted sum of feature maps, so it can light up background too. Lesson 12 asks
#   which explanations to trust.
#
# ## References
#
# - B. Zhou, A. Khosla, A. Lapedriza, A. Oliva, A. Torralba. *Learning Deep Features for Discriminative Localization.* CVPR 2016.
# - R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh, D. Batra. *Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization.* ICCV 2017.
# - A. Chattopadhay, A. Sarkar, P. Howlader, V. N. Balasubramanian. *Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks.* WACV 2018.
# - H. Wang, Z. Wang, M. Du, F. Yang, Z. Zhang, S. Ding, P. Mardziel, X. Hu. *Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks.* CVPR workshops 2020.
# - J. Zhang, Z. Lin, J. Brandt, X. Shen, S. Sclaroff. *Top-down Neural Attention by Excitation Backprop.* ECCV 2016 (the pointing game).
# - J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for Simplicity: The All Convolutional Net.* ICLR workshop 2015.
# - Y. Kubota. *tf-keras-vis* (software), https://github.com/keisen/tf-keras-vis.
