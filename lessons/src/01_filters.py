# %% [markdown]
# # 01 · First-layer filters
#
# The first thing a CNN computes is a bank of small convolutions on the pixels. Each
# filter is a tiny image, and since it touches the pixels directly we can simply *look*
# at it. This lesson does that, asks why some networks' filters are more telling than
# others, and watches the filters take shape while a network trains.
#
# ## What you will learn
# - what a convolution kernel is and why a first-layer kernel is a picture of what it detects;
# - how to display kernels (`vislib.filters`, `vislib.plot_filters`);
# - why 3x3 kernels (VGG16, MobileNetV2, EfficientNet-Lite0, the offline model) show less than AlexNet's 11x11 or ResNet's 7x7;
# - what the 3x3 filters of a colour network hold: one small pattern in one colour;
# - why deeper kernels are hard to read, shown one input channel at a time;
# - how first-layer filters evolve from random noise during training (an animated GIF).

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
# A convolution layer with $F$ filters of size $k \times k$ over $C$ input channels holds
# a kernel $W \in \mathbb{R}^{k \times k \times C \times F}$ and a bias $b \in \mathbb{R}^F$.
# Filter $f$ answers, at every position $(i, j)$,
#
# $$a^{(f)}_{ij} = \mathrm{ReLU}\Big(b_f + \sum_{u,v,c} W^{(f)}_{uvc}\; x_{i+u,\,j+v,\,c}\Big)
#  = \mathrm{ReLU}\big(b_f + \langle W^{(f)}, x_{\text{patch}(i,j)} \rangle\big).$$
#
# The response is a dot product between the kernel and an image patch, and among patches
# of equal norm the dot product is largest for the patch that *looks like the kernel*
# (Cauchy-Schwarz). So a first-layer kernel is a template: draw it as a small image and
# you see what it looks for. (Networks with BatchNorm, such as MobileNetV2 and
# EfficientNet-Lite0, have no bias here: a BatchNorm shifts and scales each filter's
# response before the activation, ReLU6 for them. The dot product, and so the template,
# is the same.) To draw it we rescale each filter on its own,
# $\tilde W = (W - \min W) / (\max W - \min W)$, so mid-grey is about zero, white is
# positive and black is negative.

# %%
layer = cm.model.get_layer(cm.first_conv)
print(f"{cm.first_conv}: {type(layer).__name__}, kernel {tuple(layer.kernel.shape)} "
      "= (height, width, input channels, filters)")

# %% [markdown]
# ## By hand
#
# The kernel is a weight tensor of shape (kh, kw, C, F). Put the filter axis first and
# rescale each filter to [0, 1]. (VGG16 and ResNet50 were trained on BGR images, so their
# 3-channel kernels are flipped to RGB for display.) A filter whose weights are all (nearly)
# zero is *dead*: it detects nothing, and rescaling would stretch its rounding noise into a
# full-contrast pattern that is not there, so it is drawn flat grey.

# %%
W = layer.get_weights()[0]                         # (kh, kw, C, F)
by_hand = np.transpose(W, (3, 0, 1, 2))            # (F, kh, kw, C)
if cm.name in ("vgg16", "resnet50"):
    by_hand = by_hand[..., ::-1]                   # BGR -> RGB
lo = by_hand.min(axis=(1, 2, 3), keepdims=True)
span = by_hand.max(axis=(1, 2, 3), keepdims=True) - lo
dead = span <= 1e-5 * span.max()                   # all weights ~0, relative to the widest filter
by_hand = np.where(dead, 0.5, (by_hand - lo) / np.where(dead, 1.0, span))
dead = dead.ravel()
print("filters:", by_hand.shape, f"| dead filters (drawn flat grey): {int(dead.sum())}")

# %% [markdown]
# A kernel is a template: the patches of an image that make a filter respond most should
# look like the filter. Below, the responses $\langle W^{(f)}, x_{\text{patch}} \rangle$
# of one filter at every position of a few images, computed with numpy, and the five
# patches where it responds most.

# %%
images, labels, names = vislib.examples(cm, 6)
x = np.asarray(cm.preprocess(images))                                   # network input
kh, kw = W.shape[:2]
patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # (N, H', W', C, kh, kw)
patches = np.moveaxis(patches, 3, -1)                                   # (N, H', W', kh, kw, C)
f = int(np.argmax(W.reshape(-1, W.shape[-1]).std(axis=0)))             # a strongly structured filter
resp = np.einsum("nijuvc,uvc->nij", patches, W[..., f])
top = np.argsort(resp.ravel())[::-1][:5]
fig, axes = plt.subplots(1, 6, figsize=(9, 1.8))
axes[0].imshow(by_hand[f].squeeze(), cmap="gray", vmin=0, vmax=1); axes[0].set_title(f"filter {f}")
for ax, flat in zip(axes[1:], top):
    n, i, j = np.unravel_index(flat, resp.shape)
    patch = images[n, i:i + kh, j:j + kw].astype(np.float32)
    patch = (patch - patch.min()) / max(np.ptp(patch), 1e-6)
    ax.imshow(patch.squeeze(), cmap="gray", vmin=0, vmax=1); ax.set_title(f"{resp[n, i, j]:.1f}", fontsize=8)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## With vislib
#
# `vislib.filters(model, layer=None)` returns the same array (default: the profile's
# first conv layer) and `vislib.plot_filters` draws the grid.

# %%
kernels = vislib.filters(cm)
assert np.allclose(kernels, by_hand, atol=1e-6)
fig = vislib.plot_filters(kernels, suptitle=f"{cm.name}: {len(kernels)} first-layer filters of {cm.first_conv}")
plt.show()

# %% [markdown]
# ### One pattern in one colour
#
# Nine pixels cannot hold much, so what *do* the 3x3 filters of a colour network hold?
# Write filter $f$ as a $9 \times 3$ matrix $M_f$ (positions $\times$ colour channels). A
# filter that looks for one spatial pattern $s$ (3x3) in one colour direction $c$ (an RGB
# vector) is $M_f = s\,c^\top$, a matrix of rank one. The singular value decomposition
# $M_f = \sum_k \sigma_k u_k v_k^\top$ gives the best such pair, $\sigma_1 u_1 v_1^\top$, and
# the share $\sigma_1^2 / \sum_k \sigma_k^2$ of the filter's energy that it holds (1: exactly
# one pattern in one colour). In a random filter the three colours have nothing to do with
# each other, and the best pair holds only about half of the energy.
#
# Below, every filter's pattern (grey, each rescaled on its own) above its colour
# ($0.5 + 0.5\,c / \max|c|$: grey is zero, so a brightness filter shows as a pale tint and an
# opponent filter, one colour against another, as a saturated hue). The sign of a pair is
# arbitrary; we choose the colour with a positive sum, so the pattern is bright where the
# filter wants light.

# %%
import keras

def rank1_share(M):                                 # M: (n, positions, colours)
    sv = np.linalg.svd(M, compute_uv=False)
    return sv[:, 0] ** 2 / (sv ** 2).sum(axis=1)

def as_matrices(kernel):                            # (kh, kw, 3, F) -> (F, kh * kw, 3), in RGB order
    M = np.transpose(kernel, (3, 0, 1, 2)).reshape(kernel.shape[3], -1, kernel.shape[2])
    return M[..., ::-1] if cm.name in ("vgg16", "resnet50") else M

if W.shape[2] == 3:
    M = as_matrices(W)
    share = rank1_share(M[~dead])
    # the same measure for random filters of this shape, drawn as Keras initialises a Conv2D kernel
    random_share = np.array([rank1_share(as_matrices(np.asarray(keras.initializers.GlorotUniform(seed=s)(W.shape)))).mean()
                             for s in range(10)])
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    pattern, colour = U[:, :, 0] * S[:, :1], Vt[:, 0, :]            # (F, 9), (F, 3)
    sign = np.where(colour.sum(axis=1) < 0, -1.0, 1.0)[:, None]
    pattern, colour = pattern * sign, np.where(dead[:, None], 0.0, colour * sign)
    opponent = (colour.max(axis=1) > 0.3) & (colour.min(axis=1) < -0.3)
    print(f"{int((~dead).sum())} live filters: the best pattern x colour pair holds {share.mean():.2f} of a filter's "
          f"energy on average (lowest {share.min():.2f}; {int((share > 0.9).sum())} filters above 0.9)")
    print(f"random filters of the same shape (10 draws): {random_share.min():.2f} to {random_share.max():.2f}")
    print(f"opponent colours (one weight above +0.3, one below -0.3): {int(opponent.sum())} filters; "
          f"dead filters: {int(dead.sum())}")
    lo, span = pattern.min(axis=1, keepdims=True), np.ptp(pattern, axis=1, keepdims=True)
    patterns = np.where(dead[:, None], 0.5, (pattern - lo) / np.maximum(span, 1e-12)).reshape(-1, 3, 3, 1)
    swatch = 0.5 + 0.5 * colour / np.maximum(np.abs(colour).max(axis=1, keepdims=True), 1e-12)
    ncols = min(16, len(M))
    fig = plt.figure(figsize=(0.55 * ncols, 1.3 * int(np.ceil(len(M) / ncols)) + 0.8))
    left, right = fig.subfigures(1, 2)
    vislib.plot_filters(patterns, ncols=ncols // 2 if len(M) > 16 else ncols, size=0.5, fig=left,
                        suptitle="pattern s of each filter")
    vislib.plot_filters(np.repeat(np.repeat(swatch[:, None, None, :], 3, 1), 3, 2), size=0.5, fig=right,
                        ncols=ncols // 2 if len(M) > 16 else ncols, suptitle="its colour c (same places)")
    plt.show()
else:
    print(f"{cm.first_conv} sees {W.shape[2]} channel: a grey image has no colours to separate")

# %% [markdown]
# What the real network shows (measured on `efficientnet_lite0`, whose stem is 32 filters
# of 3x3x3 with stride 2): 4 of the 32 filters are dead (every weight below $10^{-7}$,
# where the others reach about 1; the BatchNorm after them outputs a constant). The other
# 28 are close to one pattern in one colour: the best pair holds 0.92 of a filter's energy
# on average (lowest 0.70), against 0.51 to 0.58 for the 10 random draws above (0.62 at
# most over 200 draws of independent Gaussian weights). Most colours are a
# green-heavy mix of all three channels, i.e. brightness (the green channel carries most
# of it); about a quarter are opponent colours (red against green, blue against red).
# The patterns are what nine pixels allow: edges, bars, corners, a single bright or dark
# dot; no stripes with a frequency. The claim below asks for an average share above 0.8:
# well clear of random filters, with room below the measured 0.92.

# %%
if cm.real_imagenet and W.shape[2] == 3:
    vislib.claim(cm, share.mean() > 0.8,
                 f"trained first-layer filters are one pattern in one colour: average share {share.mean():.2f} "
                 f"(random filters {random_share.max():.2f} at most; efficientnet_lite0: 0.92)")
if W.shape[2] == 3:
    assert random_share.max() < 0.7         # random filters mix their colours (0.53-0.55 measured)


# %% [markdown]
# ### Why 3x3 kernels show less than AlexNet's 11x11
#
# | network | first layer | what you see in its filters |
# |---|---|---|
# | AlexNet (Krizhevsky et al. 2012) | 96 x 11x11, stride 4 | oriented stripes at several frequencies (Gabor-like), colour blobs |
# | ZFNet (Zeiler & Fergus 2014) | 96 x 7x7, stride 2 | the same, cleaner (they shrank AlexNet's filters after *looking* at them) |
# | ResNet50 (He et al. 2016) | 64 x 7x7, stride 2 | Gabor-like stripes and colour blobs |
# | VGG16 (Simonyan & Zisserman 2015) | 64 x 3x3, stride 1 | little more than "brighter on this side" and colour |
# | MobileNetV2, the offline model | 3x3 | the same |
# | EfficientNet-Lite0 (Tan & Le 2019) | 32 x 3x3, stride 2 | one small pattern (edge, bar, corner, dot) in one colour; 4 filters dead (see below) |
#
# A 3x3 window has 9 pixels: it can hold the *direction* of a brightness change, but not
# a stripe's frequency, its phase or its length. VGG16 gets large templates by stacking
# 3x3 layers (two give a 5x5 view, three a 7x7 view, with fewer weights and more
# non-linearities), so the "picture" is spread over several layers and no single kernel
# shows it. To see the difference we draw the kind of filter AlexNet learns, a Gabor
# filter, at 11x11, and the same filter sampled on a 3x3 grid:

# %%
def gabor(size, theta, wavelength, phase=0.0):
    # a cosine stripe pattern under a Gaussian window: the classic model of V1 cells and of AlexNet's filters
    r = np.arange(size) - (size - 1) / 2
    yy, xx = np.meshgrid(r, r, indexing="ij")
    along = xx * np.cos(theta) + yy * np.sin(theta)
    return np.exp(-(xx**2 + yy**2) / (2 * (size / 4) ** 2)) * np.cos(2 * np.pi * along / wavelength + phase)

bank = [(t, wl, ph) for t in np.linspace(0, np.pi, 4, endpoint=False) for wl, ph in ((4, 0), (7, np.pi / 2))]
big = np.stack([gabor(11, *p) for p in bank])[..., None]   # 8 filters: 4 orientations x 2 frequencies/phases
small = big[:, 4:7, 4:7]                                   # what a 3x3 window at the same pixel size holds
norm = lambda k: (k - k.min(axis=(1, 2, 3), keepdims=True)) / np.ptp(k, axis=(1, 2, 3), keepdims=True)
vislib.plot_filters(norm(big), ncols=8, size=1.0, suptitle="Gabor filters, 11x11 (AlexNet-like)")
vislib.plot_filters(norm(small), ncols=8, size=1.0, suptitle="their central 3x3: a bar or an edge, no frequency")
plt.show()

# %% [markdown]
# ResNet50's real 7x7 filters need its ImageNet weights (98 MB). If they are in your Keras
# cache the next cell shows them; with random weights a 7x7 filter is just noise, so
# there is nothing to learn from building the architecture alone.

# %%
if cm.weights == "imagenet" and vislib.weights_cached("resnet50"):
    resnet = vislib.load_model("resnet50")
    vislib.plot_filters(vislib.filters(resnet), suptitle="ResNet50 conv1: 64 filters of 7x7x3")
    plt.show()
else:
    print("ResNet50 ImageNet weights not cached: run `python -m vislib.data prefetch resnet50` once online to see them")

# %% [markdown]
# ### Deeper kernels, one input channel at a time
#
# The second conv layer does not see pixels: it sees the feature maps of the first layer.
# Each of its filters has one 3x3 slice *per input channel* (e.g. 32 slices for the
# offline model's `block2_conv1`, 64 for VGG16's `block1_conv2`). A slice says how to
# weigh one feature map around a position, so drawing it shows a pattern *in feature map
# space*, not in pixels: "edge detector 5 on the left, edge detector 5 off on the right".
# (The second layers of MobileNetV2 and EfficientNet-Lite0 are *depthwise*: each of their
# filters sees a single channel, so there is one 3x3 picture per filter.)
# That is why deeper kernels are hard to read and why later lessons look at what units
# *respond to* (activations, lesson 03; patches, lesson 04) instead of at weights.

# %%
second = cm.conv_layers[1]
deep = vislib.filters(cm, second, channel=0)
print(f"{second}: kernel {tuple(cm.model.get_layer(second).kernel.shape)}; "
      f"input channel 0 of every filter -> {deep.shape}")
vislib.plot_filters(deep[:32], suptitle=f"{second}, input channel 0 (first 32 filters)")
plt.show()

# %% [markdown]
# ### How the filters evolve during training
#
# We train a fresh copy of the offline architecture (the `fashion_cnn` recipe; under the
# ImageNet profiles too, since it is the network a CPU can train in seconds) on a subset of
# Fashion-MNIST, with `vislib.FilterSnapshots`, a Keras callback that copies the first-layer
# kernels before training and every few batches.

# %%
import keras
from tqdm.keras import TqdmCallback          # a progress bar over the epochs
from vislib.models import offline as course_models   # the offline models' recipes

n_train, epochs = vislib.budget(6000, 3000), vislib.budget(5, 2)
(x_tr, y_tr), (x_te, y_te) = vislib.fashion_mnist()[:2]
x_small, y_small = x_tr[:n_train, ..., None] / 255.0, y_tr[:n_train]
keras.utils.set_random_seed(0)
fresh = course_models.build(course_models.RECIPES["fashion_cnn"])
course_models.compile_classifier(fresh)
steps = int(np.ceil(n_train / 64))
snapshots = vislib.FilterSnapshots("block1_conv1", every=max(1, steps * epochs // 16))
history = fresh.fit(x_small, y_small, batch_size=64, epochs=epochs, verbose=0,
                    validation_data=(x_te[:1000, ..., None] / 255.0, y_te[:1000]),
                    callbacks=[snapshots, TqdmCallback(verbose=0)]).history
print(f"{len(snapshots.frames)} snapshots; loss {history['loss'][0]:.2f} -> {history['loss'][-1]:.2f}; "
      f"test accuracy after {epochs} epochs on {n_train} images: {history['val_accuracy'][-1]:.3f}")
fig = plt.figure(figsize=(10, 2.6))
left, right = fig.subfigures(1, 2)
vislib.plot_filters(snapshots.frames[0], ncols=8, size=0.6, fig=left, suptitle="before training")
vislib.plot_filters(snapshots.frames[-1], ncols=8, size=0.6, fig=right, suptitle=snapshots.labels[-1])
plt.show()

# %%
import tempfile
from IPython.display import Image as ShowGif

gif = vislib.save_gif(snapshots.frames, os.path.join(tempfile.mkdtemp(), "filters.gif"), duration=0.3, ncols=8)
print("saved", gif)
ShowGif(filename=str(gif))

# %% [markdown]
# ## Explore
#
# Scrub through training with the slider (the snapshots are already in memory). The
# second explorer shows any conv layer's kernels one input channel at a time (reading
# weights needs no forward pass).

# %%
change = [float(np.linalg.norm(r - snapshots.raw[0]) / np.linalg.norm(snapshots.raw[0])) for r in snapshots.raw]

def show_snapshot(step):
    fig = vislib.plot_filters(snapshots.frames[step], ncols=8, size=0.7,
                              suptitle=f"{snapshots.labels[step]}: kernels moved {100 * change[step]:.0f} % from init")
    plt.show()

vislib.explorer(show_snapshot, step=widgets.IntSlider(min=0, max=len(snapshots.frames) - 1,
                                                      value=len(snapshots.frames) - 1, description="snapshot"))


# %%
def show_layer(layer, channel):
    try:
        k = vislib.filters(cm, layer, channel=channel)
    except ValueError as err:   # this layer has fewer input channels than the slider allows
        print(err)
        return
    vislib.plot_filters(k[:48], suptitle=f"{layer}: input channel {channel}, first {min(48, len(k))} of {len(k)} filters")
    plt.show()

vislib.explorer(show_layer, layer=widgets.Dropdown(options=cm.conv_layers, value=cm.conv_layers[1], description="layer"),
                channel=widgets.IntSlider(min=0, max=63, value=0, description="in channel"))

# %% [markdown]
# ## What to notice
#
# - Every displayed filter but the dead ones spans exactly [0, 1]: the contrast is per
#   filter, so a filter with small weights looks as strong as one with large weights.
# - Training moves the first-layer kernels of the small Fashion-MNIST network away from
#   their random start while the loss falls; the snapshots change fastest at the beginning.
# - Those grey-level filters drift toward *zero-sum* kernels (weights that cancel on flat
#   regions), i.e. toward detectors of *changes* in brightness: edges. A colour network
#   need not do this: the live stem filters of `efficientnet_lite0` are no closer to zero-sum
#   than random filters (ratio 0.23; random draws 0.14 to 0.23, measured), because many of
#   them look for a colour, which a flat region has too; the BatchNorm after the
#   convolution, not the weights, removes the average response.

# %%
assert np.allclose(kernels[~dead].min(axis=(1, 2, 3)), 0) and np.allclose(kernels[~dead].max(axis=(1, 2, 3)), 1)
assert np.all(kernels[dead] == 0.5)
# Measured for seeds 0 / 1 / 2 with the CI budget (3000 images, 2 epochs) and the full one (6000, 5):
# loss falls by 0.50-0.57 / 0.55-0.59; accuracy 0.76-0.79 / 0.87-0.88; kernels moved 23-26 % / 48-53 %;
# 73-79 % of the move in the first half; zero-sum ratio down by 0.06-0.09 / 0.10-0.12.
# Each threshold below lies well under the smallest of these (margin stated on its line).
assert history["loss"][-1] < history["loss"][0] - 0.2   # margin 0.3
assert history["val_accuracy"][-1] > 0.5          # 10 classes: chance is 0.1; margin 0.26
assert change[-1] > 0.05                           # the kernels moved by more than 5 %; margin 0.18
first_half = change[len(change) // 2] / change[-1]
print(f"half of the snapshots in, the kernels had moved {100 * first_half:.0f} % of their final distance")
assert first_half > 0.5                            # most of the change happens early; margin 0.23

def zero_sum(raw):   # |sum of weights| / sum of |weights|, averaged over filters: 0 = perfect edge detector
    k = raw.reshape(len(raw), -1)
    return float(np.mean(np.abs(k.sum(1)) / np.abs(k).sum(1)))

print(f"zero-sum ratio of the Fashion-MNIST filters: at init {zero_sum(snapshots.raw[0]):.2f}, "
      f"after training {zero_sum(snapshots.raw[-1]):.2f}")
assert zero_sum(snapshots.raw[-1]) < zero_sum(snapshots.raw[0]) - 0.03   # drop 0.06-0.12 measured; margin 0.03
live_raw = np.transpose(W, (3, 0, 1, 2))[~dead]
random_zero_sum = [zero_sum(np.transpose(np.asarray(keras.initializers.GlorotUniform(seed=s)(W.shape)), (3, 0, 1, 2)))
                   for s in range(10)]
print(f"zero-sum ratio of {cm.name}'s {cm.first_conv} (live filters): {zero_sum(live_raw):.2f}; "
      f"random filters of its shape: {min(random_zero_sum):.2f} to {max(random_zero_sum):.2f}")

# %% [markdown]
# ## Exercises
#
# 1. How many weights (kernel, and bias if it has one) does the first conv layer of the active model have? Set `n_weights`.
# 2. `vislib.filters(cm, cm.conv_layers[1], channel=0)` has shape (F, kh, kw, 1). How many
#    input channels does that layer's kernel have, i.e. how many such pictures make up one
#    of its filters? Set `n_slices`.
# 3. Which filter of the first layer responds most to a bright vertical edge (dark on the
#    left, bright on the right)? Build such an image, run `vislib.activations(cm, image, cm.first_conv)`
#    and take the channel with the largest mean activation. Set `edge_filter`.

# %%
n_weights = None     # your answer
n_slices = None      # your answer
edge_filter = None   # your answer

edge = np.zeros((1, *cm.input_shape), np.float32)
edge[:, :, cm.input_size[1] // 2:] = 255.0
edge_maps = vislib.activations(cm, edge, cm.first_conv)[cm.first_conv]
vislib.check(n_weights, layer.count_params(), hint="one kh x kw kernel for every pair (input channel, filter), plus one bias per filter if the layer uses biases", name="1. weights")
vislib.check(n_slices, cm.model.get_layer(cm.conv_layers[1]).kernel.shape[2],
             hint="a filter covers every channel of its input: how many channels does the layer before it produce?", name="2. slices")
vislib.check(edge_filter, int(np.argmax(edge_maps.mean(axis=(0, 1, 2)))),
             hint="average each channel's map over all positions; the channel with the largest average wins", name="3. edge filter");

# %% [markdown]
# ## Summary
#
# - A first-layer kernel is a template: its response is a dot product with an image patch.
#   `vislib.filters` rescales each filter to [0, 1] and `vislib.plot_filters` draws them.
# - Small 3x3 kernels can only show a small pattern (the direction of a change, a bar, a
#   dot) and a colour; large kernels (AlexNet 11x11, ResNet 7x7) show Gabor-like stripes. A real network's 3x3 filters are
#   close to one pattern in one colour (an SVD measures it; random filters are not), and
#   some may be dead. Deeper kernels act on feature maps, so one 3x3 slice per input channel
#   is all we can draw, and it is hard to read.
# - During training the filters move quickly away from random noise, most in the first
#   steps; the grey-level Fashion-MNIST filters drift toward zero-sum (edge-detector-like)
#   kernels, measured above on this one small network.
# - Next: lesson 02 looks at the other end of the network, the FC7 features.
#
# ## References
#
# - A. Krizhevsky, I. Sutskever, G. Hinton. *ImageNet Classification with Deep Convolutional Neural Networks.* NeurIPS 2012.
# - M. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
# - K. Simonyan, A. Zisserman. *Very Deep Convolutional Networks for Large-Scale Image Recognition.* ICLR 2015.
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* CVPR 2016.
# - J. Yosinski, J. Clune, Y. Bengio, H. Lipson. *How transferable are features in deep neural networks?* NeurIPS 2014.
# - M. Tan, Q. Le. *EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks.* ICML 2019.
