# %% [markdown]
# # 11 · Class-model visualization
#
# Lesson 04 searched real images for what a unit likes. Here we *synthesise* it: start
# from a blank image and change its pixels, step by step, to make the network more and
# more sure of one class. The result is the network's "class model" (Simonyan et al.
# 2014): an image that drives the network's score for the class up, made without any
# photograph. Whether it also *looks* like the class is a separate question, and on a real
# ImageNet network the answer is no.
#
# ## What you will learn
# - the class model visualization of Simonyan et al. (2014), written by hand with
#   `tf.GradientTape`: gradient ascent on the pre-softmax class score with an L2 penalty;
# - why the score must be the logit and not the softmax probability;
# - what a real ImageNet network's class model looks like: a texture the network is sure
#   about, not a picture of the class; why plain gradient ascent gives high-frequency
#   patterns, and what regularizers (L2, blur, jitter, total variation) do and do not fix
#   (Yosinski et al. 2015; Olah et al. 2017);
# - the test that separates a feature from an adversarial pattern (does the class survive
#   small shifts, zooms and turns?) and the cure of Olah et al. (2017): transformation
#   robustness and a decorrelated Fourier parameterization, as options of `vislib.class_model`;
# - feature inversion (Mahendran & Vedaldi 2015, `vislib.invert`): what a layer keeps of an
#   image, from the first layer to the last;
# - the same for any unit (dense units, conv channels) with `vislib.activation_maximization`
#   (tf-keras-vis); the optimisation shown frame by frame.

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
# Let $S_c(I)$ be the score of class $c$ *before* the softmax. The class model is
#
# $$I^\star = \arg\max_I \; S_c(I) - \lambda \lVert I \rVert_2^2 ,$$
#
# found by gradient ascent from the zero input $I_0 = 0$ (for networks whose preprocessing
# centres the pixels this is an average image: VGG16's mean colour, EfficientNet's grey 127;
# for the offline model, whose input is pixels/255, a black image):
#
# $$I_{t+1} = \operatorname{clip}\Big(I_t + \eta\, \frac{g_t}{\operatorname{rms}(g_t)}\Big),
# \qquad g_t = \nabla_I \big(S_c(I_t) - \lambda \lVert I_t \rVert^2\big).$$
#
# Dividing by the root mean square of the gradient makes $\eta$ a step size in pixel
# units, whatever the network. The logit, not the probability: the softmax
# $p_c = e^{S_c} / \sum_k e^{S_k}$ also rises when the *other* scores fall, so maximising it
# can produce an image that is merely "not anything else".
#
# Left alone, gradient ascent finds high-frequency patterns that no photo contains.
# Regularizers push towards natural images: the L2 penalty above, a small Gaussian **blur**
# every few steps, random **jitter** (shift the image by a pixel or two before each step,
# so the pattern must work at every offset), and **total variation**
# $\mathrm{TV}(I) = \sum |I_{i+1,j} - I_{i,j}| + |I_{i,j+1} - I_{i,j}|$, which penalises noise.

# %%
import tensorflow as tf

target = cm.pick(clothes=7, photos=281)      # "Sneaker" offline, "tabby" (cat) on ImageNet
# a 224x224 step costs ~100x more than a 28x28 one, a VGG16 step ~40x more than EfficientNet's (GFLOPs)
steps = cm.pick(clothes=vislib.budget(200, 40), photos=vislib.budget(100, 50), heavy=vislib.budget(30, 10))
print(f"target class {target}: {cm.class_names[target]}; {steps} steps")

# %% [markdown]
# ## By hand
#
# The variable is the network's input $I$ (after the profile's preprocessing). The score
# is the pre-softmax logit: `vislib.logits_function` applies the last layer's weights
# without the softmax (the model itself is not changed).

# %%
logits = vislib.logits_function(cm.model)                           # I -> pre-softmax logits (N, classes)
lo = np.asarray(cm.preprocess(np.zeros((1, *cm.input_shape))))[0, 0, 0]
hi = np.asarray(cm.preprocess(np.full((1, *cm.input_shape), 255.0)))[0, 0, 0]
lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)                       # valid input range per channel
span = hi - lo
l2, lr = 1.0, 0.02

I = tf.Variable(np.clip(np.zeros((1, *cm.input_shape), np.float32), lo, hi))   # the zero input
hand_scores, CHECK = [], 1
hand_steps = min(steps, cm.pick(clothes=steps, photos=10, heavy=5))   # eager steps on a 224x224 network are slow;
for step in range(hand_steps):                               # vislib runs the whole optimisation compiled
    with tf.GradientTape() as tape:
        score = logits(I)[0, target]
        objective = score - l2 * tf.reduce_mean(tf.square(I / span))
    g = tape.gradient(objective, I)
    g = g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-12)
    I.assign(tf.clip_by_value(I + lr * span * g, lo, hi))
    hand_scores.append(float(score))
    if step + 1 == CHECK:
        after_check = cm.deprocess(I.numpy())[0]                      # kept to compare with vislib below
by_hand = cm.deprocess(I.numpy())[0]                                  # back to display pixels
print(f"logit of class {target}: {hand_scores[0]:.2f} at the start, {hand_scores[-1]:.2f} after {hand_steps} steps")

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 2.8))
axes[0].plot(hand_scores); axes[0].set_xlabel("step"); axes[0].set_ylabel(f"logit of {cm.class_names[target]}")
axes[1].imshow(by_hand.squeeze(), cmap="gray" if cm.channels == 1 else None)
axes[1].set_title("class model, no blur or jitter"); axes[1].axis("off")
plt.show()

# %% [markdown]
# ## With vislib
#
# `vislib.class_model(model, target, steps, l2=..., blur_every=..., jitter=..., lr=...)`
# runs the same loop (compiled once per model) and returns the final image, the score at
# each step and frames of the optimisation. With blur and jitter switched off it is the
# loop above, step for step: after the first step the two images agree to a grey level,
# and the first three scores to a thousandth. On the offline model they agree to the end.
# On a real ImageNet network they then drift apart while both scores keep rising (printed
# below; on `efficientnet_lite0` after 10 steps the largest pixel difference was 190 grey
# levels, the logits 6.4 by hand and 10.9 compiled). The compiled and the step-by-step
# computation round differently in the last digits, and gradient ascent amplifies that:
# each step moves the pixels by about five grey levels (root mean square) wherever the
# gradient points, and the input gradient of a real network changes a lot between two
# nearly equal images (each ReLU6 that crosses 0 or 6 switches its part of the gradient on
# or off), so two runs that differ by a rounding error soon follow different paths.

# %%
plain = vislib.class_model(cm, target, steps=steps, l2=l2, lr=lr, blur_every=0, jitter=0)
first = vislib.class_model(cm, target, steps=CHECK, l2=l2, lr=lr, blur_every=0, jitter=0)
assert np.abs(first.image.astype(int) - after_check.astype(int)).max() <= 1     # the same first steps
assert np.allclose(plain.scores[:3], hand_scores[:3], rtol=1e-3, atol=1e-3)       # the first three scores
if hand_steps == steps:                                      # the offline model: the same image at the end
    assert np.abs(plain.image.astype(int) - by_hand.astype(int)).max() <= 1
    assert np.allclose(plain.scores, hand_scores, rtol=1e-3, atol=1e-3)
at = list(plain.frame_steps).index(hand_steps) if hand_steps in plain.frame_steps else None
drift = None if at is None else int(np.abs(plain.frames[at].astype(int) - by_hand.astype(int)).max())
print(f"after {hand_steps} steps: logit by hand {hand_scores[-1]:.2f}, "
      f"vislib {plain.scores[hand_steps - 1]:.2f}; largest pixel difference {drift} grey levels")

vis = vislib.class_model(cm, target, steps=steps, l2=l2, lr=lr)     # + jitter 1 px and blur every 4 steps
fig = vislib.plot_frames(vis, max_frames=8)
fig.suptitle(f"class model of {cm.class_names[target]} with jitter and blur", y=1.08)
plt.show()

# %% [markdown]
# ### What does it look like?
#
# Put the class models next to a real image of the class (the sample photo of a tabby cat
# on ImageNet profiles; a test sneaker offline), each with what the network makes of it.
# The optimised images are faint (the L2 penalty keeps them close to the start), so the
# bottom row stretches their contrast for display (the 1st to 99th percentile to black to
# white). A number for "high-frequency": the mean absolute difference between neighbouring
# pixels, in grey levels (the *roughness*).

# %%
ex_images, ex_labels, ex_names = vislib.examples(cm, cm.pick(clothes=10, photos=6))
real = ex_images[list(ex_labels).index(target)] if target in ex_labels else None

def roughness(img):      # mean |difference| between neighbouring pixels, in grey levels
    x = np.asarray(img, np.float32)
    return float((np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()) / 2)

def stretch(img):
    x = np.asarray(img, np.float32)
    lo_, hi_ = np.percentile(x, [1, 99])
    return np.clip((x - lo_) / max(hi_ - lo_, 1e-6), 0, 1)

shown = ([("real image", real)] if real is not None else []) + [("plain ascent", plain.image),
                                                                 ("jitter + blur", vis.image)]
probs = cm.predict(np.stack([img for _, img in shown]).astype(np.float32))
fig, axes = plt.subplots(2, len(shown), figsize=(3 * len(shown), 6.2), squeeze=False)
for k, ((name, img), p) in enumerate(zip(shown, probs)):
    axes[0, k].imshow(img.squeeze().astype("uint8"), cmap="gray" if cm.channels == 1 else None)
    axes[0, k].set_title(f"{name}\n{cm.class_names[p.argmax()]} ({p.max():.2f}); roughness {roughness(img):.1f}", fontsize=9)
    axes[1, k].imshow(stretch(img).squeeze(), cmap="gray" if cm.channels == 1 else None)
    axes[1, k].set_title("contrast stretched", fontsize=8)
for ax in axes.ravel():
    ax.axis("off")
plt.show()
photo_roughness = [roughness(img) for img in ex_images]
print("roughness of the example images:", " ".join(f"{r:.1f}" for r in photo_roughness))

# %% [markdown]
# On EfficientNet-Lite0 the network calls both class models "tabby" with near certainty
# (0.99 and 0.93 on the CI budget), far surer than of the real cat photo (tiger_cat, 0.39),
# yet neither shows a cat: no eyes, ears or outline, only a texture of fine curved strokes.
# Plain ascent is far rougher than any photo; jitter and blur bring the roughness down into
# the photos' range but still give a texture, not an object. This is what Olah et al. (2017) call the enemy of
# feature visualisation: optimising pixels freely finds patterns, many of them high
# frequency, that drive the network strongly but that no natural image contains.
# Simonyan et al. (2014) regularised with the L2 penalty alone; readable images of
# objects came later, with stronger priors: frequency penalties (blur, total variation),
# *transformation robustness* (random jitter, rotation and scaling at every step, so the
# pattern must work everywhere), and parameterising the image in a decorrelated Fourier
# basis (Olah et al. 2017), or a learned image prior (Nguyen et al. 2016). The jitter and
# blur here are the weakest of these.

# %% [markdown]
# ### A feature or an adversarial pattern? Transformation robustness
#
# Olah et al. (2017) give a test and a cure. The test: a picture of *features* keeps its
# class when it is moved, resized or turned a little, as a photo of a cat does; a pattern
# tuned pixel for pixel to one alignment of the network's filters loses it.
# `vislib.random_views(image, 16, jitter=..., scale=0.1, rotate=10)` makes 16 such views.
# The cure is to optimise for exactly that: at every step the image the network sees is
# shifted (`jitter`), zoomed (`scale`) and turned (`rotate`) at random, so only what works
# everywhere survives; and to optimise the image's **spectrum** in a decorrelated colour
# basis (`param="fourier"`) instead of its pixels, with Adam, so that low frequencies get
# as large steps as high ones (plain pixel gradients favour high frequencies). Both are
# options of `vislib.class_model`; `l2=0` because the sigmoid of the Fourier image already
# keeps the pixels in range. The recipe is Lucid's (jitter 8 px at 224 px, zoom ±10 %,
# rotation ±10°), scaled to the input size.

# %%
side = min(cm.input_size)
move = dict(jitter=max(1, side // 28), scale=0.1, rotate=10.0)               # 8 px at 224, 1 px at 28
robust = vislib.class_model(cm, target, steps=steps, l2=0.0, param="fourier", **move)
view_move = dict(jitter=max(2, side // 14), scale=0.1, rotate=10.0)           # 16 px at 224, 2 px at 28

def kept(image):          # share of 16 random views still classified as the target
    views = vislib.random_views(image, 16, seed=1, **view_move)
    return float(np.mean(cm.predict(views).argmax(1) == target))

contenders = {"plain ascent": plain, "jitter + blur": vis, "transformations + Fourier": robust}
kept_share = {name: kept(v.image) for name, v in contenders.items()}
fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.6))
for ax, (name, v) in zip(axes, contenders.items()):
    ax.imshow(v.image.squeeze().astype("uint8"), cmap="gray" if cm.channels == 1 else None)
    ax.set_title(f"{name}\nkept {cm.class_names[target]} on {kept_share[name] * 16:.0f}/16 views", fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()
print("share of random views kept:", {k: round(v, 2) for k, v in kept_share.items()})

if cm.weights == "trained":                  # the offline model: the regularized one keeps its class
    assert kept_share["transformations + Fourier"] >= 0.75
if cm.real_imagenet:
    vislib.claim(cm, kept_share["plain ascent"] <= 0.5 and kept_share["transformations + Fourier"] >= 0.75,
                 f"plain ascent keeps its class on {kept_share['plain ascent']:.2f} of the views, the regularized "
                 f"class model on {kept_share['transformations + Fourier']:.2f} (measured on efficientnet_lite0: "
                 "0/16 vs 16/16 after 50, 100 and 200 steps)")

# %% [markdown]
# On EfficientNet-Lite0 the plain class model of "tabby" kept its class on none of the 16
# views, after 50, 100 and 200 steps; with jitter and blur on 8, 2 and 3 of them; the
# regularized one on all 16 every time (this run's figures are printed above; plain vs
# regularized is checked there). The title bars show the same thing: jitter and blur help
# a little, the transformations at every step settle it. After 200 steps (beyond the
# lesson's budget) the regularized image shows cat parts a
# person can point at: a face with two eyes and ears in one corner, tabby stripes and fur
# in several places, at different sizes and angles, because the transformations rewarded
# them at every position. On the small Fashion-MNIST network (Sneaker, views shifted by up
# to 2 pixels) the plain class model keeps its class on most views too: 16 of 16 after 40
# steps and 12 of 16 after 200, the regularized one 15 and 16. 28x28 pixels and two conv
# blocks leave little room for a pattern that only works at one alignment, so the test
# separates the two clearly only on the real network.

# %% [markdown]
# ## Reconstructing an image from its activations
#
# The same machinery answers a different question: *what does a layer keep of an
# image?* Mahendran & Vedaldi (2015) invert a representation: given the activations
# $\Phi_0 = \Phi_\ell(x_0)$ of a photo at layer $\ell$, find an image whose activations
# match, starting from noise,
#
# $$x^\star = \arg\min_x \frac{\lVert \Phi_\ell(x) - \Phi_0 \rVert^2}{\lVert \Phi_0 \rVert^2}
#   + \lambda_\alpha \lVert x \rVert_\alpha^\alpha + \lambda_{TV}\, TV^\beta(x).$$
#
# Whatever comes back like the photo, the layer kept; whatever comes back different, the
# layer threw away (any image with those activations would do). `vislib.invert(model,
# images, layer)` runs it with Adam and a small jitter, and reports how well the
# activations match (`feature_error`, relative) against the noise it started from
# (`start_error`), and how far the pixels are from the photo (`pixel_error`, a fraction of
# the pixel range).

# %%
convs = cm.conv_layers
inv_layers = list(dict.fromkeys(cm.pick(clothes=[convs[0], convs[-1], cm.feature_layer],
                                        photos=[convs[0], convs[len(convs) // 3], convs[2 * len(convs) // 3], cm.feature_layer],
                                        heavy=[convs[0], convs[len(convs) // 2], cm.feature_layer])))
inv_images = ex_images[:cm.pick(clothes=2, photos=1)]
# a step is one forward and backward pass to the layer: ~0.1 s on EfficientNet-Lite0, ~1 s on VGG16
inv_steps = cm.pick(clothes=vislib.budget(300, 150), photos=vislib.budget(80, 60), heavy=vislib.budget(30, 10))
inversions = {layer: vislib.invert(cm, inv_images, layer, steps=inv_steps) for layer in inv_layers}
fig, axes = plt.subplots(len(inv_images), len(inv_layers) + 1, figsize=(2.6 * (len(inv_layers) + 1), 2.8 * len(inv_images)),
                         squeeze=False)
for i, img in enumerate(inv_images):
    axes[i, 0].imshow(img.squeeze().astype("uint8"), cmap="gray" if cm.channels == 1 else None)
    axes[i, 0].set_title("original", fontsize=9)
    for j, (layer, r) in enumerate(inversions.items()):
        axes[i, j + 1].imshow(r.images[i].squeeze(), cmap="gray" if cm.channels == 1 else None)
        axes[i, j + 1].set_title(f"{layer}\nfeature err {r.feature_error[i]:.2f}, pixel err {r.pixel_error[i]:.2f}", fontsize=8)
for ax in axes.ravel():
    ax.axis("off")
plt.tight_layout()
plt.show()
for layer, r in inversions.items():
    print(f"{layer:>22}: feature error {r.feature_error.mean():.3f} (noise start {r.start_error.mean():.3f}), "
          f"pixel error {r.pixel_error.mean():.3f}")

first_layer, last_layer = inv_layers[0], inv_layers[-1]
matched = all(np.all(r.feature_error < 0.7 * r.start_error) for r in inversions.values())
deeper_worse = bool(np.all(inversions[first_layer].pixel_error < inversions[last_layer].pixel_error))
if cm.weights == "trained":
    assert matched and deeper_worse
if cm.real_imagenet:
    vislib.claim(cm, matched, "every layer's reconstruction matches its activations better than the noise start: "
                 + ", ".join(f"{k} {r.feature_error.mean():.2f} vs {r.start_error.mean():.2f}" for k, r in inversions.items())
                 + " (measured on efficientnet_lite0, 60 steps: 0.08 vs 1.01 at the first layer, 0.39 vs 1.21 at avg_pool)")
    vislib.claim(cm, deeper_worse, f"the first layer keeps more of the pixels than the last: pixel error "
                 f"{inversions[first_layer].pixel_error.mean():.3f} vs {inversions[last_layer].pixel_error.mean():.3f} "
                 "(measured: 0.018 vs 0.223)")

# %% [markdown]
# On EfficientNet-Lite0 (the cat, 60 steps, the CI budget) the first conv layer gives
# the photo back almost exactly (activations within 8 % of the photo's, pixels within 2 %
# of the range); a third of the way in, eyes, nose and whiskers come back at their places
# but in false colours, with texture all over (pixel error 0.16); at the pooled features
# (`avg_pool`, 1280 numbers) fur-like texture remains, with faint eye-like blobs, and
# the pixel error is 0.22, although those 1280 numbers match within 39 %, three times
# closer than the noise's. The offline model shows the same order (checked above on both:
# every layer's activations matched better than the start's; the first layer's pixels
# better than the last's). This is Mahendran & Vedaldi's observation: deeper layers keep
# *what* is there and drop *where* exactly and in which colour. One caveat, measured on
# Lite0: at `top_activation` (7x7x1280 after ReLU6, mostly zeros) 100 steps only bring the
# relative error from 1.14 to 0.93, so the lesson inverts the pooled features instead.

# %% [markdown]
# ### Any unit, with tf-keras-vis
#
# `vislib.activation_maximization(model, layer, unit, ...)` wraps tf-keras-vis'
# `ActivationMaximization`. For `layer=None` the score is a class logit (a weight-sharing
# linear view of the model, what tf-keras-vis' `ReplaceToLinear` does to a clone); for a
# 2-D layer (a dense layer, or EfficientNet's pooled features `avg_pool`), one unit, before
# its ReLU if it has one; for a conv layer, the mean of one channel. The
# defaults are tf-keras-vis' regularizers (total variation and an L2 norm, pulling towards
# grey) and a jitter of a few pixels.

# %%
am_steps = cm.pick(clothes=vislib.budget(200, 40), photos=vislib.budget(50, 12),   # tf-keras-vis steps run eagerly
                   heavy=vislib.budget(16, 8))
dense = cm.feature_layer                      # "fc7" offline, "fc2" on VGG16, "avg_pool" on EfficientNet
middle = cm.conv_layers[len(cm.conv_layers) // 2]
runs = {
    f"class {cm.class_names[target]}": vislib.activation_maximization(cm, None, target, steps=am_steps),
    f"{dense} unit 0": vislib.activation_maximization(cm, dense, 0, steps=am_steps),
    f"{middle} channel 0": vislib.activation_maximization(cm, middle, 0, steps=am_steps),
}
fig, axes = plt.subplots(2, len(runs), figsize=(3 * len(runs), 5))
for (name, v), top, bottom in zip(runs.items(), axes[0], axes[1]):
    vislib.plot_run(v, name, axes=(top, bottom))
plt.tight_layout()
plt.show()

# %% [markdown]
# The whole optimisation as an animated GIF, shown here and saved next to the temporary files:

# %%
import tempfile, pathlib
from IPython.display import Image, display
gif = pathlib.Path(tempfile.gettempdir()) / f"class_model_{cm.name}_{target}.gif"
frames = [f.squeeze(-1) if cm.channels == 1 else f for f in vis.frames]
vislib.save_gif(frames, gif, duration=0.3)
assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")   # a real GIF, not an empty file
display(Image(filename=str(gif), width=min(4 * cm.input_size[1], 336)))
print("saved", gif, f"({len(frames)} frames)")


# %% [markdown]
# ## Explore
#
# The step slider walks through the frames already computed (no new optimisation). The
# regularizer sliders run a new optimisation the first time a combination is chosen;
# results are cached, so going back is instant.

# %%
def show_step(frame):
    img = vis.frames[frame]
    s = int(vis.frame_steps[frame])
    plt.figure(figsize=(3, 3))
    plt.imshow(img.squeeze(), cmap="gray" if cm.channels == 1 else None)
    plt.title(f"step {s}" + (f": logit {vis.scores[s - 1]:.2f}" if s else ": start"))
    plt.axis("off")
    plt.show()

vislib.explorer(show_step, frame=widgets.IntSlider(min=0, max=len(vis.frames) - 1, value=len(vis.frames) - 1,
                                                   description="frame"))

# %%
results = {(l2, 4): vis}    # (l2, blur_every) -> Visualization, seeded with the run above

def show_regularized(l2, blur_every):
    key = (l2, blur_every)
    if key not in results:
        results[key] = vislib.class_model(cm, target, steps=steps, l2=l2, blur_every=blur_every)
    v = results[key]
    vislib.plot_run(v, f"l2={l2}, blur every {blur_every or 'never'}")
    plt.show()

vislib.explorer(show_regularized, heavy=("l2", "blur_every"),
                l2=widgets.SelectionSlider(options=[0.0, 1.0, 10.0, 100.0, 1000.0], value=1.0, description="l2"),
                blur_every=widgets.SelectionSlider(options=[0, 1, 2, 4, 8], value=4, description="blur every"))

# %% [markdown]
# The same for tf-keras-vis' total-variation weight (the class unit; the L2 norm weight
# stays at 0.3). Measured with the CI budget: with weight 0 the image is rough pixel noise
# (roughness 46 on EfficientNet-Lite0 after 12 steps, 64 on the offline model after 40); with
# 30 it is smooth (9 and 13), and the score rises less (by 2.6 instead of 3.7 at weight 1,
# and by 6.7 instead of 25.9).

# %%
tv_results = {1.0: runs[f"class {cm.class_names[target]}"]}    # the default run above: tv = 1.0

def show_tv(tv):
    if tv not in tv_results:
        tv_results[tv] = vislib.activation_maximization(cm, None, target, steps=am_steps,
                                                        regularizers={"tv": tv, "norm": 0.3})
    v = tv_results[tv]
    vislib.plot_run(v, f"total variation weight {tv}")
    plt.show()

vislib.explorer(show_tv, heavy=("tv",),
                tv=widgets.SelectionSlider(options=[0.0, 1.0, 3.0, 10.0, 30.0], value=1.0, description="TV weight"))

# %% [markdown]
# ## What to notice
#
# - The by-hand loop and `vislib.class_model` agree on the first steps (checked above); on a
#   real network they then drift apart, both still climbing.
# - The target logit rises far above its start, and the optimised image is classified as
#   the target class with near certainty. On `efficientnet_lite0` (tabby, with jitter and
#   blur): logit 0.03 at the grey start (probability 0.001), 29.4 after 50 steps
#   (probability 0.93, the CI budget) and 30.7 after 100 (0.99); checked: at least 15 more
#   than at the start, probability at least 0.8, top-1 tabby. The network is sure about an
#   image that does not look like a cat: the same gap that lesson 09's adversarial examples
#   exploit.
# - On `efficientnet_lite0`, plain ascent gives high-frequency texture: its roughness was
#   27.4 grey levels after 50 steps and 38.7 after 100, against 2.4-9.8 for the six sample
#   photos (checked: more than twice the roughest photo). Jitter and blur bring it down to 9.4 and 7.8 (checked: at
#   most half of plain ascent's) without making a cat appear.
# - A larger L2 weight gives an image closer to the start (greyer on ImageNet, darker
#   offline): a smaller $\lVert I \rVert$ (checked). On EfficientNet-Lite0 it does not cost
#   score: with $\lambda = 1000$ the last tabby logit was 31.1 after 50 steps and 48.7 after
#   100, against 27.6 and 44.7 with $\lambda = 1$.
# - tf-keras-vis raised every score it was given: the class logit, the pooled feature, the
#   conv channel (checked).

# %%
start = cm.logits(vis.frames[0].astype(np.float32))[0]
end = cm.logits(vis.image.astype(np.float32))[0]
p_start, p_end = (np.exp(z - z.max()) / np.exp(z - z.max()).sum() for z in (start, end))
print(f"logit of {cm.class_names[target]}: {start[target]:.2f} -> {end[target]:.2f}; probability "
      f"{p_start[target]:.3f} -> {p_end[target]:.3f}; top-1 of the class model: {cm.class_names[int(np.argmax(end))]}")
strong = vislib.class_model(cm, target, steps=steps, l2=1000.0, blur_every=0, jitter=0)
norm = lambda v: float(np.mean(np.square(np.asarray(cm.preprocess(v.image[None].astype(np.float32))))))
print(f"mean square of the input: l2=1000 {norm(strong):.4f}, l2=1 {norm(plain):.4f}; "
      f"their last logits {strong.scores[-1]:.1f} and {plain.scores[-1]:.1f}")
print(f"roughness: plain {roughness(plain.image):.1f}, jitter + blur {roughness(vis.image):.1f}, "
      f"roughest example image {max(photo_roughness):.1f}")
assert len(vis.scores) == steps and vis.frames.shape[0] == len(vis.frame_steps)
assert np.isfinite(vis.scores).all()
if cm.weights == "trained":          # the offline model (its figures: see the printout)
    assert end[target] > start[target] + 5
    assert int(np.argmax(end)) == target
    assert vis.scores[-1] > vis.scores[0] + 5
    assert norm(strong) < norm(plain)                    # the L2 penalty shrinks the image
    for name, v in runs.items():
        assert v.scores[-5:].mean() > v.scores[:5].mean(), name   # tf-keras-vis raised every score
if cm.real_imagenet:
    vislib.claim(cm, end[target] >= start[target] + 15 and p_end[target] >= 0.8 and int(np.argmax(end)) == target,
                 f"the class model raises the {cm.class_names[target]} logit from {start[target]:.2f} to {end[target]:.2f} "
                 f"(probability {p_start[target]:.3f} -> {p_end[target]:.2f}) and is classified as it "
                 "(measured 0.03 -> 29.4 / 30.7, probability 0.93 / 0.99)")
    vislib.claim(cm, roughness(plain.image) > 2 * max(photo_roughness),
                 f"plain ascent is high-frequency texture: roughness {roughness(plain.image):.1f} vs at most "
                 f"{max(photo_roughness):.1f} for the photos (measured 27.4 / 38.7 vs 9.8)")
    vislib.claim(cm, roughness(vis.image) <= 0.5 * roughness(plain.image),
                 f"jitter and blur remove most of it: roughness {roughness(vis.image):.1f} vs {roughness(plain.image):.1f} "
                 "(measured 9.4 / 7.8)")
    if real is not None:
        p_real = cm.predict(real[None].astype(np.float32))[0]
        vislib.claim(cm, min(probs[-2][target], probs[-1][target]) > p_real.max(),
                     f"the network is surer of both class models ({probs[-2][target]:.2f}, {probs[-1][target]:.2f}) than of "
                     f"the real photo ({cm.class_names[p_real.argmax()]} {p_real.max():.2f}; measured 0.99, 0.93 vs 0.39)")
    vislib.claim(cm, norm(strong) < norm(plain), f"a larger L2 weight gives a greyer image: {norm(strong):.4f} < {norm(plain):.4f}")
    vislib.claim(cm, all(v.scores[-5:].mean() > v.scores[:5].mean() for v in runs.values()),
                 "tf-keras-vis raised every score: " + ", ".join(f"{n} {v.scores[:5].mean():.2f} -> {v.scores[-5:].mean():.2f}"
                                                                  for n, v in runs.items()))

# %% [markdown]
# ## Exercises
#
# 1. Which of the two would rise if the optimiser only *lowered the other classes'* scores:
#    `"logit"` or `"softmax"`?
# 2. Which class does the network rank **second** for the class model `vis.image` (by its
#    logits, `cm.logits`)? Set `answer_2` to its index. What does the runner-up say about
#    which classes look alike to the network?
# 3. How much did the target logit rise between the first and the last frame of `vis`
#    (use `cm.logits` on both frames)?
# 4. Which of the inverted layers (`inversions`, a dict from layer name to result) lost the
#    most of the photo's pixels? Set `answer_4` to its name, by the mean `pixel_error`.

# %%
answer_1 = None     # "logit" or "softmax"
answer_2 = None     # a class index
answer_3 = None     # a number
answer_4 = None     # a layer name

vislib.check(answer_1, "softmax", hint="p_c = exp(S_c) / sum_k exp(S_k): what happens when S_k falls?", name="1. score")
vislib.check(answer_2, int(np.argsort(end)[-2]), hint="rank the class model's logits from high to low and take the second",
             name="2. runner-up")
vislib.check(answer_3, float(end[target] - start[target]), tol=1e-2, hint="the target's logit on the last frame minus on the first (logits, not probabilities)", name="3. rise")
vislib.check(answer_4, max(inversions, key=lambda name: inversions[name].pixel_error.mean()),
             hint="pixel_error: how far the reconstruction's pixels are from the photo's (feature_error is about the activations)",
             name="4. most pixels lost")

# %% [markdown]
# ## Summary
#
# - The class model $\arg\max_I S_c(I) - \lambda\lVert I\rVert^2$ is gradient ascent in
#   input space on the pre-softmax score; a few lines with `tf.GradientTape`.
# - On a real ImageNet network it finds a texture the network is sure about (tabby at
#   0.93-0.99 on EfficientNet-Lite0) with no cat in it. Blur, jitter and total variation
#   remove the pixel-level noise; recognisable parts need the stronger priors of Olah et
#   al. (2017): transformation robustness and a decorrelated Fourier basis. The plain
#   class model loses its class on shifted, zoomed or turned views, the regularized one keeps it.
# - Inverting a layer's activations shows what it keeps: nearly the photo at the first
#   layer, parts and textures without exact places and colours at the last.
# - The same machinery visualises any unit (`vislib.activation_maximization`): a dense
#   unit, a conv channel. Compare with lesson 04, which *searched* real images instead of
#   *synthesising* one.
# - A confident class score for a synthetic image says what the network responds to, not
#   that the image looks like the class: the gap between the two is what adversarial
#   examples exploit.
#
# ## References
# - Simonyan, K., Vedaldi, A., & Zisserman, A. (2014). Deep Inside Convolutional Networks: Visualising Image
#   Classification Models and Saliency Maps. ICLR Workshop.
# - Erhan, D., Bengio, Y., Courville, A., & Vincent, P. (2009). Visualizing Higher-Layer Features of a Deep
#   Network. University of Montreal Technical Report 1341.
# - Yosinski, J., Clune, J., Nguyen, A., Fuchs, T., & Lipson, H. (2015). Understanding Neural Networks Through
#   Deep Visualization. ICML Deep Learning Workshop.
# - Mahendran, A., & Vedaldi, A. (2015). Understanding Deep Image Representations by Inverting Them. CVPR
#   (total variation; feature inversion).
# - Mahendran, A., & Vedaldi, A. (2016). Visualizing Deep Convolutional Neural Networks Using Natural
#   Pre-images. IJCV 120 (jitter in the inversion).
# - Olah, C., Mordvintsev, A., & Schubert, L. (2017). Feature Visualization. Distill
#   (transformation robustness, decorrelated Fourier parameterization; code: Lucid).
# - Nguyen, A., Dosovitskiy, A., Yosinski, J., Brox, T., & Clune, J. (2016). Synthesizing the Preferred Inputs for
#   Neurons in Neural Networks via Deep Generator Networks. NeurIPS.
# - Kubota, Y. tf-keras-vis (software), https://github.com/keisen/tf-keras-vis.
