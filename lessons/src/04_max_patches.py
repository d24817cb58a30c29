# %% [markdown]
# # 04 · Max-activating patches
#
# A unit deep inside a CNN does not look at the whole image: it looks at a window, its
# *receptive field*. Search many images for the windows that excite one unit most, cut
# out exactly that window, and you see what the unit responds to. Done for an early, a
# middle and a late layer this shows the famous progression of Zeiler & Fergus (2014):
# edges, then textures, then parts of objects.
#
# ## What you will learn
# - how big a unit's receptive field is and how to compute it exactly from kernel sizes,
#   strides and paddings (`vislib.receptive_field`);
# - how to find the top-9 image patches of a unit (`vislib.max_activating_patches`) and
#   why each patch must be cropped to the unit's field, no more, no less;
# - how what units respond to changes from the first layers to the last.

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
# **Receptive field.** Give every layer $l$ a kernel size $k_l$, stride $s_l$, dilation
# $d_l$ and $p_l$ pixels of padding before its input. Write $r_l$ for the field size of
# one unit of layer $l$ in input pixels, $j_l$ for the *jump* (how many input pixels
# apart two neighbouring units are) and $t_l$ for where the field of unit 0 starts. With
# $r_0 = j_0 = 1$, $t_0 = 0$ (one input pixel):
#
# $$r_l = r_{l-1} + d_l (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l, \qquad t_l = t_{l-1} - p_l\, j_{l-1}.$$
#
# Unit $(i, j)$ of layer $l$ then sees input rows $t_l + i\, j_l$ to $t_l + i\, j_l + r_l - 1$
# (and the same for columns). Every pixel outside that window has *no* influence on it.
# VGG16's `block5_conv3` units see 196x196 pixels, almost the whole 224x224 image.
#
# **Max-activating patches.** For channel $c$ of layer $l$ with activations
# $a^{(l)}_{n,i,j,c}$ on images $n = 1..N$, keep the $k$ largest
#
# $$(n, i, j)^\star = \operatorname{top-}k_{\,n,i,j}\; a^{(l)}_{n,i,j,c}$$
#
# (at most one per image, as in Zeiler & Fergus) and show the field of each, cut from
# image $n$. Those are the pixels that produced the value, nothing else.

# %%
from vislib.representation.receptive_field import box

# the images to search
if cm.channels == 1:
    xt, yt = vislib.fashion_mnist().test
    n = vislib.budget(2000, 500)
    images, labels = xt[:n, ..., None].astype(np.float32), yt[:n]
    print(f"searching {n} Fashion-MNIST test images")
else:
    # few photos ship with the course, so we add mirror images and zoomed-in quarters of each
    photos, _, _ = vislib.examples(cm, 6)           # centre-cropped, as ImageNet networks are evaluated
    h, w = cm.input_size
    corners = [(y, x) for y in (0, h // 2) for x in (0, w // 2)][:vislib.budget(4, 1)]
    # crop=False: a quarter is already square, so it is enlarged whole (the default centre crop of
    # ImageNet profiles would cut away its border, and the quarters would no longer tile the photo)
    quarters = [cm.prepare(photos[:, y:y + h // 2, x:x + w // 2], crop=False) for y, x in corners]
    images = np.concatenate([photos, photos[:, :, ::-1]] + quarters)
    labels = None
    print(f"searching {len(images)} images: {len(photos)} photos, their mirror images and zoomed quarters")

# an early, a middle and a late layer
convs = cm.conv_layers
layers = list(dict.fromkeys([convs[0], convs[len(convs) // 2], convs[-1]]))
if len(layers) < 3:  # the offline model has two conv layers: add its last pooling layer
    layers.append(vislib.spatial_layer_names(cm.model)[-1])
print("layers:", layers)


# %% [markdown]
# ## By hand
#
# **The field.** Walk up the layers and apply the two recurrences for size and jump (a
# plain loop works for a chain of layers like VGG16 or the offline model; `vislib` walks
# the graph, so it also handles the branches of ResNet and MobileNetV2).

# %%
def field_by_hand(model, upto):
    r, j = 1, 1
    for layer in model.layers:
        if hasattr(layer, "kernel_size"):                 # Conv2D, DepthwiseConv2D
            k, s, d = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
        elif hasattr(layer, "pool_size"):                 # MaxPooling2D, AveragePooling2D
            k, s, d = layer.pool_size[0], layer.strides[0], 1
        else:
            k, s, d = 1, 1, 1
        r, j = r + d * (k - 1) * j, j * s
        if layer.name == upto:
            return r, j

for name in layers:
    print(f"{name:>20}: field {field_by_hand(cm.model, name)[0]:>3} px, jump {field_by_hand(cm.model, name)[1]}")

# %% [markdown]
# The field grows by $(k - 1)$ jumps per layer and the jump multiplies at every stride, so
# it grows fastest near the top. Every conv layer of the network, in order, against the
# image size (dashed):

# %%
H = cm.input_size[0]
fields = [vislib.receptive_field(cm, l).size[0] for l in cm.conv_layers]
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.plot(fields, "o-", ms=3)
ax.axhline(H, color="k", ls="--", lw=1, label=f"image, {H} px")
ax.set_xlabel("conv layer (in order)"); ax.set_ylabel("receptive field (px)"); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()
larger = [l for l, f in zip(cm.conv_layers, fields) if f > H]
print(f"{len(larger)} of {len(fields)} conv layers have a field larger than the {H}-px image"
      + (f", the first {larger[0]} ({fields[cm.conv_layers.index(larger[0])]} px)" if larger else ""))

# %% [markdown]
# **The patches.** Run the images through the network once, take the strongest position
# in each image for one unit of the middle layer, keep the nine best images and cut out
# the field of each.

# %%
mid = layers[1]
acts_all = vislib.activations(cm, images, layers)                 # one pass for all three layers
acts = acts_all[mid]                                             # (N, h, w, channels)
unit = int(np.argmax(acts.max(axis=(0, 1, 2))))                  # the channel with the strongest response
a = acts[..., unit].reshape(len(images), -1)
best_pos = a.argmax(axis=1)                                      # each image's strongest position
top9 = np.argsort(-a.max(axis=1), kind="stable")[:9]              # the nine strongest images
r, jump = field_by_hand(cm.model, mid)
rf = vislib.receptive_field(cm, mid)
hand = []
for n in top9:
    i, j = divmod(int(best_pos[n]), acts.shape[2])
    y0, x0 = rf.start[0] + i * jump, rf.start[1] + j * jump      # may be < 0: the field leaves the image
    crop = np.zeros((r, r, cm.channels), np.float32)
    ys, xs = slice(max(y0, 0), min(y0 + r, images.shape[1])), slice(max(x0, 0), min(x0 + r, images.shape[2]))
    crop[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0] = images[n, ys, xs]
    hand.append((float(a[n, best_pos[n]]), int(n), crop))
print(f"{mid}, unit {unit}: top activations", np.round([v for v, _, _ in hand], 2))

# %% [markdown]
# ## With vislib
#
# `vislib.receptive_field(model, layer)` gives size, jump and start per axis;
# `vislib.max_activating_patches(model, layer, channel, images, k=9)` scans the images in
# batches and returns the patches, strongest first. `maps=` reuses activations already
# computed. Both agree with the hand version:

# %%
if cm.name != "resnet50":  # ResNet's strided shortcut convolutions fool the plain loop above
    assert rf.size == (r, r) and rf.jump == (jump, jump)
patches = vislib.max_activating_patches(cm, mid, unit, images, k=9, maps=acts)
assert [p.image_index for p in patches] == [n for _, n, _ in hand]
assert np.allclose([p.value for p in patches], [v for v, _, _ in hand])
assert all(np.array_equal(p.crop, c) for p, (_, _, c) in zip(patches, hand))
print(rf)
fig = vislib.plot_patches(patches, title=f"{mid}, unit {unit}: top-9 patches ({rf.size[0]}x{rf.size[1]} px)")
plt.show()

# %% [markdown]
# Where do they come from? The fields of the three strongest patches drawn on their images:

# %%
fig, axes = plt.subplots(1, 3, figsize=(6, 2.2))
for ax, p in zip(axes, patches[:3]):
    img = images[p.image_index] / 255.0
    ax.imshow(img[..., 0] if cm.channels == 1 else img, cmap="gray", vmin=0, vmax=1)
    y0, y1, x0, x1 = box(rf, *p.position)
    vislib.draw_boxes(ax, [(x0, y0, x1, y1)], lw=1.5)
    ax.set_title(f"image {p.image_index}, unit at {p.position}", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# ### From edges to parts
#
# One scan per layer serves every channel (`channel="all"`); the activations computed
# above serve all three layers. For each layer we show the three channels whose top
# patches respond most strongly. A first-layer unit sees a few pixels, so all it can
# respond to is a colour, a contrast or an edge; a middle unit's field holds a texture or
# a part of an object (on the photos: an eye, a cup's rim, the emblem on a suit; on the
# 28-px clothes an 8-px field holds a corner or a stretch of the item's outline).
#
# When the field is larger than the image, the "patch" would be the whole image inside a
# frame of padding (EfficientNet-Lite0's top layer: 851 px, of which 224 are image). Such
# a unit sees everything, so cutting out its field shows nothing about *where*. For those
# layers we draw the whole image instead and mark the unit's cell on the layer's grid
# (one jump wide, centred on its field).

# %%
scans = {l: vislib.max_activating_patches(cm, l, "all", images, k=9, maps=acts_all[l]) for l in layers}
# layer -> {channel: patches}, from the activations computed once above

def scan(layer):
    return scans[layer]

def show_patches(patches, rf, fig=None, title=None):
    if rf.size[0] < rf.input_size[0] or rf.size[1] < rf.input_size[1]:
        return vislib.plot_patches(patches, fig=fig, title=title)
    fig = fig or plt.figure(figsize=(3.6, 3.9))      # field larger than the image: whole image + the unit's cell
    axes = fig.subplots(3, 3)
    for ax, p in zip(axes.ravel(), patches):
        ax.imshow(p.image.astype("uint8").squeeze(), cmap="gray", vmin=0, vmax=255)
        y0, y1, x0, x1 = box(rf, *p.position, clip=False)
        cy, cx, half = (y0 + y1 - 1) / 2, (x0 + x1 - 1) / 2, rf.jump[0] / 2
        vislib.draw_boxes(ax, [(cx - half, cy - half, cx + half, cy + half)], lw=1.5)
        ax.set_title(f"{p.value:.2f} (#{p.image_index})", fontsize=7)
    for ax in axes.ravel():
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig

for layer in layers:
    by_channel = scan(layer)
    strongest = sorted(by_channel, key=lambda c: -np.mean([p.value for p in by_channel[c]]))[:3]
    rf_l = vislib.receptive_field(cm, layer)
    fig = plt.figure(figsize=(10, 3.6))
    for sub, c in zip(fig.subfigures(1, 3), strongest):
        show_patches(by_channel[c], rf_l, fig=sub, title=f"unit {c}")
    fig.suptitle(f"{layer}: receptive field {rf_l.size[0]}x{rf_l.size[1]} px", y=1.04)
    plt.show()

# %% [markdown]
# ### A field larger than the image
#
# Does a unit whose field covers the whole image then look everywhere equally? The field
# is only an upper bound: it says which pixels *can* change the unit. How much each pixel
# *does* change it is the gradient $\partial a / \partial x$. Luo et al. (2016) call the
# region where this gradient is large the **effective receptive field** and found it
# roughly Gaussian and far smaller than the theoretical field. We compute it for two
# units of `cm.last_conv` (the last block's activated output, the layer CAM explains in
# lesson 08): the one in the centre of its grid and the one in the top-left corner. A
# unit here is one grid position, all channels summed; the map is $|\partial a / \partial x|$
# summed over the colour channels, normalised per image and averaged over six images.

# %%
import keras
import tensorflow as tf

probe_layer = cm.last_conv
rf_top = vislib.receptive_field(cm, probe_layer)
probe = images[:6]                                             # the six photos (offline: six clothes)
to_layer = keras.Model(cm.model.inputs, cm.model.get_layer(probe_layer).output)

def unit_gradient(i, j):
    # |d (sum over channels of unit (i, j)) / d pixel|, summed over colours, each image's map summing to 1;
    # one image per tape: a tape keeps every layer's output until tape.gradient returns
    g = []
    for image in probe:
        x = tf.convert_to_tensor(image[None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            a = to_layer(cm.preprocess(x), training=False)
            s = tf.reduce_sum(a[0, i, j, :])
        g.append(np.abs(tape.gradient(s, x).numpy()[0]).sum(-1))
    g = np.stack(g)
    return g / g.sum(axis=(1, 2), keepdims=True)

gh, gw = rf_top.map_size
units = {"centre": (gh // 2, gw // 2), "top-left corner": (0, 0)}
erf = {name: unit_gradient(*pos) for name, pos in units.items()}
half_h, half_w = H // 2, cm.input_size[1] // 2
corner_share = erf["top-left corner"][:, :half_h, :half_w].sum(axis=(1, 2))   # gradient mass in the top-left quarter
yy, xx = np.mgrid[:H, :cm.input_size[1]]
corner_centroid = np.array([((m * yy).sum(), (m * xx).sum()) for m in erf["top-left corner"]])
print(f"{probe_layer}: field {rf_top.size[0]} px on a {H}-px image, grid {gh}x{gw}, jump {rf_top.jump[0]} px")
print("top-left unit: share of its gradient in the image's top-left quarter", np.round(corner_share, 2),
      "(the quarter is 25% of the image)")
print("top-left unit: centre of mass of its gradient (row, col)", corner_centroid.round().astype(int).tolist())

fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
axes[0].imshow(probe[0].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title("one of the images", fontsize=9)
for ax, (name, (i, j)) in zip(axes[1:], units.items()):
    ax.imshow(vislib.clip_outliers(erf[name].mean(0)), cmap="inferno")
    y0, y1, x0, x1 = box(rf_top, i, j, clip=False)
    cy, cx, half = (y0 + y1 - 1) / 2, (x0 + x1 - 1) / 2, rf_top.jump[0] / 2
    vislib.draw_boxes(ax, [(cx - half, cy - half, cx + half, cy + half)], lw=1.5)
    ax.set_title(f"unit {(i, j)}: |gradient|", fontsize=9)
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()


# %% [markdown]
# The green square is the unit's own cell on the grid. On EfficientNet-Lite0 the centre
# unit's gradient is spread over the middle of the image, and the corner unit's gradient
# sits in the top-left part of the image, although both units' fields (851 px) reach far
# beyond the image on every side. Measured on the six photos: the corner unit puts 52-74 % of its
# gradient into the top-left quarter (25 % of the image), and its centre of mass lies in
# that quarter on every photo. So the 7x7 grid of the top layer still says *where*: that
# is what lets CAM (lesson 08) localise objects with it. The check below asks for at least
# 40 % on every photo, a margin of 12 points under the weakest photo.

# %% [markdown]
# ## Explore
#
# Choose a layer and a unit (both lookups in the scans above). The unit number wraps
# around when it is larger than the layer's channel count.

# %%
def show_unit(layer, unit):
    by_channel = scan(layer)
    c = unit % len(by_channel)
    rf_l = vislib.receptive_field(cm, layer)
    show_patches(by_channel[c], rf_l, title=f"{layer}, unit {c}: field {rf_l.size[0]} px")
    plt.show()

max_units = max(int(cm.model.get_layer(l).output.shape[-1]) for l in layers)
vislib.explorer(show_unit, heavy=("layer",),
                layer=widgets.Dropdown(options=layers, value=layers[1], description="layer"),
                unit=widgets.IntSlider(min=0, max=max_units - 1, value=unit, description="unit"))

# %% [markdown]
# ## What to notice
#
# - Each patch is exactly the receptive field: its size is the field size, and the
#   activations are sorted, strongest first.
# - The stored value is real: running the network again on that one image gives the same
#   activation at that position, and blacking out every pixel *outside* the field leaves
#   it unchanged (those pixels cannot reach the unit).
# - The field grows with depth, and so does what a patch can show.
# - No pixel outside a unit's field has any gradient; inside a field larger than the
#   image, the gradient still concentrates around the unit's own place (with ImageNet
#   weights: the top-left unit of the last layer draws most of its gradient from the
#   image's top-left quarter).
# - The first layer is a template matcher (lesson 01): the average of a unit's top
#   patches looks like its kernel, so the two correlate positively for most units.

# %%
strongest, masked = [], []
for layer in layers:
    rf_l = vislib.receptive_field(cm, layer)
    by_channel = scan(layer)
    for c in list(by_channel)[:8]:
        ps = by_channel[c]
        assert all(p.crop.shape == (*rf_l.size, cm.channels) for p in ps)
        values = [p.value for p in ps]
        assert values == sorted(values, reverse=True)
    p = by_channel[0][0]
    strongest.append(p)
    y0, y1, x0, x1 = box(rf_l, *p.position)                       # only the pixels inside the field matter:
    m = np.zeros_like(images[p.image_index])                      # black out everything else
    m[y0:y1, x0:x1] = images[p.image_index, y0:y1, x0:x1]
    masked.append(m)
# one pass for all layers: the images again (the same values) and their masked copies (unchanged values)
rerun = vislib.activations(cm, np.stack([images[p.image_index] for p in strongest] + masked), layers)
for k, (layer, p) in enumerate(zip(layers, strongest)):
    assert np.isclose(rerun[layer][k][(*p.position, 0)], p.value, rtol=1e-4, atol=1e-4)
    assert np.isclose(rerun[layer][len(layers) + k][(*p.position, 0)], p.value, rtol=1e-3, atol=1e-3)

# the gradient of the corner unit vanishes outside its field (exact on every network)
y0, y1, x0, x1 = box(rf_top, 0, 0)
outside = erf["top-left corner"].copy()
outside[:, y0:y1, x0:x1] = 0
assert outside.max() < 1e-6, outside.max()
if cm.real_imagenet:   # measured on EfficientNet-Lite0: 0.52-0.74 of the gradient in the quarter, centroids <= 83 px
    vislib.claim(cm, (corner_share >= 0.40).all() and (corner_centroid < H / 2).all(),
                 f"the top-left unit of {probe_layer} (field {rf_top.size[0]} px) draws at least 40% of its gradient "
                 f"from the image's top-left quarter on every image (here {corner_share.min():.0%}-"
                 f"{corner_share.max():.0%}) and its centre of mass lies in that quarter")

sizes = [vislib.receptive_field(cm, l).size[0] for l in layers]
assert sizes == sorted(sizes) and sizes[0] < sizes[-1], sizes

first = layers[0]
kernel = cm.model.get_layer(first).get_weights()[0]               # (k, k, C, F)
if kernel.shape[0] == vislib.receptive_field(cm, first).size[0]:
    agree = []
    for c, ps in scan(first).items():
        mean_patch = np.asarray(cm.preprocess(np.stack([p.crop for p in ps]))).mean(axis=0)
        agree.append(np.corrcoef(mean_patch.ravel(), kernel[..., c].ravel())[0, 1] > 0)
    print(f"{np.mean(agree):.0%} of {first}'s units: mean top patch correlates positively with the kernel")
    assert np.mean(agree) >= 0.75

# %% [markdown]
# ## Exercises
#
# 1. Without running code: a 3x3 conv (stride 1) followed by a 2x2 max pooling (stride 2)
#    and another 3x3 conv. How large is the receptive field of the second conv's units?
# 2. How many input pixels apart are two neighbouring units of the last layer in `layers`?
#    (Read it from `vislib.receptive_field`.)
# 3. Which image (its index) gives the strongest patch of channel 0 of the middle layer?

# %%
answer_1 = None   # field size of the second conv, in pixels
answer_2 = None   # the jump of layers[-1]
answer_3 = None   # image index of the strongest patch of channel 0 of layers[1]

vislib.check(answer_1, 8, hint="start from 1 pixel; each layer adds (kernel - 1) times its jump, the product of the strides of the layers below it", name="1. field")
vislib.check(answer_2, vislib.receptive_field(cm, layers[-1]).jump[0], hint="the jump: how far apart in the input two neighbouring units' fields are, the product of the strides below", name="2. jump")
vislib.check(answer_3, scan(layers[1])[0][0].image_index, hint="each patch of channel 0 knows its value and the image it was cut from: take the strongest", name="3. strongest")

# %% [markdown]
# ## Summary
#
# - A unit's receptive field follows exactly from kernel sizes, strides, dilations and
#   paddings: $r_l = r_{l-1} + d_l(k_l-1)\,j_{l-1}$, $j_l = j_{l-1}s_l$.
# - Max-activating patches are the top-$k$ activations of one channel over a dataset,
#   each cut to the unit's field; they are real data, so they show what a unit responds
#   to without any optimisation (compare lesson 11, which *synthesises* such inputs).
# - With depth the field grows and units respond to larger structures; near the top of
#   an ImageNet network it is larger than the image (EfficientNet-Lite0: 851 px for a
#   224-px image), and a patch is the whole image.
# - A patch shows *where* the unit looked, not *which* pixels in it mattered: the
#   gradient inside the field concentrates around the unit's centre (the "effective"
#   field, Luo et al. 2016), so even the top layer's grid keeps the image's layout.
#
# ## References
# - Zeiler, M. D., & Fergus, R. (2014). Visualizing and Understanding Convolutional Networks. ECCV.
# - Girshick, R., Donahue, J., Darrell, T., & Malik, J. (2014). Rich feature hierarchies for accurate object
#   detection and semantic segmentation. CVPR (top regions per unit, Fig. 4).
# - Araujo, A., Norris, W., & Sim, J. (2019). Computing Receptive Fields of Convolutional Neural Networks. Distill.
# - Luo, W., Li, Y., Urtasun, R., & Zemel, R. (2016). Understanding the Effective Receptive Field in Deep
#   Convolutional Neural Networks. NeurIPS.
# - Olah, C., Mordvintsev, A., & Schubert, L. (2017). Feature Visualization. Distill (dataset examples).
