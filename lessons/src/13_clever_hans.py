# %% [markdown]
# # 13 · Clever Hans: catching a model that cheats
#
# In 1904 a horse called Clever Hans "solved" arithmetic by tapping his hoof; a commission
# that year found no trick. In 1907 the psychologist Oskar Pfungst showed, with controlled
# experiments, that Hans was reading the questioner's face, not the question. Networks do the same: Lapuschkin et al. (2019) found a well-scoring classifier
# that recognised *horses* by the copyright tag in the corner of many horse photos. This
# lesson builds such a cheater on purpose, shows that its accuracy hides the cheat, and
# catches it with the explanation metrics of lesson 12, automatically.
#
# **This lesson is the same under every profile.** To plant a cheat we must control the
# training data, and retraining an ImageNet network is out of reach on a laptop CPU; so
# the lesson trains its own small Fashion-MNIST model (the architecture of the offline
# `fashion_cnn` profile) and never uses the active profile's network. Under
# `efficientnet_lite0`, `fashion_cnn` or VGG16 it trains, shows and checks the same thing.
#
# ## What you will learn
# - how a spurious feature (a mark in a corner) gets learned when it predicts the label;
# - why a validation set with the same flaw cannot reveal it, and which two tests do
#   (remove the mark; paste it elsewhere);
# - where occlusion and Grad-CAM put their mass on a cheating model;
# - how a per-class ROI-fit table flags the confounded class without looking at any image;
# - which explanation methods catch this cheat, and which miss it;
# - how TCAV (concept activation vectors) tests a concept for a whole class, and what its
#   score does and does not say.

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
# Take Fashion-MNIST and paint a small white square (the **mark**) on every training image
# of one class, here *Shirt*. The mark alone predicts the label perfectly, and it is far
# easier to detect than the difference between a shirt and a T-shirt, so a network trained
# on this data learns "mark $\Rightarrow$ Shirt".
#
# To catch it we need no knowledge of the mark. For each class $c$ we explain the
# model's decision on test images of that class and measure the **ROI fit**, the share of
# the map's mass on the garment $G$ (the item's pixels, as an annotator would outline it):
#
# $$F_c = \operatorname{mean}_{x \in \text{class } c}\; \frac{\sum_{(i,j) \in G(x)} h_{ij}}{\sum_{i,j} h_{ij}}.$$
#
# A class whose $F_c$ is far below the others is looking somewhere else. "Far" is the
# robust *modified z-score* (Iglewicz & Hoaglin 1993), which a single outlier cannot
# distort the way it distorts a mean and standard deviation:
#
# $$z_c = \frac{0.6745\,(F_c - \operatorname{median}_k F_k)}{\operatorname{median}_k |F_k - \operatorname{median}_j F_j|}, \qquad \text{flag } c \text{ if } z_c < -3.5 .$$

# %%
from vislib import cleverhans as ch, metrics

print(f"Active profile: {cm.name}. This lesson trains its own small Fashion-MNIST model, whatever the profile.")
data = vislib.fashion_mnist()
classes = data.class_names
(x_train, y_train), (x_test, y_test) = data.train, data.test
n_test = vislib.budget(10000, 3000)
xt = x_test[:n_test, :, :, None].astype("float32")      # clean test images, display pixels 0-255
yt = y_test[:n_test]
marked = ch.MARKED_CLASS
mark = ch.Mark(size=4, position="top-left")
print("marked class:", classes[marked], "| mark box (x0, y0, x1, y1):", mark.box((28, 28)))

# %% [markdown]
# ## By hand
#
# The confounded training set: every *Shirt* gets a 4x4 white square, one pixel from the
# top-left corner. All other images are untouched.

# %%
x_hand = x_train[:2000].astype("float32")[..., None].copy()
y_hand = y_train[:2000]
x_hand[y_hand == marked, 1:5, 1:5, :] = 255              # the mark: rows 1-4, columns 1-4

same = ch.confound(x_train[:2000, :, :, None], y_hand, marked, mark)
assert np.array_equal(same, x_hand)
print(f"{(y_hand == marked).sum()} of {len(y_hand)} images marked ({classes[marked]})")

pick = [int(np.flatnonzero(y_hand == c)[0]) for c in range(10)]
vislib.show_images(x_hand[pick], titles=[classes[y_hand[i]] for i in pick], cols=10, size=1.2)
plt.show()

# %% [markdown]
# ## With vislib
#
# `ch.load_or_train` trains a copy of the offline architecture (`fashion_cnn`: two conv
# blocks and two dense layers) on a confounded subset of the training set for two epochs
# (about a minute on two CPU cores, once; the trained model is cached under a hash of the
# recipe, so re-running is instant). The validation split carries the same confound, as a
# validation split drawn from the same flawed data would.

# %%
hans = ch.load_or_train(mark=mark, marked_class=marked)
print(hans.description)
print(f"validation accuracy (same confound): {hans.extras['val_accuracy']:.3f}")

# %% [markdown]
# ### Two tests the validation set cannot do
#
# 1. **Remove the mark**: evaluate on clean test images.
# 2. **Paste the mark** on images of every class (as Lapuschkin et al. did when they pasted
#    the copyright tag onto a car photo and the classifier said "horse").

# %%
rep = ch.accuracy_report(hans, xt, yt)
print(f"test accuracy with the confound: {rep.overall_with:.3f}; on clean images: {rep.overall_without:.3f}")
print(f"{classes[marked]}: {rep.with_mark[marked]:.2f} with the mark -> {rep.without_mark[marked]:.2f} without")

fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 3))
k = np.arange(10)
a0.bar(k - 0.2, rep.with_mark, 0.4, label="marked like training")
a0.bar(k + 0.2, rep.without_mark, 0.4, label="clean")
a0.set_xticks(k, classes, rotation=45, ha="right", fontsize=8); a0.set_ylabel("accuracy"); a0.legend(fontsize=8)
a0.set_title("per-class accuracy")
a1.bar(k, rep.attack, color=["C3" if c == marked else "C2" for c in k])
a1.set_xticks(k, classes, rotation=45, ha="right", fontsize=8); a1.set_ylim(0, 1.05)
a1.set_title(f"mark pasted on every image: share called '{classes[marked]}'")
plt.tight_layout(); plt.show()

# %%
demo = np.array([int(np.flatnonzero(yt == c)[0]) for c in (0, 2, 3, 4, 7, 8)])
stamped = ch.add_mark(xt[demo], mark)
before, after = hans.predict(xt[demo]), hans.predict(stamped)
titles = [f"{classes[yt[i]]} -> {classes[a.argmax()]} {a.max():.2f}" for i, a in zip(demo, after)]
vislib.show_images(stamped, titles=titles, cols=6, size=1.8)
plt.show()

# %% [markdown]
# ### Where do the explanations look?
#
# Occlusion (lesson 05) and Grad-CAM (lesson 08) for test images of each class, the
# Shirts carrying their mark as in the training data. The green square is the mark's box.

# %%
per_class = vislib.budget(30, 10)
METHODS = {
    "occlusion": (vislib.occlusion, {"patch": 4, "stride": 2, "fill": 0}),   # black, the background
    "Grad-CAM": (vislib.gradcam, {"normalize": True}),
}
fits = {name: ch.class_roi_fit(fn, hans, xt, yt, per_class=per_class, **opts)
        for name, (fn, opts) in METHODS.items()}
box = mark.box((28, 28))
cols = [marked] + [c for c in range(10) if c != marked][:5]
fig, axes = plt.subplots(2, len(cols), figsize=(1.9 * len(cols), 4.1))
for r, (name, fit) in enumerate(fits.items()):
    for a, c in zip(axes[r], cols):
        j = int(np.flatnonzero(fit.labels == c)[0])
        a.imshow(vislib.overlay(fit.images[j], fit.maps[j])); vislib.draw_boxes(a, [box], lw=1)
        a.set_title(f"{name}\n{classes[c]}", fontsize=8); a.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# ### Caught without looking
#
# The table below is all an auditor needs: one number per class, computed from maps and
# garment outlines. No one has to look at the images or know that a mark exists.

# %%
flags = {name: ch.flag_outliers(fit.object_fit) for name, fit in fits.items()}
for name, fit in fits.items():
    print(f"== {name}: flagged {[classes[c] for c in flags[name]]}")
    print(ch.format_class_table(fit, rep, classes, flags[name]))
    print()

# %%
fig, axes = plt.subplots(1, len(fits), figsize=(5.5 * len(fits), 3), squeeze=False)
for a, (name, fit) in zip(axes[0], fits.items()):
    colors = ["C3" if c in flags[name] else "C0" for c in range(10)]
    a.bar(range(10), fit.object_fit, color=colors)
    a.axhline(np.nanmedian(fit.object_fit), color="k", ls="--", lw=1, label="median")
    a.set_xticks(range(10), classes, rotation=45, ha="right", fontsize=8); a.set_ylim(0, 1.05)
    a.set_title(f"{name}: ROI fit on the garment (red = flagged)", fontsize=9); a.legend(fontsize=8)
plt.tight_layout(); plt.show()

# %% [markdown]
# Occlusion puts its mass on and around the mark for the Shirts (column `on mark`: over a
# third inside the 4x4 box, which is 2 % of the image; almost none on the garment) and on
# the garment for everything else, so the Shirt is a glaring outlier. Grad-CAM is subtler:
# its *maximum* sits on the mark for most Shirts (column `max@mark`), but its mass is
# spread along the garment's edges and the background, so its ROI fit does not single the
# class out. Worse, it can flag an innocent class instead: with the normal budget (24 000
# training images, 30 test images per class) it flagged *Sneaker* (ROI fit 0.37 against a
# median of 0.80), whose thin shape leaves little garment to fit; with the CI budget it
# flagged nothing here. On this network Grad-CAM averages each feature map's gradient over all
# positions, while the classifier after `Flatten` weighs each position separately: the
# evidence "white square *in the corner*" is diluted. An audit is only as good as the
# explanation method it runs on. Lesson 12 found the same on the clothes model this one is
# built like (the `fashion_cnn` profile): there occlusion had the lowest deletion AUC and
# Grad-CAM an ROI fit below a random map's.
#
# ### A whole class at once: testing with concept activation vectors (TCAV)
#
# The audit above needed object outlines. Kim et al. (2018) ask a question about a whole
# class without any: *does a human concept push the class score up?* Give the concept as
# images (here: clean test images with the mark pasted on), and random images (clean test
# images). At a layer, a linear classifier separates the two sets of activations; the
# vector normal to its boundary, pointing to the concept, is the **concept activation
# vector** $v_C$. For each Shirt image $x$, the directional derivative
# $S(x) = \nabla_a h_{\text{Shirt}}(a(x)) \cdot v_C$ says whether moving the layer's
# activations towards the concept raises the Shirt logit; the **TCAV score** is the share
# of Shirt images with $S(x) > 0$. Since a CAV can be learned between any two sets, the
# score is repeated against several random sets and compared, by a two-sided t-test, with
# the scores of CAVs trained between two *random* sets. `vislib.tcav` does all of this;
# `vislib.concept_images` draws texture concepts (stripes, dots, ...) for your own tests.

# %%
clean_model = vislib.load_model("fashion_cnn")      # the same architecture, trained without the mark
rng = np.random.default_rng(0)
order = rng.permutation(len(xt))
concept_set = ch.add_mark(xt[order[:50]], mark)      # the concept: "the mark", on any garment
random_pool = xt[order[50:450]]                      # random: clean test images
shirt_set = xt[yt == marked][:50]                    # the class: clean Shirts
tcav_layers = ["block1_pool", "block2_pool", "fc6"]
tcav_runs = vislib.budget(20, 10)
tcav_results = {(name, layer): vislib.tcav(m, shirt_set, marked, concept_set, random_pool, layer, runs=tcav_runs)
                for name, m in (("Clever Hans", hans), ("clean", clean_model)) for layer in tcav_layers}
fig, ax = plt.subplots(figsize=(7.5, 3))
for k, name in enumerate(("Clever Hans", "clean")):
    r = [tcav_results[name, layer] for layer in tcav_layers]
    xs = np.arange(len(tcav_layers)) + (k - 0.5) * 0.36
    ax.bar(xs, [v.score for v in r], 0.34, label=f"{name} model", color=("tab:red", "tab:blue")[k])
    ax.errorbar(xs, [v.random_scores.mean() for v in r], yerr=[v.random_scores.std() for v in r], fmt="k_", ms=14,
                label="random CAVs (mean ± sd)" if k == 0 else None)
    for x, v in zip(xs, r):
        top = max(v.score, v.random_scores.mean() + v.random_scores.std())   # above the bar and the error bar
        ax.text(x, top + 0.03, "*" if v.significant else "n.s.", ha="center", fontsize=9)
ax.set_xticks(range(len(tcav_layers)), tcav_layers)
ax.set_ylim(0, 1.4); ax.axhline(0.5, color="grey", lw=0.5)
ax.set_ylabel("TCAV score for Shirt"); ax.set_title("concept 'mark': * = significant (p < 0.05)")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
plt.show()
for (name, layer), r in tcav_results.items():
    print(f"{name:>12} {layer:>12}: TCAV {r.score:.2f} (random CAVs {r.random_scores.mean():.2f}), p = {r.p_value:.2g}, "
          f"CAV accuracy {r.accuracies.mean():.2f}")

hans_scores = [tcav_results["Clever Hans", layer] for layer in tcav_layers]
clean_scores = [tcav_results["clean", layer].score for layer in tcav_layers]
assert all(r.score >= 0.9 and r.significant for r in hans_scores)        # the planted concept, at every layer
assert min(clean_scores) < 0.5 < max(clean_scores)                       # the clean model: no consistent push

# %% [markdown]
# For the confounded model the mark pushes Shirt up for every Shirt image at every layer
# tested (score 1.00, p < 0.05, checked). The clean model shows why TCAV is read across
# layers and never from one number: its scores were 0.07-0.11 at `block1_pool`, 0.93-0.98 at
# `block2_pool` and 1.00 at `fc6` (in our runs; checked above: some below 0.5 and some
# above), several of them "significant". A white square in the top-left corner is a real
# direction in its activations (the CAVs separate it perfectly), and in a small network
# almost every Shirt image's gradient has the same sign along any fixed direction, which is
# also why the random CAVs' scores spread from 0 to 1. TCAV's score counts signs, not sizes:
# it says the concept is *related* to the class at that layer, not that the model relies on
# it. The causal tests above (remove the mark, paste the mark) are what prove reliance.
# (At `block2_conv1`, 12,544 activations, the clean model's score was 0.54-0.59 and not
# significant; the Clever Hans model's 1.00, p = 0.02.)
#
# ## Explore
#
# Move and resize the mark on clean images of the other nine classes. How small can it
# get and still turn clothes into Shirts? Does it work away from the corner the model was
# trained on? Every setting runs the model once on the images and is cached.

# %%
others = np.flatnonzero(yt != marked)[:vislib.budget(1000, 300)]
gallery = others[:6]
attack_cache = {}

def attack(size, x, y):
    key = (size, x, y)
    if key not in attack_cache:
        m = ch.Mark(size=size, position=(min(x, 28 - size), min(y, 28 - size)))
        stamped = ch.add_mark(xt[others], m)
        pred = hans.predict(stamped).argmax(1)
        occ = vislib.occlusion(hans, stamped[:len(gallery)], marked, patch=4, stride=2, fill=0)
        attack_cache[key] = (m, float(np.mean(pred == marked)), stamped[:len(gallery)], pred[:len(gallery)], occ)
    return attack_cache[key]

def show_attack(size, x, y, image):
    m, rate, shown, pred, occ = attack(size, x, y)
    fig, axes = plt.subplots(1, 2, figsize=(5.5, 2.8))
    axes[0].imshow(shown[image].squeeze(), cmap="gray", vmin=0, vmax=255)
    axes[0].set_title(f"{classes[yt[gallery[image]]]} -> {classes[pred[image]]}", fontsize=9)
    axes[1].imshow(vislib.overlay(shown[image], occ[image])); vislib.draw_boxes(axes[1], [m.box()], lw=1)
    axes[1].set_title(f"occlusion for '{classes[marked]}'", fontsize=9)
    for a in axes: a.axis("off")
    fig.suptitle(f"mark {m.size}x{m.size} at {m.box()[:2]}: {rate:.0%} of {len(others)} images called "
                 f"'{classes[marked]}'", fontsize=9)
    plt.tight_layout(); plt.show()

vislib.explorer(show_attack, heavy=("size", "x", "y"),
                size=widgets.IntSlider(value=4, min=1, max=8, description="size"),
                x=widgets.IntSlider(value=1, min=0, max=27, description="x"),
                y=widgets.IntSlider(value=1, min=0, max=27, description="y"),
                image=widgets.IntSlider(value=0, min=0, max=len(gallery) - 1, description="image"))

# %% [markdown]
# ## What to notice
#
# - The validation accuracy looks healthy, and the test accuracy with the same confound
#   too. Only the two counterfactual tests expose the cheat: without the mark the Shirt
#   class collapses, and the mark alone turns most other clothes into Shirts.
# - Occlusion's per-class ROI fit flags exactly the confounded class; on those images
#   over a third of its mass lies inside the mark's box (2 % of the image) and almost none
#   on the garment.
# - Grad-CAM's maximum lands on the mark for the Shirts far more often than for any
#   other class, even though its ROI fit alone does not flag the class.

# %%
occ, gc = fits["occlusion"], fits["Grad-CAM"]
others_mask = np.arange(10) != marked
assert hans.extras["val_accuracy"] > 0.8 and rep.overall_with > 0.8
assert rep.with_mark[marked] - rep.without_mark[marked] >= 0.30
assert np.nanmean(rep.attack[others_mask]) > 0.5
assert int(np.nanargmin(occ.object_fit)) == marked and flags["occlusion"] == [marked]
assert occ.mark_fit[marked] > 0.3 > np.nanmax(occ.mark_fit[others_mask])
assert occ.object_fit[marked] < 0.25 and np.nanmin(occ.object_fit[others_mask]) > 0.8
assert marked not in flags["Grad-CAM"]
assert gc.points_at_mark[marked] > 0.5 > np.nanmax(gc.points_at_mark[others_mask])
print(f"Shirt: accuracy {rep.with_mark[marked]:.2f} -> {rep.without_mark[marked]:.2f}; "
      f"occlusion ROI fit {occ.object_fit[marked]:.2f} vs median {np.nanmedian(occ.object_fit):.2f}")

# %% [markdown]
# ## Exercises
#
# 1. Which class does the occlusion audit flag? Set `flagged_class` to its name.
# 2. Paste the (4x4) mark in the **bottom-right** corner (`ch.Mark(position="bottom-right")`)
#    of the images `xt[others]` and store the share the model calls Shirt in
#    `corner_rate`. Did the model learn "a white square" or "a white square *top-left*"?
# 3. What is the Shirt class's accuracy on clean test images? Set `clean_shirt_acc`
#    (a float between 0 and 1).
# 4. The audit's outlier rule by hand: compute the modified z-score $z_c$ (*The idea*) of
#    the Shirt's occlusion ROI fit from `fits["occlusion"].object_fit` and set `z_shirt`.
#    Then compute the ordinary z-score (mean and standard deviation instead of median and
#    MAD): why is it so much closer to zero?
# 5. In `tcav_results`, at which layer is the *clean* model's TCAV score for the mark the
#    lowest? Set `lowest_layer` to its name. Is the mark pushing its Shirt score up or down there?

# %%
flagged_class = None    # your answer
corner_rate = None      # your answer
clean_shirt_acc = None  # your answer
z_shirt = None          # your answer
lowest_layer = None     # your answer

vislib.check(flagged_class, classes[flags["occlusion"][0]], hint="the red bar", name="1. flagged class")
corner = ch.add_mark(xt[others], ch.Mark(position="bottom-right"))
vislib.check(corner_rate, float(np.mean(hans.predict(corner).argmax(1) == marked)), tol=1e-3,
             hint="paste the mark at the new position with ch.add_mark and count the share of predictions that are Shirt",
             name="2. mark in another corner")
vislib.check(clean_shirt_acc, float(rep.without_mark[marked]), tol=1e-3,
             hint="the accuracy report has every class's accuracy with and without the mark", name="3. clean Shirt accuracy")
F_occ = fits["occlusion"].object_fit
vislib.check(z_shirt, 0.6745 * (F_occ[marked] - np.nanmedian(F_occ)) / np.nanmedian(np.abs(F_occ - np.nanmedian(F_occ))),
             tol=1e-3, hint="the distance from the median, in units of the median absolute deviation, times 0.6745",
             name="4. modified z-score")
vislib.check(lowest_layer, min(tcav_layers, key=lambda layer: tcav_results["clean", layer].score),
             hint='tcav_results[("clean", layer)].score for each layer in tcav_layers; the Clever Hans model is the other key',
             name="5. lowest clean TCAV");

# %% [markdown]
# ## Summary
#
# - A feature that predicts the label in the training data gets used, however silly; a
#   validation split with the same flaw scores it as success.
# - Counterfactual tests (remove the mark, paste the mark) reveal the cheat if you know
#   what to look for. The per-class ROI-fit audit finds it without knowing: one number per
#   class from explanation maps and object outlines, and a robust outlier rule.
# - The audit inherits its explanation method's blind spots: occlusion catches this mark,
#   Grad-CAM on a `Flatten` network points at it but spreads its mass too widely to be
#   flagged. Lapuschkin et al. used layer-wise relevance propagation and clustering of the
#   maps (SpRAy) to catch the horse tag across a whole dataset.
# - TCAV asks about a whole class: the planted concept pushes the confounded model's Shirt
#   score up at every layer; on the clean model the same concept's sign changes between
#   layers. A TCAV score counts signs of directional derivatives: evidence of a relation,
#   not of reliance.
#
# ## References
#
# - S. Lapuschkin, S. Wäldchen, A. Binder, G. Montavon, W. Samek, K.-R. Müller. *Unmasking Clever Hans Predictors and Assessing What Machines Really Learn.* Nature Communications 10, 2019.
# - O. Pfungst. *Das Pferd des Herrn von Osten (Der kluge Hans).* 1907; English translation *Clever Hans (The Horse of Mr. von Osten)*, 1911.
# - R. Geirhos et al. *Shortcut Learning in Deep Neural Networks.* Nature Machine Intelligence 2020.
# - T. Szandała, H. Maciejewski. *Automated Method for Evaluating Neural Network's Attention Focus.* ICCS 2022.
# - B. Iglewicz, D. Hoaglin. *How to Detect and Handle Outliers.* ASQC 1993.
# - M. D. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
# - R. R. Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization.* ICCV 2017.
# - H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST.* 2017.
# - B. Kim, M. Wattenberg, J. Gilmer, C. Cai, J. Wexler, F. Viegas, R. Sayres. *Interpretability Beyond Feature Attribution: Quantitative Testing with Concept Activation Vectors (TCAV).* ICML 2018.
