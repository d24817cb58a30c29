# %% [markdown]
# # 03 · Activations: what every layer computes
#
# Between the pixels and the FC7 vector of lesson 02 lie the feature maps: at every layer,
# for every channel, a small image saying *where* that channel's pattern was found. This
# lesson shows every channel of a chosen layer for a chosen image, follows how the maps
# shrink and multiply with depth, and asks which channels fire on the object and which on
# the background.
#
# ## What you will learn
# - what an activation (feature map) is, and how to read a grid of them;
# - how to get the maps of any layers from one sub-model (`vislib.activations`) and draw
#   them (`vislib.plot_activations`);
# - how spatial size shrinks and channel count grows with depth;
# - how sparse the maps are, and which channels fire on which parts of an image.

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
# Layer $l$ turns the maps of layer $l-1$ into new maps,
#
# $$A^{(l)} = f_l\big(A^{(l-1)}\big) \in \mathbb{R}^{h_l \times w_l \times k_l}, \qquad
# A^{(l)}_{ij c} = \mathrm{ReLU}\Big(b_c + \sum_{u,v,c'} W^{(l)}_{uvc'c}\, A^{(l-1)}_{i+u,\,j+v,\,c'}\Big)$$
#
# for a convolution (a max-pooling layer instead keeps the largest value of each 2x2 block,
# halving $h$ and $w$). MobileNetV2 and EfficientNet-Lite0 put a BatchNorm between the
# convolution and the activation, use ReLU6 ($\min(\max(0, z), 6)$), and halve the maps
# with strided convolutions instead of pooling; their blocks end in a linear projection
# and a residual sum, which are not activations (they can be negative), so below we look
# at the activation layers only. Channel $c$ of layer $l$ is the map $A^{(l)}_{::c}$:
# bright where its pattern is present. Because of the ReLU, a zero means "not here". Each unit of a
# deeper layer sees a larger window of the input (its *receptive field*, lesson 04), so
# with depth the maps get coarser while the number of channels, the vocabulary of patterns,
# grows.

# %%
import keras

images, labels, names = vislib.examples(cm, 6)
vislib.show_images(images, titles=names, cols=6, size=1.6)
plt.show()

def is_relu(layer):   # layers whose output has gone through a ReLU: 0 means "silent"
    act = getattr(layer, "activation", None)
    return isinstance(layer, keras.layers.ReLU) or (act is keras.activations.relu and not isinstance(layer, keras.layers.Dense))

spatial = [l for l in cm.model.layers[1:] if len(l.output.shape) == 4]
relu_layers = [l.name for l in spatial if is_relu(l)]
pool_layers = [l.name for l in spatial if isinstance(l, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))]
layer_options = [l.name for l in spatial if l.name in relu_layers or l.name in pool_layers]
print(f"{len(spatial)} layers with feature maps; {len(layer_options)} of them are ReLU or pooling outputs")

# %% [markdown]
# ## By hand
#
# The maps of an inner layer are the output of a smaller model: from the network's input
# to that layer. Keras builds it from the layer's output tensor; we run it on one
# preprocessed image.

# %%
layer_name = relu_layers[min(1, len(relu_layers) - 1)]
sub = keras.Model(cm.model.inputs, cm.model.get_layer(layer_name).output)
maps_hand = np.asarray(sub(cm.preprocess(images[:1]), training=False))
print(f"{layer_name}: maps of shape {maps_hand.shape} = (images, height, width, channels)")

# %% [markdown]
# ## With vislib
#
# `vislib.activations(model, images, layers)` returns a dict of maps for any list of
# layers, all from *one* sub-model that is built once and cached (asking again, in any
# order, reuses it). `vislib.plot_activations` draws every channel of one image as a grid,
# each map scaled to its own range.

# %%
acts = vislib.activations(cm, images[:1], [layer_name])
assert np.allclose(acts[layer_name], maps_hand, atol=1e-5)
fig = vislib.plot_activations(acts[layer_name][0], max_channels=64,
                              suptitle=f"{layer_name}: the first {min(64, maps_hand.shape[-1])} channels for '{names[0]}'")
plt.show()

# %% [markdown]
# ### Size shrinks, channels grow
#
# The shapes of all feature maps, read from the model (no image needed):

# %%
shapes = [(l.name, *[int(d) for d in l.output.shape[1:]]) for l in spatial]
rows = [s for s in shapes if s[0] in layer_options]
print(f"{'layer':<28s} {'h x w':>9s} {'channels':>9s} {'numbers':>10s}")
for name, h, w, k in rows[:: max(1, len(rows) // 20)]:
    print(f"{name:<28s} {f'{h}x{w}':>9s} {k:>9d} {h * w * k:>10,d}")

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot([h for _, h, _, _ in shapes], label="height = width")
ax.plot([k for _, _, _, k in shapes], label="channels")
ax.set_yscale("log", base=2); ax.set_xlabel("layer (input to output)"); ax.legend()
ax.set_title(f"{cm.name}: feature-map size and channel count with depth")
plt.show()

# %% [markdown]
# ### Which channels fire on which parts?
#
# We take the object's box (the item's bounding box for Fashion-MNIST; for the sample
# photos the hand-drawn boxes, moved with the centre crop by `vislib.example_boxes`) and
# ask, for each channel of the first ReLU layer, what fraction of its total activation
# lies inside the box. A channel that fires evenly would score the box's share of the
# area; *object channels* score more, *background channels* less. Only images with
# background left outside their box can tell the two apart: after the centre crop the
# cat and the coffee cup fill the whole picture, so they are left out of this count.
# A channel that is zero on every image (a *dead* channel: it can happen in trained
# networks) has no activation to share out and is left out too.

# %%
boxes = vislib.example_boxes(cm, images)        # per image, a list of (x0, y0, x1, y1) in input pixels

def box_masks(h, w):
    # (N, h, w) True inside the union of each image's boxes, on an h x w grid of map positions
    H, W = cm.input_size
    out = np.zeros((len(boxes), h, w), bool)
    for i, image_boxes in enumerate(boxes):
        for x0, y0, x1, y1 in image_boxes:
            out[i, int(y0 * h / H):int(np.ceil(y1 * h / H)), int(x0 * w / W):int(np.ceil(x1 * w / W))] = True
    return out

first = relu_layers[0]
A = vislib.activations(cm, images, [first])[first]                    # (N, h, w, k), all >= 0
mask = box_masks(*A.shape[1:3])
area_of = mask.mean(axis=(1, 2))                                      # each image's box share of the area
with_background = np.flatnonzero(area_of < 0.9)
if len(with_background) == 0:
    with_background = np.arange(len(images))
total = A[with_background].sum(axis=(0, 1, 2))
live = np.flatnonzero(total > 1e-6 * total.max())                     # channels that fire at all
inside = (A[with_background] * mask[with_background, ..., None]).sum(axis=(0, 1, 2))[live] / total[live]
area = mask[with_background].mean()
print(f"{first}: {A.shape[-1] - len(live)} of {A.shape[-1]} channels are zero on every image (dead); "
      f"on the {len(with_background)} images with background, the boxes cover {100 * area:.0f} % of the area "
      f"and the live channels put {100 * inside.min():.0f} % to {100 * inside.max():.0f} % "
      f"(median {100 * np.median(inside):.0f} %) of their activation inside")

order = live[np.argsort(inside)]
share_of = dict(zip(live, inside))
show = int(with_background[np.argmin(np.abs(area_of[with_background] - 0.5))])   # a box of about half the image
pick = list(order[-3:][::-1]) + list(order[:3])                      # 3 object channels, 3 background channels
fig, axes = plt.subplots(1, 6, figsize=(12, 2.3))
for ax, c in zip(axes, pick):
    ax.imshow(vislib.overlay(images[show], A[show, ..., c], alpha=0.6, cmap="inferno"))
    vislib.draw_boxes(ax, boxes[show], lw=1)
    ax.set_title(f"ch {c}: {100 * share_of[c]:.0f} % inside", fontsize=8); ax.axis("off")
fig.suptitle(f"left: the channels most inside the boxes; right: the most outside; on '{names[show]}'")
plt.show()

# %% [markdown]
# ### The strongest channels, early and deep
#
# The channels that fire *most* on an image tell more than the average channel. For each
# image with background, take the 5 channels of a layer with the largest total activation
# on it and measure the share of their activation inside the box, against the box's share
# of the area (a ratio above 1: they fire on the object more than an even spread would).
# We compare the first ReLU layer with the last one.

# %%
deep = relu_layers[-1]
D = vislib.activations(cm, images, [deep])[deep]

def strongest_inside(maps, k=5):
    # per image: the share inside the box of the k strongest channels' activation, and the box's area share
    m = box_masks(*maps.shape[1:3])
    out = []
    for i in range(len(maps)):
        top = np.argsort(-maps[i].sum(axis=(0, 1)))[:k]
        a = maps[i][..., top].sum(axis=-1)
        out.append((float(a[m[i]].sum() / max(a.sum(), 1e-12)), float(m[i].mean())))
    return np.array(out)

early, late = strongest_inside(A), strongest_inside(D)
print(f"share inside the box of the 5 strongest channels' activation (box area on that layer's grid):")
print(f"{'image':>12s} {first:>24s} {deep:>24s}")
for i in with_background:
    print(f"{names[i]:>12s} {early[i, 0]:14.2f} ({early[i, 1]:.2f} area) {late[i, 0]:14.2f} ({late[i, 1]:.2f} area)")
ratio_early = early[with_background, 0] / early[with_background, 1]
ratio_late = late[with_background, 0] / late[with_background, 1]
print(f"inside share / box area: {first} {np.round(ratio_early, 2)}, {deep} {np.round(ratio_late, 2)}")

fig, axes = plt.subplots(1, 2, figsize=(6, 3))
for ax, maps, layer in ((axes[0], A, first), (axes[1], D, deep)):
    top = np.argsort(-maps[show].sum(axis=(0, 1)))[:5]
    ax.imshow(vislib.overlay(images[show], maps[show][..., top].sum(axis=-1), alpha=0.6, cmap="inferno"))
    vislib.draw_boxes(ax, boxes[show], lw=1)
    ax.set_title(f"{layer}: its 5 strongest channels", fontsize=8); ax.axis("off")
plt.show()

# %% [markdown]
# ## Explore
#
# Choose an image (a new forward pass through one cached sub-model for all listed layers,
# then cached), a layer and a channel (both redraw from the cache). The grid shows every
# channel of the layer; the right panel shows the chosen channel over the image.

# %%
cache = {}

def show_activations(image, layer, channel):
    i = names.index(image)
    if i not in cache:                                    # one forward pass per image, all layers at once
        if len(cache) >= 2:                               # keep the last two images (VGG16: 60 MB of maps each)
            cache.pop(next(iter(cache)))
        cache[i] = vislib.activations(cm, images[i:i + 1], layer_options)
    maps = cache[i][layer][0]
    c = channel % maps.shape[-1]
    fig = plt.figure(figsize=(13, 5.2))
    left, right = fig.subfigures(1, 2, width_ratios=[2.2, 1])
    vislib.plot_activations(maps, max_channels=64, size=0.75, fig=left,
                            suptitle=f"{layer}: {maps.shape[0]}x{maps.shape[1]}, {maps.shape[-1]} channels")
    ax = right.subplots()
    ax.imshow(vislib.overlay(images[i], maps[..., c], alpha=0.6, cmap="inferno")); ax.axis("off")
    ax.set_title(f"channel {c}: max {maps[..., c].max():.2f}, {100 * (maps[..., c] > 0).mean():.0f} % of positions active")
    plt.show()

vislib.explorer(show_activations, heavy=("image",),
                image=widgets.Dropdown(options=names, description="image"),
                layer=widgets.Dropdown(options=layer_options, value=layer_options[min(1, len(layer_options) - 1)],
                                       description="layer"),
                channel=widgets.IntSlider(min=0, max=max(s[-1] for s in shapes) - 1, value=0, description="channel"))

# %% [markdown]
# ## What to notice
#
# - `vislib.activations` agrees with the hand-built sub-model, and asking for the same layers
#   again (in any order) reuses the one sub-model.
# - The maps shrink (pooling and strides) while the channels multiply.
# - Deep ReLU maps are *sparse*: most positions of most channels are exactly zero. In both
#   trained networks the last ReLU layer is much sparser than the first (measured:
#   `efficientnet_lite0` 28 % zeros in `stem_activation`, 92 % in `top_activation`;
#   `fashion_cnn` 57 % and 82 %), and random weights do not do this (an untrained
#   EfficientNet-Lite0: 51 % and 51 %; an untrained `fashion_cnn`: 74 % and 60 %). Deeper
#   channels respond to rarer, more specific patterns. On the real network the check asks
#   for at least 30 points more zeros in the last layer than in the first (measured 64).
# - Channels specialise, and what they specialise in depends on the data. In the offline
#   model most first-layer channels fire on the item (median 91 % of their activation
#   inside the box, which covers 54 %): its background is black, i.e. zero, and gives them
#   nothing to respond to. On the photos, the first layer of `efficientnet_lite0` fires
#   inside and outside alike (median 54 %, box area 54 %), with some channels on the
#   background (22 % inside at least) and some on the object (93 % at most); 4 of its 32
#   channels are dead (their filters are all zeros, lesson 01).
# - On the photos, depth moves the strongest channels onto the object. Measured on
#   `efficientnet_lite0`, over the 4 photos with background: the 5 strongest channels of
#   `stem_activation` put *less* of their activation inside the box than its area (ratios
#   0.69 to 0.99: on the flower, for instance, they fire on the blurred leaves around it
#   and on its centre, not on its petals), those of `top_activation` more (ratios 1.05 to 1.33,
#   the 1.05 on the astronaut, whose boxes leave only 6 % of the 7x7 grid outside). The
#   check below asks, on every photo with background, for a deep share above the box's
#   area and above the first layer's share. The offline clothes model does not show this
#   (its first layer already fires on the item alone), so it is not checked there.

# %%
again = vislib.activations(cm, images[:1], [layer_name])   # the cached sub-model again
assert np.array_equal(again[layer_name], acts[layer_name])

heights = [h for _, h, _, _ in rows]                        # the ReLU and pooling layers listed above
assert heights[-1] < heights[0] and rows[-1][-1] > rows[0][-1]
assert all(b <= a for a, b in zip(heights, heights[1:]))   # never grows (padding layers aside)

sparsity = {first: float((A <= 0).mean()), deep: float((D <= 0).mean())}
print("fraction of zeros:", {n: round(s, 2) for n, s in sparsity.items()})
if cm.weights == "trained":                                   # checked on the offline model
    assert sparsity[deep] > sparsity[first]
    assert inside.min() < area < np.median(inside)            # background channels exist; most fire on the item
if cm.real_imagenet:
    vislib.claim(cm, sparsity[deep] > sparsity[first] + 0.3,
                 f"{deep} has {100 * sparsity[deep]:.0f} % zeros, {first} {100 * sparsity[first]:.0f} % "
                 "(efficientnet_lite0: 92 % and 28 %)")
    vislib.claim(cm, inside.min() < area < inside.max(),
                 f"{first} has background channels and object channels: {100 * inside.min():.0f} % to "
                 f"{100 * inside.max():.0f} % inside, box area {100 * area:.0f} % (efficientnet_lite0: 22 % to 93 %, 54 %)")
    vislib.claim(cm, np.all(ratio_late > 1) and np.all(late[with_background, 0] > early[with_background, 0]),
                 f"on each photo with background, the 5 strongest {deep} channels fire inside the box more than "
                 f"its area (ratios {np.round(ratio_late, 2).tolist()}) and more than {first}'s "
                 f"(ratios {np.round(ratio_early, 2).tolist()}); efficientnet_lite0: 1.05-1.33 against 0.69-0.99")

# %% [markdown]
# ## Exercises
#
# 1. How many numbers does the layer `layer_name` produce for one image? Set `n_numbers`.
# 2. Which channel of `first` has the largest total activation on image 0? Set `strongest`.
# 3. By what factor does the height shrink from the first to the last ReLU / pooling layer
#    in the table above? Set `shrink` (a number, e.g. 8.0).

# %%
n_numbers = None   # your answer
strongest = None   # your answer
shrink = None      # your answer

vislib.check(n_numbers, int(np.prod(acts[layer_name].shape[1:])), hint="a layer's output for one image is a height x width x channels block of numbers", name="1. numbers")
vislib.check(strongest, int(A[0].sum(axis=(0, 1)).argmax()), hint="add up each channel's map of image 0 over all positions and take the channel with the largest total",
             name="2. strongest channel")
vislib.check(shrink, heights[0] / heights[-1], hint="how many times smaller is the last height in the table than the first?", name="3. shrink factor");

# %% [markdown]
# ## Summary
#
# - A layer's activations are a stack of maps, one per channel; `vislib.activations` returns
#   them for any layers from one cached sub-model, `vislib.plot_activations` draws them.
# - With depth, maps get coarser and channels more numerous; trained ReLU maps get sparser.
# - Looking at where channels fire shows specialisation (object, background, outline), but a
#   single image says little about what a channel *means*: lesson 04 searches a whole dataset
#   for the patches that excite a unit most.
#
# ## References
#
# - M. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
# - J. Yosinski, J. Clune, A. Nguyen, T. Fuchs, H. Lipson. *Understanding Neural Networks Through Deep Visualization.* ICML Deep Learning Workshop 2015.
# - K. Simonyan, A. Zisserman. *Very Deep Convolutional Networks for Large-Scale Image Recognition.* ICLR 2015.
# - C. Olah, A. Mordvintsev, L. Schubert. *Feature Visualization.* Distill, 2017.
