# %% [markdown]
# # 12 · Evaluating explanations
#
# Lessons 05-08 gave us a zoo of heat maps: occlusion, saliency, guided backprop,
# SmoothGrad, Grad-CAM and its family. They often disagree. Which one should we believe?
# This lesson puts numbers on that question, four kinds of them, and shows what each
# number can and cannot tell, on the photos with a real ImageNet network and on the
# clothes with the offline model.
#
# ## What you will learn
# - **localisation**: does the map sit on the object a person marked? (ROI fit, pointing game);
# - **faithfulness**: does the model lose its confidence when the pixels the map ranks
#   highest are deleted, and gain it when they are inserted? (deletion and insertion AUC);
# - **sensitivity**: does the map change when the model's weights are randomised? (the
#   sanity check of Adebayo et al.);
# - **agreement**: which methods draw the same picture?
# - why every number needs a baseline that knows nothing about the model (a random map, a
#   centre blob), and why the same metric can rank methods differently on another network
#   or with another "deleted" colour.

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
# Let $h \ge 0$ be a heat map for class $c$ on image $x$ and $B$ a box around the object.
#
# **ROI fit** (Szandała & Maciejewski): the share of the map's mass inside the box (the best
# box when there are several). A uniform map scores the box's share of the image area.
#
# $$\text{fit} = \frac{\sum_{(i,j) \in B} h_{ij}}{\sum_{i,j} h_{ij}}$$
#
# **Pointing game** (Zhang et al. 2018): a hit when the map's maximum lies in the box,
# $\;[\arg\max_{ij} h_{ij} \in B]$; the score is the share of hits. A map whose maximum falls
# anywhere at random hits with probability equal to the box's share of the image.
#
# **Deletion and insertion** (Petsiuk et al. 2018): sort the pixels by $h$, most important
# first. Delete the top fraction $f$ (set them to black) and track the probability
# $p_c$; or start from a blurred image and insert them. The area under the curve:
#
# $$\text{AUC}_\text{del} = \int_0^1 p_c\big(x \text{ without its top-}f\text{ pixels}\big)\,df \;\;(\text{lower is better}),\qquad
# \text{AUC}_\text{ins} = \int_0^1 p_c\big(\text{blur} + \text{top-}f\text{ pixels of } x\big)\,df \;\;(\text{higher is better}).$$
#
# **Sanity check** (Adebayo et al. 2018): randomise the weights layer by layer from the
# output down and compare each new map $M_\ell$ with the original $M$ by Spearman's rank
# correlation $\rho(M, M_\ell)$. A map that explains the *model* must change ($\rho \to 0$).
#
# **Agreement** between two maps: $\rho$ and the overlap of their top-$k\%$ pixels,
# $|T_k(a) \cap T_k(b)| / k$.

# %% [markdown]
# On ImageNet profiles we use the five sample photos that have an ImageNet label (the
# astronaut has none, so there is no right class to explain: EfficientNet-Lite0 calls her
# a bobsled), centre-cropped as the network was evaluated, with the boxes drawn by hand
# (`data/annotations.json`) moved with the crop. On the clothes, the item's bounding box on
# its black background stands in for an annotation. We explain each image's top-1 class.

# %%
from vislib import metrics

offline = cm.channels == 1
H, W = cm.input_size
if offline:                                           # Fashion-MNIST test items, one per class first
    images, labels, names = vislib.examples(cm, vislib.budget(30, 20))
    boxes = vislib.example_boxes(cm, images)
else:                                                 # the sample photos with an ImageNet label
    photos, photo_labels, photo_names = vislib.examples(cm, 6)
    photo_boxes = vislib.example_boxes(cm, photos)
    keep = np.flatnonzero(photo_labels >= 0)[:cm.pick(clothes=6, photos=6, heavy=3)]   # three on VGG16: photos are costly
    images, labels = photos[keep], photo_labels[keep]
    names, boxes = [photo_names[i] for i in keep], [photo_boxes[i] for i in keep]
probs = cm.predict(images)
target = probs.argmax(1)                              # we explain each image's top-1 class
share = np.array([metrics.box_mask(b, (H, W)).mean() for b in boxes])   # box area / image area
area = float(share.mean())
print(f"{len(images)} images; the boxes cover {area:.0%} of an image on average")
if not offline:
    for i in range(len(images)):
        print(f"  {names[i]:8s} label {cm.class_names[labels[i]]:10s} top-1 {cm.class_names[target[i]]:10s} "
              f"{probs[i, target[i]]:.2f}   box = {share[i]:.0%} of the image")
k = min(6, len(images))
fig, axes = plt.subplots(1, k, figsize=(2 * k, 2.3), squeeze=False)
for ax, i in zip(axes[0], range(k)):
    ax.imshow(images[i].astype("uint8").squeeze(), cmap="gray"); vislib.draw_boxes(ax, boxes[i])
    ax.set_title(f"{cm.class_names[target[i]][:14]} {probs[i, target[i]]:.2f}", fontsize=8); ax.axis("off")
plt.show()

# %% [markdown]
# The contestants: every method of lessons 05-08 with the same call shape
# `method(model, images, target)`, plus two maps that know nothing about the model:
# **random** noise and a **centre** blob (objects tend to sit in the middle of a photo).
# A metric that cannot tell a real method from these two is not measuring much.
#
# On photos, Score-CAM uses only the feature maps with the largest spatial variance (16
# under the CI budget, else 128, or 32 on VGG16; of 1280 on EfficientNet-Lite0), the rule of the
# "Faster Score-CAM" variant that tf-keras-vis offers as `max_N`: it costs one forward pass
# per map and photo. CAM needs a classifier that is global average pooling plus one dense
# layer; where the network has one (EfficientNet-Lite0, MobileNetV2) CAM *is* Grad-CAM
# (lesson 08), so it is dropped from the comparison when the two maps coincide.

# %%
patch = cm.pick(clothes=4, photos=32)
stride = cm.pick(clothes=patch // 2, photos=vislib.budget(patch // 2, patch), heavy=patch)
fill = cm.pick(clothes=0, photos="gray")   # occlude with the background: black clothes background, grey for photos
METHODS = {
    "occlusion": lambda m, x, t: vislib.occlusion(m, x, t, patch=patch, stride=stride, fill=fill),
    "saliency": lambda m, x, t: vislib.saliency(m, x, t),
    "guided backprop": lambda m, x, t: vislib.guided_backprop(m, x, t),
    "SmoothGrad": lambda m, x, t: vislib.smoothgrad(m, x, t,
                                                    samples=vislib.budget(cm.pick(clothes=25, photos=25, heavy=10), 8)),
    "Grad-CAM": lambda m, x, t: vislib.gradcam(m, x, t, normalize=True),
    "Grad-CAM++": lambda m, x, t: vislib.gradcam_plus_plus(m, x, t, normalize=True),
    "Score-CAM": lambda m, x, t: vislib.scorecam(m, x, t, max_channels=cm.pick(clothes=None, photos=vislib.budget(128, 16), heavy=vislib.budget(32, 16)), normalize=True),
    "guided Grad-CAM": lambda m, x, t: vislib.guided_gradcam(m, x, t, normalize=True),
    # the propagation methods of lesson 14
    "deconvnet": lambda m, x, t: vislib.deconvnet(m, x, t),
    # 32 steps on photos (16 on VGG16): the table needs the map, not the completeness that
    # lesson 14 measures against the step count; 64 steps cost 30 s more on six photos (Lite0)
    "Integrated Gradients": lambda m, x, t: vislib.integrated_gradients(
        m, x, t, steps=vislib.budget(cm.pick(clothes=64, photos=32, heavy=16), 16)),
    "LRP (composite)": lambda m, x, t: vislib.lrp(m, x, t, rule="composite"),
}
PROPAGATION = ["deconvnet", "Integrated Gradients", "LRP (composite)"]   # lesson 14's; the claims below are about the others
try:                                   # CAM needs a global-average-pooling classifier
    vislib.cam(cm, images[:1], normalize=True)
    METHODS["CAM"] = lambda m, x, t: vislib.cam(m, x, t, normalize=True)
except ValueError as err:
    print("CAM skipped:", str(err).split(";")[0])

rng = np.random.default_rng(0)
yy, xx = np.mgrid[:H, :W]
centre = np.exp(-(((yy - H / 2) / (H / 4)) ** 2 + ((xx - W / 2) / (W / 4)) ** 2))
maps = {name: fn(cm, images, target) for name, fn in METHODS.items()}
if "CAM" in maps and np.allclose(maps["CAM"], maps["Grad-CAM"], atol=1e-4):
    print("CAM equals Grad-CAM on this network (GAP + one dense layer): left out of the comparison")
    del maps["CAM"], METHODS["CAM"]
maps["random"] = rng.random((len(images), H, W)).astype("float32")
maps["centre"] = np.repeat(centre[None], len(images), 0).astype("float32")
print(list(maps))

# %%
show = list(range(min(3, len(images))))            # the first three images
fig = vislib.plot_attributions(images[show], {k: maps[k][show] for k in METHODS},
                               titles=[names[i] for i in show], size=1.5)
plt.show()

# %% [markdown]
# ## By hand
#
# Two of the metrics in a few lines of numpy: the ROI fit of one map, and the deletion
# curve of one image (black out the top pixels step by step, classify every copy in one
# batch, take the area under the curve with the trapezoid rule).

# %%
i, m = 0, maps["saliency"][0]
x0, y0, x1, y1 = boxes[i][0]
mass = np.maximum(m, 0)
fit_hand = mass[y0:y1, x0:x1].sum() / mass.sum()

steps = cm.pick(clothes=28, photos=vislib.budget(16, 8), heavy=vislib.budget(6, 8))   # one forward pass per step, map and image
order = np.argsort(-m.ravel(), kind="stable")                  # most important pixel first
counts = np.round(np.linspace(0, H * W, steps + 1)).astype(int)
copies = np.repeat(images[i:i + 1], steps + 1, axis=0)
for k, c in enumerate(counts):
    rows, cols = np.unravel_index(order[:c], (H, W))
    copies[k, rows, cols, :] = 0                                 # deleted pixels become black
curve_hand = cm.predict(copies)[:, target[i]]
auc_hand = np.trapezoid(curve_hand, counts / (H * W))
print(f"ROI fit {fit_hand:.3f}; deletion AUC {auc_hand:.3f} (p = {curve_hand[0]:.2f} -> {curve_hand[-1]:.2f})")

# %% [markdown]
# ## With vislib
#
# `vislib.metrics` has each metric with the same argument order; `evaluate` runs all four
# for every method. Ties in a map (Grad-CAM maps have many zeros) are broken in a seeded
# random order rather than top-left first, otherwise a flat map would look like a map
# that points at the top rows.

# %%
fit = metrics.roi_fit(maps["saliency"], boxes)
f, p = metrics.perturbation_curve(cm, images[:1], maps["saliency"][:1], target[:1], steps, mode="deletion")
assert np.isclose(fit[0], fit_hand, atol=1e-5)
auc = metrics.deletion_auc(cm, images[0], m, int(target[0]), steps)
assert np.isclose(auc, np.trapezoid(p[0], f)) and abs(auc - auc_hand) < 0.05   # equal up to the order of ties
print(f"hand-made ROI fit equals metrics.roi_fit; deletion AUC {auc:.3f} (by hand {auc_hand:.3f})")

results = metrics.evaluate(cm, images, maps, boxes, target, steps=steps)
mean = {k: {mm: float(np.mean(v)) for mm, v in r.items()} for k, r in results.items()}
print(metrics.format_table(results))
print(f"\na random map's maximum lands in the box with probability = the box's share of the image: "
      f"{area:.2f} on average here")

# %%
fig = vislib.plot_metrics(results, reference={k: mean["random"][k] for k in metrics.METRICS})
plt.suptitle("dashed line: the random map", y=1.02, fontsize=9)
plt.show()

# %% [markdown]
# ### Reading the table
#
# **Localisation on the photos is weak evidence.** The five photos are centred and their
# boxes are large: the cat and the coffee cup fill the whole crop (the box is 100 % of the
# image, so every map scores a hit and an ROI fit of 1 there), the palace and the flower
# about 55-65 %; only the rocket's box is narrow (10 %). Measured on efficientnet_lite0
# (the figures here are from the CI budget; the normal budget gives the same picture):
# the random map's ROI fit equals the mean box share (0.66), and the
# **centre blob**, which knows nothing about the network, hits the box on all five photos
# and has an ROI fit of 0.80, as high as the CAM family's 0.79-0.80. The CAM family's peak
# misses the rocket: its 7x7 grid cells are 32 pixels wide, wider than the rocket (30 px),
# and its maximum falls in the sky beside it. The sharper guided backprop hits it.
#
# **Insertion separates trained explanations from noise.** Starting from the blurred
# photo, inserting the pixels that Grad-CAM, Grad-CAM++, Score-CAM or occlusion rank first
# brings the class back about twice as fast as inserting random pixels (insertion AUC
# 0.28-0.31 against 0.13). The centre blob comes close (0.26): on centred photos, "the
# middle" is a good guess.
#
# **Deletion with black pixels does not.** The random map's deletion AUC (0.07) is as low
# as the best methods' (0.07-0.08). A random map deletes pixels spread evenly over the
# photo: a sprinkling of black dots is a pattern the network never saw in training, and
# its confidence collapses whatever was deleted. The metric then measures the damage of the
# artefact, not the importance of the pixels (Hooker et al. 2019 raise this objection
# against every score that removes pixels without retraining the network). On the clothes it is different: black
# *is* the background there, deleting a pixel is painting it background, and the random map
# is as bad as the worst method.

# %%
if cm.real_imagenet:   # thresholds measured on efficientnet_lite0 under VISLIB_FAST=1 (see the text above)
    cams = [k for k in ("Grad-CAM", "Grad-CAM++", "Score-CAM") if k in mean]
    ins_ratio = min(mean[k]["insertion_auc"] for k in cams + ["occlusion"]) / mean["random"]["insertion_auc"]
    vislib.claim(cm, ins_ratio > 1.5,
                 f"occlusion and the CAM family insert the class back faster than a random map: lowest insertion "
                 f"AUC / random's = {ins_ratio:.1f} (measured 2.2; claimed > 1.5)")
    vislib.claim(cm, mean["centre"]["pointing_game"] == 1 and mean["centre"]["roi_fit"] > mean["Grad-CAM"]["roi_fit"] - 0.05,
                 f"the centre blob localises as well as Grad-CAM on these photos: pointing game "
                 f"{mean['centre']['pointing_game']:.2f} vs {mean['Grad-CAM']['pointing_game']:.2f}, ROI fit "
                 f"{mean['centre']['roi_fit']:.3f} vs {mean['Grad-CAM']['roi_fit']:.3f} (measured 1.00 vs 0.80, "
                 "0.795 vs 0.802; claimed: all hits, ROI fit within 0.05)")
    gap_fit = min(mean[k]["roi_fit"] for k in cams) - mean["random"]["roi_fit"]
    vislib.claim(cm, gap_fit > 0.08, f"the CAM family puts more mass in the box than a random map: "
                 f"+{gap_fit:.2f} ROI fit at least (measured +0.14; claimed > 0.08)")
    gap_del = mean["random"]["deletion_auc"] - mean["Grad-CAM"]["deletion_auc"]
    vislib.claim(cm, gap_del < 0.02, f"black-pixel deletion cannot tell the random map from Grad-CAM: random's AUC "
                 f"{mean['random']['deletion_auc']:.3f}, Grad-CAM's {mean['Grad-CAM']['deletion_auc']:.3f} "
                 "(measured 0.071 vs 0.078; claimed: random not worse by 0.02 or more)")
    if "rocket" in names:
        r = names.index("rocket")
        vislib.claim(cm, not any(results[k]["pointing_game"][r] for k in cams)
                     and results["guided backprop"]["pointing_game"][r],
                     "on the rocket (a box 30 px wide) the peaks of Grad-CAM, Grad-CAM++ and Score-CAM miss, "
                     "guided backprop's hits")

# %% [markdown]
# ### Change the deleted colour
#
# If the black dots are the problem, delete into the blurred photo instead: a deleted pixel
# becomes its blurred value, which is close to its neighbours'. The same maps, the same
# steps, another baseline.

# %%
compare = ["occlusion", "guided backprop", "Grad-CAM", "random"]
blur_del = {k: metrics.deletion_auc(cm, images, maps[k], target, steps, baseline="blur") for k in compare}
print(f"{'deletion AUC (lower is better)':32s}{'black':>8s}{'blurred':>9s}")
for k in compare:
    print(f"{k:32s}{mean[k]['deletion_auc']:8.3f}{np.mean(blur_del[k]):9.3f}")

# %% [markdown]
# On the photos (efficientnet_lite0, CI budget) the ranking turns round: deleted into the
# blur, the random map is now the worst of the four (0.13) and occlusion and Grad-CAM the
# best (0.08-0.09). Neither baseline is "the truth": black invents edges, blur keeps part
# of what it deletes. A deletion score is a statement about a model, a map *and* a
# baseline. On the clothes (fashion_cnn) the blurred baseline changes the ranking too: a
# 28x28 garment blurred by 2 pixels is still a garment, so deleting into it lowers the
# probability far less for most maps, and occlusion, the best with black, is no better
# than the random map.

# %%
if cm.real_imagenet:   # measured on efficientnet_lite0 under VISLIB_FAST=1: 0.086 / 0.083 (0.104) vs 0.127
    blur_mean = {k: float(np.mean(v)) for k, v in blur_del.items()}
    worst = max(blur_mean[k] for k in ("Grad-CAM", "occlusion"))
    vislib.claim(cm, blur_mean["random"] - worst > 0.03 and blur_mean["random"] == max(blur_mean.values()),
                 f"deleted into the blur, the random map is the worst of the four ({blur_mean['random']:.3f}), "
                 f"Grad-CAM and occlusion beat it clearly ({worst:.3f} at worst; measured 0.086 vs 0.127, "
                 "claimed a gap > 0.03)")
if offline and cm.weights == "trained":   # the clothes model: measured 0.77 (occlusion) vs 0.77 (random)
    assert np.mean(blur_del["occlusion"]) > np.mean(blur_del["random"]) - 0.05

# %% [markdown]
# ### The sanity check
#
# We randomise a copy of the model from the top layer down and recompute every map for
# the same class. On photos each method must be compiled again for the randomised copy
# and the slow ones (occlusion, SmoothGrad, Score-CAM) would take minutes per step, so
# there only the two methods Adebayo et al. contrast most are checked, guided backprop
# and Grad-CAM, at a few checkpoints: the output layer, then five conv layers evenly
# spaced from the last one down to the first.

# %%
weighted = metrics.weighted_layers(cm)
if offline:
    checkpoints = weighted                                   # every weighted layer of the small model
    sanity_methods = list(METHODS)
    sx = images[:vislib.budget(6, 4)]
else:                                                        # the output layer and five conv layers, top down
    convs = [name for name in cm.conv_layers if name in weighted]
    picks = np.unique(np.round(np.linspace(0, len(convs) - 1, 5)).astype(int))
    checkpoints = [weighted[-1]] + [convs[k] for k in picks]
    sanity_methods = ["guided backprop", "Grad-CAM"]
    sx = images[:cm.pick(clothes=len(images), photos=len(images), heavy=1)]   # one photo on VGG16
sanity = {name: metrics.randomization_sanity(METHODS[name], cm, sx, target[:len(sx)], layers=checkpoints)
          for name in sanity_methods}
steps_names = sanity[sanity_methods[0]].layers
fig, ax = plt.subplots(figsize=(7, 3))
for name, res in sanity.items():
    ax.plot(range(len(steps_names)), res.mean, marker="o", label=name)
ax.set_xticks(range(len(steps_names)), steps_names, rotation=45, ha="right", fontsize=8)
ax.set_ylabel("rank correlation with original"); ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel("randomised from the top down to ...")
ax.legend(fontsize=7, ncol=2); plt.show()

# %%
rows = list(sanity)
fig, axes = plt.subplots(len(rows), min(len(steps_names), 7), figsize=(10, 1.5 * len(rows)), squeeze=False)
for r, name in enumerate(rows):
    vislib.plot_sanity(sanity[name], sx, image=0, max_cols=axes.shape[1], size=1.4, axes=axes[r])
    axes[r, 0].set_ylabel(name, fontsize=8); axes[r, 0].axis("on")
    axes[r, 0].set_xticks([]); axes[r, 0].set_yticks([])
plt.tight_layout(); plt.show()

# %% [markdown]
# On the photos (efficientnet_lite0, five photos) the two methods part at once.
# Randomising only the output layer (the class weights) leaves guided backprop's map
# unchanged (mean $\rho = 1.00$), and it stays at 0.95 while the top conv layer and blocks 7
# and 6 go random too; it loses its picture only when the middle and lower blocks do (0.56
# at block 5, 0.08 with every layer random). Grad-CAM's map is gone after the first step
# (mean $\rho$ 0.11, never above 0.3 afterwards); with the lower layers random too it is empty
# on some photos and on others draws a frame along the image border, where zero padding
# makes even random features differ from the interior. This is what Adebayo et al. found
# on Inception v3: guided backprop (and guided Grad-CAM) are nearly invariant to the higher
# layers, so they cannot be explaining the class decision; Nie et al. (2018) showed that
# guided backprop mostly reconstructs the image.

# %%
first_step = {k: float(res.mean[1]) for k, res in sanity.items()}
last_step = {k: float(res.mean[-1]) for k, res in sanity.items()}
print("rho after randomising the top layer:", {k: round(v, 2) for k, v in first_step.items()})
print("rho after randomising every checkpoint:", {k: round(v, 2) for k, v in last_step.items()})
if cm.real_imagenet:   # measured on efficientnet_lite0 (five photos, see the text above)
    gbp, gc = sanity["guided backprop"].mean, sanity["Grad-CAM"].mean
    vislib.claim(cm, gbp[1:4].min() > 0.85,
                 f"guided backprop keeps its map while the top three checkpoints go random: rho >= {gbp[1:4].min():.2f} "
                 f"down to {steps_names[3]} (measured 0.95; claimed > 0.85)")
    vislib.claim(cm, gc[1:].max() < 0.5, f"Grad-CAM's map is gone once the output layer is random: rho at most "
                 f"{gc[1:].max():.2f} at every step (measured 0.29; claimed < 0.5)")
    vislib.claim(cm, gbp[-1] < 0.3, f"with every layer random, guided backprop's map is gone too: rho {gbp[-1]:.2f} "
                 "(measured 0.08; claimed < 0.3)")

# %% [markdown]
# ### Which methods agree?
#
# The mean rank correlation between every pair of maps, over all images.

# %%
keys, agree = metrics.agreement_matrix(maps)     # mean of metrics.agreement(a, b).spearman over images
fig, ax = plt.subplots(figsize=(6.5, 5.5))
im = ax.imshow(agree, cmap="RdBu_r", vmin=-1, vmax=1)
ax.set_xticks(range(len(keys)), keys, rotation=60, ha="right", fontsize=8)
ax.set_yticks(range(len(keys)), keys, fontsize=8)
for a in range(len(keys)):
    for b in range(len(keys)):
        ax.text(b, a, f"{agree[a, b]:.1f}", ha="center", va="center", fontsize=6)
plt.colorbar(im, ax=ax, shrink=0.8); ax.set_title("Spearman's rho between methods"); plt.show()

# %% [markdown]
# On the photos the CAM family agrees almost perfectly with itself ($\rho \ge 0.94$) and
# strongly with the centre blob ($\rho \approx 0.7$), a map that knows nothing of the
# network; plain saliency agrees with nothing ($\rho \le 0.2$: its speckle is ranked too),
# guided backprop and SmoothGrad moderately with each other (about 0.5). On the clothes it is the other way round: the gradient maps
# agree moderately with each other (0.4-0.5), and Grad-CAM and Grad-CAM++ not at all.

# %%
idx = {k: j for j, k in enumerate(keys)}
pair = lambda a, b: float(agree[idx[a], idx[b]])   # noqa: E731
if cm.real_imagenet:   # measured on efficientnet_lite0 (five photos, see the text above)
    cam_pairs = min(pair("Grad-CAM", "Grad-CAM++"), pair("Grad-CAM", "Score-CAM"), pair("Grad-CAM++", "Score-CAM"))
    cam_centre = min(pair(k, "centre") for k in ("Grad-CAM", "Grad-CAM++", "Score-CAM"))
    sal = max(pair("saliency", k) for k in keys if k not in ("saliency", "random", *PROPAGATION))
    vislib.claim(cm, cam_pairs > 0.85 and cam_centre > 0.55 and sal < 0.35,
                 f"the CAM family agrees (rho >= {cam_pairs:.2f}; measured 0.94, claimed > 0.85) and follows the centre "
                 f"blob (rho >= {cam_centre:.2f}; measured 0.73, claimed > 0.55); saliency agrees with no method "
                 f"(rho <= {sal:.2f}; measured 0.16, claimed < 0.35)")

# %% [markdown]
# ## Explore
#
# Pick an image and a method: the map with its box, and the deletion (into black or into
# the blur) or insertion curve, with the random map's curve for comparison (one image's
# curve needs `steps + 1` forward passes, so it is cached).

# %%
curves = {}
CURVES = {"deletion, black": ("deletion", "zeros"), "deletion, blurred": ("deletion", "blur"),
          "insertion": ("insertion", "blur")}

def curve(i, method, kind):
    key = (i, method, kind)
    if key not in curves:
        mode, base = CURVES[kind]
        curves[key] = metrics.perturbation_curve(cm, images[i:i + 1], maps[method][i:i + 1],
                                                 target[i:i + 1], steps, mode=mode, baseline=base)
    return curves[key]

def show_curve(image, method, kind):
    f, p = curve(image, method, kind)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(7, 2.8), gridspec_kw={"width_ratios": [1, 1.5]})
    a0.imshow(vislib.overlay(images[image], maps[method][image])); vislib.draw_boxes(a0, boxes[image])
    a0.set_title(f"{method}: fit {results[method]['roi_fit'][image]:.2f}", fontsize=9); a0.axis("off")
    a1.plot(f, p[0], label=method)
    fr, pr = curve(image, "random", kind)
    a1.plot(fr, pr[0], "--", color="gray", label="random map")
    a1.fill_between(f, p[0], alpha=0.2)
    a1.set_xlabel(f"fraction of pixels {'inserted' if kind == 'insertion' else 'deleted'}")
    a1.set_ylabel(f"p({cm.class_names[target[image]][:12]})"); a1.set_ylim(0, 1.02)
    a1.set_title(f"{kind} AUC {np.trapezoid(p[0], f):.3f} (random {np.trapezoid(pr[0], fr):.3f})", fontsize=9)
    a1.legend(fontsize=8); plt.tight_layout(); plt.show()

picker = [(f"{k}: {n}", k) for k, n in enumerate(names)]
vislib.explorer(show_curve, heavy=("image", "method", "kind"),
                image=widgets.Dropdown(options=picker, description="image"),
                method=widgets.Dropdown(options=list(maps), value="Grad-CAM", description="method"),
                kind=widgets.ToggleButtons(options=list(CURVES), description="curve"))


# %%
def show_sanity(method, step):
    res = sanity[method]
    k = min(step, len(res.layers) - 1)
    cols = min(len(sx), 6)
    fig, axes = plt.subplots(1, cols, figsize=(2.2 * cols, 2.5), squeeze=False)
    for j, ax in enumerate(axes[0]):
        ax.imshow(vislib.overlay(sx[j], res.maps[k, j])); ax.axis("off")
        ax.set_title(f"rho {res.correlations[k, j]:.2f}", fontsize=8)
    fig.suptitle(f"{method}: randomised down to {res.layers[k]}", fontsize=9)
    plt.tight_layout(); plt.show()

vislib.explorer(show_sanity, method=widgets.Dropdown(options=list(sanity), description="method"),
                step=widgets.IntSlider(value=0, min=0, max=len(steps_names) - 1, description="cascade"))

# %% [markdown]
# ## What to notice
#
# - **Localisation is easy to fake.** The centre blob scores as well as the CAM family on
#   the photos, because objects sit in the middle of pictures and the boxes are large. On
#   Fashion-MNIST the item's box covers most of the image, so even the random map has a high
#   ROI fit: always compare with both.
# - **Faithfulness depends on what "deleted" means.** On the clothes, black is the
#   background: occlusion (which hides patches with the same black) has the lowest
#   deletion AUC, and the random map's AUC is within 0.1 of the median of the gradient and
#   CAM methods (checked below): black-pixel deletion hardly tells them from noise. On the photos, black
#   dots are an artefact the network reacts to by itself, and the random map deletes as
#   well as the best method; insertion, and deletion into the blur, separate the methods
#   from noise again.
# - **The sanity check separates two families.** Grad-CAM changes as soon as the top
#   layers are random (it depends on the class weights); guided backprop keeps its picture
#   until the lower layers go, because it mostly reconstructs the image's edges. On the
#   offline model Score-CAM also keeps part of its picture with every weight random: its
#   masks are feature maps, and random convolutions still outline the garment.
# - **A method can be faithful and badly localised, or the reverse.** On the offline
#   model Grad-CAM's ROI fit is below the random map's: its 14x14 layer feeds a `Flatten`
#   classifier that weighs every position separately, which Grad-CAM's averaged gradients
#   ignore (lesson 13 meets this again). On the photos the CAM family localises well but its
#   coarse grid misses a thin object.
# - **Agreement is not correctness.** Which methods agree depends on the network; that two
#   methods agree says nothing about whether either is right.

# %%
assert all(0 <= mean[k]["roi_fit"] <= 1 and 0 <= mean[k]["deletion_auc"] <= 1 for k in mean)
assert np.allclose(np.diag(agree), 1) and np.allclose(agree, agree.T, atol=1e-6)
assert all(np.allclose(res.correlations[0], 1) for res in sanity.values())
# a uniform random map's ROI fit is the box's share of the image, on every profile
assert abs(mean["random"]["roi_fit"] - area) < 0.05
if offline and cm.weights == "trained":   # the clothes model (see the points above)
    assert last_step["Grad-CAM"] < 0.5                              # Grad-CAM passes the sanity check
    assert first_step["guided backprop"] > first_step["Grad-CAM"]   # guided backprop barely notices
    assert last_step["Score-CAM"] > 0.3                             # Score-CAM keeps part of its picture
    classic = [k for k in METHODS if k not in PROPAGATION]
    best_del = min(classic, key=lambda k: mean[k]["deletion_auc"])
    others = [mean[k]["deletion_auc"] for k in classic if k != "occlusion"]
    assert best_del == "occlusion" and abs(mean["random"]["deletion_auc"] - np.median(others)) < 0.1
    assert mean["Grad-CAM"]["roi_fit"] < mean["random"]["roi_fit"]
    assert mean["centre"]["pointing_game"] >= mean["random"]["pointing_game"]

# %% [markdown]
# ## Exercises
#
# 1. Which method has the **highest insertion AUC** on these images? Set `best_insertion`
#    to its name (a key of `results`).
# 2. Compute the **insertion AUC of Grad-CAM** for the first image starting from the
#    image's **mean colour** instead of the blur (`baseline="mean"` in
#    `metrics.insertion_auc`, with `steps` as above); store the float in `gradcam_mean_auc`.
# 3. After randomising every checkpoint, which method's map stays **most similar** to its
#    original (highest mean rho)? Set `stubborn`.
# 4. Use `metrics.agreement` to compute the top-10% overlap between the saliency map of the
#    first image and its box as a boolean mask (`metrics.box_mask(boxes[0], (H, W))`); store
#    the float in `overlap`.

# %%
best_insertion = None     # your answer
gradcam_mean_auc = None   # your answer
stubborn = None           # your answer
overlap = None            # your answer

vislib.check(best_insertion, max(results, key=lambda k: mean[k]["insertion_auc"]),
             hint="look at the insertion_auc column of the table", name="1. best insertion")
vislib.check(gradcam_mean_auc, metrics.insertion_auc(cm, images[0], maps["Grad-CAM"][0], int(target[0]),
                                                     steps, baseline="mean"), tol=1e-4,
             hint="the insertion metric of the table, for one image and one map, starting from the mean colour",
             name="2. insertion from the mean colour")
vislib.check(stubborn, max(last_step, key=last_step.get), hint="the line that stays highest on the right",
             name="3. most stubborn map")
vislib.check(overlap, metrics.agreement(maps["saliency"][0], metrics.box_mask(boxes[0], (H, W))).top_overlap,
             tol=1e-4, hint="metrics.agreement compares a map with a boolean mask; one of its fields is the top-10 % overlap", name="4. overlap with the box");

# %% [markdown]
# ## Summary
#
# - `metrics.roi_fit` and `metrics.pointing_game` measure whether a map sits where people
#   say the object is; compare with a random and a centre map before believing them, and
#   look at how large the boxes are.
# - `metrics.deletion_auc` / `insertion_auc` measure whether the model depends on the
#   pixels the map ranks highest; what a deleted pixel becomes (black, blur, mean) can
#   change the ranking, and on photos black dots alone make a random map look faithful.
# - `metrics.randomization_sanity` randomises a *copy* of the model layer by layer: a
#   method whose map survives randomisation is not explaining the model.
# - `metrics.agreement` compares maps with each other or with a mask.
# - No single number ranks the methods; together they tell you what a map can be trusted
#   for. Lesson 13 uses ROI fit to catch a model that cheats.
#
# ## References
#
# - T. Szandała, H. Maciejewski. *Automated Method for Evaluating Neural Network's Attention Focus.* ICCS 2022.
# - J. Zhang, S. A. Bargal, Z. Lin, J. Brandt, X. Shen, S. Sclaroff. *Top-down Neural Attention by Excitation Backprop.* IJCV 2018.
# - V. Petsiuk, A. Das, K. Saenko. *RISE: Randomized Input Sampling for Explanation of Black-box Models.* BMVC 2018.
# - J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt, B. Kim. *Sanity Checks for Saliency Maps.* NeurIPS 2018.
# - W. Nie, Y. Zhang, A. Patel. *A Theoretical Explanation for Perplexing Behaviors of Backpropagation-based Visualizations.* ICML 2018.
# - S. Hooker, D. Erhan, P.-J. Kindermans, B. Kim. *A Benchmark for Interpretability Methods in Deep Neural Networks.* NeurIPS 2019.
# - M. D. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
# - K. Simonyan, A. Vedaldi, A. Zisserman. *Deep Inside Convolutional Networks.* ICLR workshop 2014.
# - D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg. *SmoothGrad: removing noise by adding noise.* 2017.
# - R. R. Selvaraju et al. *Grad-CAM.* ICCV 2017; A. Chattopadhyay et al. *Grad-CAM++.* WACV 2018; H. Wang et al. *Score-CAM.* CVPR-W 2020.
# - M. Tan, Q. V. Le. *EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks.* ICML 2019.
