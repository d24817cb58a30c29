# %% [markdown]
# # 02 · t-SNE of FC7 features
#
# The last hidden layer of a classifier ("FC7" in AlexNet and VGG16, `fc2` in Keras's VGG16)
# turns every image into a vector. If the network has learned something general, images it
# considers alike get nearby vectors, even when their pixels differ. This lesson collects
# those vectors for a labelled image set, draws them in 2-D with t-SNE and measures how
# much better they group the classes than raw pixels do.
#
# ## What you will learn
# - what the FC7 feature vector is and how to collect it for many images (`vislib.features`);
# - how PCA and t-SNE project high-dimensional vectors to a 2-D map (`vislib.embed`, `vislib.plot_embedding`);
# - why nearest neighbours in FC7 space are semantic while neighbours in pixel space match colour and layout;
# - two numbers that say it: k-NN accuracy and the silhouette score, FC7 against pixels;
# - what t-SNE's perplexity changes, and what a t-SNE map does *not* tell you.

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
# Write $\phi(x) \in \mathbb{R}^D$ for the activations of the feature layer ($D = 4096$ for
# VGG16's `fc2`, 128 for the offline model's `fc7`; EfficientNet-Lite0 and MobileNetV2 have no
# hidden fully connected layer, and their globally average-pooled last conv maps, 1280
# numbers, play its part). Krizhevsky et al. (2012, Section 6.1)
# observed that two images are alike *to the network* when $\lVert \phi(x) - \phi(x') \rVert$
# is small. To look at thousands of such vectors at once, t-SNE (van der Maaten & Hinton 2008)
# places one point $y_i \in \mathbb{R}^2$ per image so that neighbourhoods are kept:
# with affinities in feature space and in the map
#
# $$p_{j|i} = \frac{\exp(-\lVert \phi_i - \phi_j \rVert^2 / 2\sigma_i^2)}{\sum_{k \ne i} \exp(-\lVert \phi_i - \phi_k \rVert^2 / 2\sigma_i^2)},
# \qquad p_{ij} = \frac{p_{j|i} + p_{i|j}}{2N},
# \qquad q_{ij} = \frac{(1 + \lVert y_i - y_j \rVert^2)^{-1}}{\sum_{k \ne l} (1 + \lVert y_k - y_l \rVert^2)^{-1}},$$
#
# it minimises $\mathrm{KL}(P \,\Vert\, Q) = \sum_{i \ne j} p_{ij} \log (p_{ij} / q_{ij})$.
# Each $\sigma_i$ is chosen so that the *perplexity* $2^{H(P_i)}$ equals a set value: roughly
# the number of neighbours each point cares about. A PCA to 50 dimensions first removes noise
# and makes t-SNE fast.

# %% [markdown]
# ### The labelled image set
#
# Under the offline profile: Fashion-MNIST test images. Under the ImageNet profiles: the TF
# flowers photos (5 classes) when they can be downloaded. Offline there is no labelled photo
# set to be had, so the ImageNet networks get real images of another kind: the same
# Fashion-MNIST test items, grey clothes of 28x28 pixels scaled up to the network's input
# (squashed rather than centre-cropped: they are square already, and a crop would cut off
# the sleeves). They are far from ImageNet photos, which makes the test harder for the
# network, not easier. We also tried scikit-learn's 8x8 handwritten digits, the other real
# labelled images that ship offline: there raw pixels win (on 300 digits through
# `efficientnet_lite0`, k-NN accuracy 0.98 for pixels against 0.81 for its features),
# probably because upscaled 8x8 digits are centred, aligned strokes that pixel distances already
# compare well, and nothing like a photo. So they would not show what the
# features do.

# %%
(x_test, y_test) = vislib.fashion_mnist().test
if cm.channels == 1:
    n = vislib.budget(1000, 300)
    images = x_test[:n, ..., None].astype(np.float32)
    labels, class_names, source = y_test[:n], vislib.fashion_mnist().class_names, "Fashion-MNIST test images"
    pixels = images.reshape(n, -1)                                    # the baseline: raw pixels as vectors
else:
    try:
        fl = vislib.flowers(size=cm.input_size, limit=vislib.budget(60, 20))   # 300 photos: 0.18 GB as float32
        images = np.concatenate([fl[s][0] for s in ("train", "val", "test")]).astype(np.float32)
        labels = np.concatenate([fl[s][1] for s in ("train", "val", "test")])
        class_names, source = fl["class_names"], "TF flowers photos"
        pixels = images.reshape(len(images), -1)                      # a view, no copy
    except RuntimeError as err:
        print("flowers unavailable:", str(err).split(";")[0])
        n = vislib.budget(300, 100)
        images = cm.prepare(list(x_test[:n]), crop=False)              # square already: scale, do not crop
        labels, class_names, source = y_test[:n], vislib.fashion_mnist().class_names, "Fashion-MNIST, scaled to RGB"
        pixels = x_test[:n].reshape(n, -1).astype(np.float32)        # the 28x28 originals: scaling adds nothing
print(f"{len(images)} images from {source}, {len(class_names)} classes, shape {images.shape[1:]}")
vislib.show_images(images[:8], titles=[class_names[c] for c in labels[:8]], cols=8, size=1.2)
plt.show()

# %% [markdown]
# ## By hand
#
# The feature vector is the output of one inner layer: build a Keras model from the input
# to that layer and run it on preprocessed images. PCA is the projection on the top
# eigenvectors of the covariance: centre the vectors, take an SVD, keep two directions.

# %%
import keras

to_fc7 = keras.Model(cm.model.inputs, cm.model.get_layer(cm.feature_layer).output)
phi_hand = np.asarray(to_fc7(cm.preprocess(images[:4]), training=False))   # an eager call keeps every layer's output: 4 images
if phi_hand.ndim == 4:                      # a spatial layer: average over positions
    phi_hand = phi_hand.mean(axis=(1, 2))
print(f"{cm.feature_layer}: {phi_hand.shape[1]} numbers per image")

def pca_by_hand(F, k=2):
    Fc = F - F.mean(axis=0)
    U, S, Vt = np.linalg.svd(Fc, full_matrices=False)
    return Fc @ Vt[:k].T, S**2 / (S**2).sum()


# %% [markdown]
# ## With vislib
#
# `vislib.features` runs the network in batches (with a progress bar when that takes a
# while) and returns one row per image. `vislib.embed` does PCA or PCA + t-SNE. We compute
# both for the FC7 vectors and, as the baseline, for the raw pixels (of the clothes: their
# 28x28 originals, since scaling them up to the network's input adds no information and
# would make every pixel distance 200 times dearer).

# %%
F = vislib.features(cm, images)                         # (N, D)
P = pixels                                              # pixels as vectors, (N, H*W*C), from the data cell
# (cosine distances and principal directions do not depend on the 0-255 scale)
# t-SNE starts with a PCA to 50 dimensions (vislib.embed does it); for the pixels it is
# done once here and reused by every perplexity the slider asks for.
P50 = vislib.embed(P, method="pca", n_components=min(50, *P.shape))
assert np.allclose(F[:4], phi_hand, atol=1e-4)

pca_hand, explained = pca_by_hand(F)
pca_lib = vislib.embed(F, method="pca")
signs = np.sign((pca_hand * pca_lib).sum(axis=0))       # principal directions are defined up to sign
assert np.allclose(pca_lib, pca_hand * signs, atol=1e-2 * np.abs(pca_hand).max())
print(f"FC7 {F.shape}, pixels {P.shape}; the first two principal components explain "
      f"{100 * explained[:2].sum():.0f} % of the FC7 variance")

# %%
embeddings = {}                                          # (space, perplexity) -> 2-D points, computed once
embeddings["FC7", 30] = vislib.embed(F, perplexity=30)
embeddings["pixels", 30] = vislib.embed(P50, perplexity=30)
zoom = 22 / cm.input_size[0]
fig, axes = plt.subplots(1, 2, figsize=(14, 6.5))
for ax, space in zip(axes, ("FC7", "pixels")):
    vislib.plot_embedding(embeddings[space, 30], labels, class_names, thumbnails=images, ax=ax, zoom=zoom,
                          max_thumbnails=60, legend=space == "FC7")
    ax.set_title(f"t-SNE of {space} ({cm.feature_layer if space == 'FC7' else 'raw pixels'})")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Nearest neighbours: semantic or colour?
#
# For a typical query (image 0) and for the query where the two spaces disagree most, the
# five nearest images by cosine distance in FC7 space (top row) and in pixel space (bottom
# row). A green title means "same class as the query".

# %%
K = 5
# the K nearest neighbours of every image in both spaces, in one pass each (reused by the slider)
NN = {space: vislib.nearest_neighbors(feats, np.arange(len(images)), k=K, metric="cosine")
      for space, feats in (("FC7", F), ("pixels", P))}
hits = {space: (labels[nn] == labels[:, None]).sum(axis=1) for space, nn in NN.items()}  # same-class neighbours

def plot_neighbours(q):
    tiles, names, colors = [], [], []
    for space in ("FC7", "pixels"):                    # one row per space: the query, then its K neighbours
        tiles += [images[q]] + [images[j] for j in NN[space][q]]
        names += [f"query ({space})"] + [class_names[labels[j]][:12] for j in NN[space][q]]
        colors += ["black"] + ["green" if labels[j] == labels[q] else "red" for j in NN[space][q]]
    return vislib.plot_tiles(tiles, ncols=K + 1, labels=names, label_colors=colors, size=1.5,
                             vmin=0, vmax=255, fontsize=8)

# a typical query (image 0) and the query where the two spaces disagree most
contrast = int(np.argmax(hits["FC7"] - hits["pixels"]))
print(f"same-class neighbours out of {K}, mean over all queries: FC7 {hits['FC7'].mean():.2f}, "
      f"pixels {hits['pixels'].mean():.2f}")
for q in (0, contrast):
    plot_neighbours(q)
plt.show()

# %% [markdown]
# ### Numbers that say it
#
# *k-NN accuracy*: classify every image by a vote of its 5 nearest neighbours among the
# others (5-fold cross-validation); a space where classes form tight groups scores high.
# The *silhouette score* $s = \frac{1}{N}\sum_i \frac{b_i - a_i}{\max(a_i, b_i)}$ compares
# each point's mean distance to its own class ($a_i$) with that to the nearest other class
# ($b_i$): 1 = tight separate clusters, 0 = overlapping classes.

# %%
from sklearn.metrics import silhouette_score

scores = {}
for space, feats in (("FC7", F), ("pixels", P)):
    scores[space] = {"k-NN accuracy": vislib.knn_accuracy(feats, labels, k=5, metric="cosine"),
                     "silhouette": float(silhouette_score(feats, labels, metric="cosine"))}
    print(f"{space:>7s}: k-NN accuracy {scores[space]['k-NN accuracy']:.3f}, "
          f"silhouette {scores[space]['silhouette']:.3f}")
print(f"chance level: {1 / len(class_names):.2f}")


# %% [markdown]
# ## Explore
#
# The perplexity slider recomputes t-SNE (a second or a few, then cached: moving back costs
# nothing). The query slider only looks up neighbours in the features already computed.
# Watch how small perplexities break classes into many little islands and large ones
# merge them; the *distances between* clusters in a t-SNE map mean little.

# %%
def show_tsne(perplexity, space):
    key = (space, perplexity)
    if key not in embeddings:
        feats = F if space == "FC7" else P50
        embeddings[key] = vislib.embed(feats, perplexity=min(perplexity, len(feats) - 1))
    ax = vislib.plot_embedding(embeddings[key], labels, class_names, point_size=10)
    ax.set_title(f"t-SNE of {space}, perplexity {perplexity}: silhouette in the map "
                 f"{silhouette_score(embeddings[key], labels):.2f}")
    plt.show()

vislib.explorer(show_tsne, heavy=("perplexity", "space"),
                perplexity=widgets.SelectionSlider(options=[5, 15, 30, 50, 100], value=30, description="perplexity"),
                space=widgets.ToggleButtons(options=["FC7", "pixels"], description="space"))


# %%
def show_neighbours(query):
    plot_neighbours(query)
    plt.show()

vislib.explorer(show_neighbours, query=widgets.IntSlider(min=0, max=len(images) - 1, value=2, description="query"))

# %% [markdown]
# ## What to notice
#
# - Every image has one vector of the feature layer's width; identical images get
#   identical vectors (to float rounding), and the batch size does not change them.
# - With trained weights, FC7 space groups the classes better than pixel space: the k-NN
#   accuracy is higher and so is the silhouette score. How much better depends on the
#   network and the images. Measured on `efficientnet_lite0` with the offline clothes
#   (the first 100 test items under `VISLIB_FAST=1`, 300 otherwise): k-NN accuracy 0.79
#   against 0.60 for pixels (0.78 against 0.65 on 300), silhouette 0.15 against 0.06
#   (0.14 against 0.11 on 300). So an ImageNet network, which never saw these grey
#   clothes, still groups them better than their pixels do, though not by a wide margin
#   in the silhouette. On four other sets of 100 clothes the k-NN gain ranged from 5 to 16
#   points, and FC7's silhouette was higher every time, by 0.03 to 0.09.
# - The check below asks for at least 5 points of k-NN gain and a higher silhouette: on
#   this fixed set of images the figures do not vary between runs, and 5 points is well
#   under both measured gains (19 and 14 points) and no more than the smallest gain seen on
#   the other sets. (The offline `fashion_cnn` must pass the same test. It was trained on
#   these clothes, and it shows: on its 300 test items, k-NN accuracy 0.92 against 0.65 for pixels, silhouette 0.61 against 0.11.
#   Features learned for the task beat features learned on ImageNet, the starting point of
#   lesson 10.)
# - With *random* weights the features of a deep ImageNet architecture are no good at all:
#   on the same 100 clothes, untrained EfficientNet-Lite0 and MobileNetV2 give a k-NN
#   accuracy of 0.13 (chance: 0.10) and a silhouette of 0.00 (measured).
# - Neighbours in pixel space share brightness and layout; FC7 neighbours more often share
#   the class, even when they look different.

# %%
assert F.shape == (len(images), phi_hand.shape[1]) and P.shape[0] == len(images)
assert embeddings["FC7", 30].shape == (len(images), 2)
nn0 = vislib.nearest_neighbors(F, 0, k=5)
assert np.array_equal(NN["FC7"][0], nn0)                # the table the slider reads holds the same neighbours
assert 0 not in nn0 and len(set(nn0.tolist())) == 5
gain = scores["FC7"]["k-NN accuracy"] - scores["pixels"]["k-NN accuracy"]
finding = (f"{cm.feature_layer} features beat pixels on {source}: k-NN accuracy {scores['FC7']['k-NN accuracy']:.2f} "
           f"against {scores['pixels']['k-NN accuracy']:.2f} ({100 * gain:+.0f} points), silhouette "
           f"{scores['FC7']['silhouette']:.3f} against {scores['pixels']['silhouette']:.3f}")
better = gain >= 0.05 and scores["FC7"]["silhouette"] > scores["pixels"]["silhouette"]
if cm.real_imagenet:
    vislib.claim(cm, better, finding + " (efficientnet_lite0 on 100 clothes: 0.79 against 0.60, 0.153 against 0.061)")
elif cm.weights == "trained":                            # the offline model, trained on these clothes
    print(finding)
    assert better, finding

# %% [markdown]
# ## Exercises
#
# 1. How many numbers describe each image in FC7 space? Set `dim`.
# 2. Of the 5 FC7 neighbours of image 3, how many share its class? Set `same_class`
#    (use `vislib.nearest_neighbors(F, 3, k=5)` and `labels`).
# 3. Does one neighbour suffice? Compute the k-NN accuracy in FC7 space with `k=1`
#    (cosine metric) and set `acc_1nn`.

# %%
dim = None          # your answer
same_class = None   # your answer
acc_1nn = None      # your answer

vislib.check(dim, F.shape[1], hint="one row of F per image: how many columns?", name="1. dimension")
vislib.check(same_class, int((labels[vislib.nearest_neighbors(F, 3, k=5)] == labels[3]).sum()),
             hint="look up the labels of the five neighbours and count those equal to the label of image 3", name="2. same class")
vislib.check(acc_1nn, vislib.knn_accuracy(F, labels, k=1, metric="cosine"), tol=1e-3,
             hint="the k-NN accuracy of the table above, with one neighbour instead of five", name="3. 1-NN accuracy");

# %% [markdown]
# ## Summary
#
# - `vislib.features` gives the feature-layer vector ("FC7") of every image; nearby vectors
#   mean "alike to the network".
# - `vislib.embed` (PCA, then t-SNE) and `vislib.plot_embedding` draw them as a 2-D map with
#   thumbnails; t-SNE keeps neighbourhoods, not global distances, and depends on perplexity.
# - k-NN accuracy and the silhouette score turn "FC7 groups classes better than pixels do"
#   into numbers; how much better depends on how close the images are to what the network
#   was trained on.
# - Next: lesson 03 opens the layers between the pixels and FC7, the activations.
#
# ## References
#
# - A. Krizhevsky, I. Sutskever, G. Hinton. *ImageNet Classification with Deep Convolutional Neural Networks.* NeurIPS 2012.
# - L. van der Maaten, G. Hinton. *Visualizing Data using t-SNE.* JMLR 9, 2008.
# - M. Wattenberg, F. Viégas, I. Johnson. *How to Use t-SNE Effectively.* Distill, 2016.
# - P. Rousseeuw. *Silhouettes: a graphical aid to the interpretation and validation of cluster analysis.* J. Comput. Appl. Math. 20, 1987.
# - J. Donahue et al. *DeCAF: A Deep Convolutional Activation Feature for Generic Visual Recognition.* ICML 2014.
