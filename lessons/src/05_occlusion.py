# %% [markdown]
# # 05 · Occlusion: hide a part, watch the score
#
# The most direct way to ask a network *where* it looks: cover part of the image with a
# grey square and see whether it still recognises the object. Zeiler and Fergus (2014)
# slid such a square over the whole image and drew, for every position, how much the
# probability of the class fell. No gradients, no access to the network's inside: only
# forward passes. This lesson does it by hand, then with `vislib.occlusion`, measures what
# it costs, and compares where the network looks with one box per photo drawn around the
# object by the course's authors (a stand-in: nobody measured where people look).
#
# ## What you will learn
# - the occlusion map: the drop in class probability for every position of a patch;
# - how to compute it with a plain loop, and why the library batches the occluded copies;
# - how patch size, stride and the fill colour change the picture;
# - why the cost grows with $(\text{size}/\text{stride})^2$;
# - how much of the probability drop falls inside the object's box, compared with chance.

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
# Let $p_c(x)$ be the softmax probability of class $c$ for image $x$. A mask $M_{ij}$ is
# 1 on a $p \times p$ patch whose corner sits at position $(i, j)$ of a grid with stride $s$,
# and 0 elsewhere. The occluded image and the drop it causes are
#
# $$x^{(ij)} = (1 - M_{ij}) \odot x + M_{ij} \odot f, \qquad d_{ij} = p_c(x) - p_c\big(x^{(ij)}\big),$$
#
# where $f$ is the fill (grey, the image's mean colour, a blurred copy of the image, or black).
# A large $d_{ij}$ means the network needed what the patch hid. To draw the grid at image
# resolution, each pixel $u$ gets the mean over the patches $P(u)$ that cover it,
#
# $$D(u) = \frac{1}{|P(u)|} \sum_{(i,j) \in P(u)} d_{ij}.$$
#
# An $H \times H$ image has $\left(\frac{H - p}{s} + 1\right)^2$ patch positions: one forward
# pass each.

# %%
images, labels, names = vislib.examples(cm, cm.pick(clothes=10, photos=6, heavy=3))
probs = cm.predict(images)
top1 = probs.argmax(1)
target = np.where(labels >= 0, labels, top1)       # the true class where we know it, else the top-1
titles = [f"{n}: p={probs[i, target[i]]:.2f}" for i, n in enumerate(names)]
H, W = cm.input_size
PATCH = H // 7                                      # 4 px on 28x28 clothes, 32 px on 224x224 photos
STRIDE = cm.pick(clothes=PATCH // 2, photos=PATCH)  # photos: non-overlapping patches keep the cost down
print(f"{len(images)} images of {H}x{W}; patch {PATCH}, stride {STRIDE}")

def show(image):
    return image.astype("uint8").squeeze()


# %% [markdown]
# ## By hand
#
# Take the first image, slide a grey square (the middle of the pixel range, 127.5) over it,
# run the network on every occluded copy *one at a time*, and record the probability of
# the class. Then spread the grid back over the pixels: every pixel gets the mean of the
# patches that covered it. (On photos the loop uses big 56-pixel squares: one call per
# patch is slow, which is the point of the next section.)

# %%
i, c = 0, target[0]
P, S = cm.pick(clothes=(PATCH, STRIDE), photos=(H // 4, H // 4))   # patch size and stride of the loop
p_clean = cm.predict(images[:1])[0, c]
starts = list(range(0, H - P + 1, S))                         # patch corners along each axis
grid_hand = np.zeros((len(starts), len(starts)), np.float32)
for a, y0 in enumerate(starts):
    for b, x0 in enumerate(starts):
        occluded = images[i].copy()
        occluded[y0:y0 + P, x0:x0 + P] = 127.5                # the grey square
        grid_hand[a, b] = p_clean - cm.predict(occluded[None])[0, c]   # one forward pass per patch

total, count = np.zeros((H, W)), np.zeros((H, W))
for a, y0 in enumerate(starts):
    for b, x0 in enumerate(starts):
        total[y0:y0 + P, x0:x0 + P] += grid_hand[a, b]
        count[y0:y0 + P, x0:x0 + P] += 1
map_hand = total / count                                      # mean over the covering patches
print(f"{len(starts) ** 2} forward passes; p(clean) = {p_clean:.3f}; largest drop {grid_hand.max():.3f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
axes[0].imshow(show(images[i]), cmap="gray"); axes[0].set_title(titles[i])
lim = max(np.abs(grid_hand).max(), 1e-6)
axes[1].imshow(grid_hand, cmap="RdBu_r", vmin=-lim, vmax=lim); axes[1].set_title(f"grid {grid_hand.shape}")
im = axes[2].imshow(map_hand, cmap="RdBu_r", vmin=-lim, vmax=lim); axes[2].set_title("drop per pixel")
fig.colorbar(im, ax=axes[2], fraction=0.046)
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# Red: hiding this part lowered the probability; blue: hiding it *raised* the probability
# (the part spoke against the class).
#
# ## With vislib
#
# `vislib.occlusion(model, images, target=None, patch=..., stride=..., fill="gray")` does the
# same for a whole batch of images. It builds the occluded copies of all images and sends
# them through one compiled function of the network in batches (as large as the model's
# memory allows): the same number of images, without the overhead of a Python call per patch.
# `vislib.occlusion_grid` (same arguments) returns the coarse grid, one value per patch
# position, and `vislib.upsample_grid` spreads a grid back to the image, which is all
# `vislib.occlusion` does after it; `output="probability"` returns $p_c(x^{(ij)})$ instead of the drop.

# %%
lib_grid = vislib.occlusion_grid(cm, images[:1], target[:1], patch=P, stride=S, fill="gray")
lib_map = vislib.upsample_grid(lib_grid, cm.input_size, P, S)
assert np.allclose(lib_grid[0], grid_hand, atol=1e-5), "vislib.occlusion's grid differs from the loop"
assert np.allclose(lib_map[0], map_hand, atol=1e-5), "vislib.occlusion's map differs from the loop"
print("vislib.occlusion equals the loop; largest difference", float(np.abs(lib_map[0] - map_hand).max()))

grids = vislib.occlusion_grid(cm, images, target, patch=PATCH, stride=STRIDE, fill="gray")
maps = vislib.upsample_grid(grids, cm.input_size, PATCH, STRIDE)
assert maps.shape == images.shape[:3] and maps.dtype == np.float32

# %%
show_n = min(5, len(images))
fig = vislib.plot_attributions(images[:show_n], {"occlusion (drop)": np.maximum(maps[:show_n], 0)},
                               titles=titles[:show_n], size=2.0)
plt.show()

# %% [markdown]
# ### What it costs
#
# Each patch position is one forward pass, so the cost is
# $\left(\frac{H - p}{s} + 1\right)^2$ passes per image: halving the stride quadruples it.
# We time a few strides (on one photo under ImageNet profiles, on all the clothes offline).

# %%
import time

cost_images = images[:cm.pick(clothes=len(images), photos=1)]
strides = cm.pick(clothes=[PATCH, PATCH // 2, PATCH // 4], photos=[PATCH, PATCH // 2], heavy=[2 * PATCH, PATCH])
cost = []
for s in strides:
    t0 = time.perf_counter()
    g = vislib.occlusion_grid(cm, cost_images, target[:len(cost_images)], patch=PATCH, stride=s)
    seconds = time.perf_counter() - t0
    formula = ((H - PATCH) // s + 1) ** 2
    cost.append((s, formula, g.shape[1] * g.shape[2], len(cost_images) * formula, seconds))

print("| stride | passes per image (formula) | grid cells | passes in total | seconds | ms per pass |")
print("|---:|---:|---:|---:|---:|---:|")
for s, formula, cells, n, sec in cost:
    print(f"| {s} | {formula} | {cells} | {n} | {sec:.2f} | {1000 * sec / n:.2f} |")

# %%
n_pass = np.array([row[3] for row in cost]); secs = np.array([row[4] for row in cost])
fig, ax = plt.subplots(figsize=(4.5, 3))
ax.plot(n_pass, secs, "o-")
for s, n, sec in zip(strides, n_pass, secs):
    ax.annotate(f"stride {s}", (n, sec), textcoords="offset points", xytext=(4, -10), fontsize=8)
ax.set_xlabel("forward passes"); ax.set_ylabel("seconds"); ax.set_title(f"occlusion cost, patch {PATCH}")
ax.set_xlim(0); ax.set_ylim(0)
plt.tight_layout(); plt.show()

# %% [markdown]
# The time grows in proportion to the number of forward passes (the first call also pays
# for building the network's function once). Plain gradient maps and Grad-CAM (lessons 06
# and 08) need one forward and one backward pass per image instead: that is their main selling
# point. Not all of them: SmoothGrad (lesson 07) needs one per noisy copy, and Score-CAM one
# forward pass per feature map.
#
# ### Human vs network: does the drop fall on the object?
#
# The study *Evaluating CNN Predictions using Visualization Techniques* compared
# visualisations with where people look at an image (see also Das et al. 2017 for human vs
# network attention). We do a simple version:
# the share of the (positive) probability drop that falls inside a hand-drawn box around the
# object, against the share of the image the box covers. If the network looked anywhere at
# random, the two would be equal; a ratio above 1 means the drop concentrates on the object.
# The boxes: hand-annotated for the sample photos (`data/annotations.json`) and, for the
# clothes on their black background, the bounding box of the item's pixels
# (`vislib.object_boxes`).

# %%
boxes = vislib.example_boxes(cm, images)   # hand-drawn boxes on photos, the item's bounding box offline
regions = []
for bs in boxes:                                    # union of each image's boxes
    r = np.zeros((H, W), bool)
    for x0, y0, x1, y1 in bs:
        r[y0:y1, x0:x1] = True
    regions.append(r)

def inside_share(m, region):
    pos = np.maximum(m, 0)                          # only what hiding *hurt*
    return pos[region].sum() / pos.sum() if pos.sum() > 0 else np.nan

def box_ratios(all_maps):
    # (share of the drop inside the box) / (share of the image covered by the box), per image
    return np.array([inside_share(m, r) / r.mean() for m, r in zip(all_maps, regions)])

FILLS = cm.pick(clothes=["gray", "mean", "blur", 0.0], photos=["gray", "blur"])   # each fill is one more occlusion run
fill_maps, fill_grids = {"gray": maps}, {"gray": grids}
for f in FILLS[1:]:
    fill_grids[f] = vislib.occlusion_grid(cm, images, target, patch=PATCH, stride=STRIDE, fill=f)
    fill_maps[f] = vislib.upsample_grid(fill_grids[f], cm.input_size, PATCH, STRIDE)
ratios = {f: box_ratios(m) for f, m in fill_maps.items()}
area = np.array([r.mean() for r in regions])
print(f"boxes cover {100 * area.mean():.0f}% of the image on average; per image {np.round(area, 2)}")
for f, r in ratios.items():
    print(f"fill {f!s:>5}: drop inside the box / box area = {np.nanmean(r):.2f}   per image {np.round(r, 2)}")
# the same share with the library's metric (Szandała & Maciejewski's "fit"; 0 where nothing was hurt)
fit = vislib.metrics.roi_fit(fill_maps["gray"], np.stack(regions))
assert np.allclose(fit, np.nan_to_num([inside_share(m, r) for m, r in zip(maps, regions)]), atol=1e-5)

# %%
fig, axes = plt.subplots(1, min(5, len(images)), figsize=(2.3 * min(5, len(images)), 2.6), squeeze=False)
for k, ax in enumerate(axes[0]):
    ax.imshow(vislib.overlay(images[k], np.maximum(fill_maps["blur"][k], 0), alpha=0.5))
    vislib.draw_boxes(ax, boxes[k])
    ax.set_title(f"{names[k]}: ratio {ratios['blur'][k]:.2f}", fontsize=8); ax.axis("off")
plt.tight_layout(); plt.show()

# %% [markdown]
# The fill matters. On the clothes the background is black, so a *grey* square in the
# background is not "nothing": it is a new bright object, and the network reacts to it, far
# from the item. Filling with the image's mean, a blurred copy or black removes information
# without adding much, and the drop moves onto the item. Photos with a dark background
# show the same effect: on EfficientNet-Lite0, grey squares in the night sky beside the
# rocket hurt "missile" more than hiding the rocket does, and the drop inside the rocket's
# box is only 0.8 times its area share with grey against 1.56 with blur. Grey is the classic choice (Zeiler & Fergus); a blurred patch is the gentler one.
#
# ### The pointing game
#
# Zhang et al. (2018) score a map with one question: does its strongest point fall on the
# object? For an occlusion map the strongest point is the centre of the patch whose hiding
# hurt most. Two of the sample photos are close-ups whose box is the whole (centre-cropped)
# image, the cat's face and the cup, so they score a hit whatever the map; the rocket, the
# palace and the flower are the real tests.

# %%
from vislib.attribution.occlusion import positions

def peak(grid):
    # centre (row, column) of the patch whose hiding hurt most
    a, b = np.unravel_index(int(grid.argmax()), grid.shape)
    return positions(H, PATCH, STRIDE)[a] + PATCH // 2, positions(W, PATCH, STRIDE)[b] + PATCH // 2

def depth(region, y, x):
    # how far (px) a point lies inside the region: distance to the nearest pixel outside it
    ys, xs = np.nonzero(~region)
    return float(np.sqrt(((ys - y) ** 2 + (xs - x) ** 2).min())) if len(ys) else np.inf

labelled = labels >= 0                             # the astronaut photo has no ImageNet class
small = labelled & (area < 0.9)                    # labelled images whose box leaves part of the image out
peaks = {f: [peak(g) for g in fill_grids[f]] for f in ("gray", "blur")}
hits = {f: np.array([regions[k][pk] for k, pk in enumerate(peaks[f])]) for f in peaks}
for f in peaks:
    print(f"fill {f}: the peak falls inside the box on {hits[f][labelled].sum()} of {labelled.sum()} labelled images")
for k in np.flatnonzero(small)[:6]:
    y, x = peaks["blur"][k]
    where = f"{depth(regions[k], y, x):.0f} px inside" if hits["blur"][k] else "outside"
    print(f"  {names[k]:>10}: blur peak at (row {y}, col {x}), {where} the box; drop in box / box area {ratios['blur'][k]:.2f}")

# %% [markdown]
# On EfficientNet-Lite0 the blur map's peak falls inside the box on 4 of the 5 labelled
# photos: the two close-ups, and well inside the palace's and the flower's boxes. The
# rocket misses: the patch that hurts "missile" most is the top of the launch tower to
# its left, context the network has learned to use. On the three labelled photos whose
# box leaves part of the image out, 1.45-1.56 times as much of the drop falls inside the
# box as its area share would give.
#
# ## Explore
#
# Pick an image, a patch size, a stride and a fill. Each new combination runs the network on
# all occluded copies once and is cached; the overlay weight only redraws.

# %%
occ_cache = {}

def occlusion_map(i, patch, stride, fill):
    key = (i, patch, stride, fill)
    if key not in occ_cache:
        occ_cache[key] = vislib.occlusion(cm, images[i:i + 1], target[i:i + 1], patch=patch, stride=stride,
                                          fill=fill)[0]
    return occ_cache[key]

def show_occlusion(image, patch, stride, fill, alpha):
    m = occlusion_map(image, patch, stride, fill)
    passes = ((H - patch) // stride + 1) ** 2
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), gridspec_kw={"wspace": 0.05})
    axes[0].imshow(show(images[image]), cmap="gray"); axes[0].set_title(titles[image])
    vislib.draw_boxes(axes[0], boxes[image])
    lim = max(np.abs(m).max(), 1e-6)
    axes[1].imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)   # red: drop, blue: rise; white: no change
    axes[1].set_title(f"drop in p (red max {m.max():.2f}), {passes} passes", fontsize=9)
    axes[2].imshow(vislib.overlay(images[image], np.maximum(m, 0), alpha=alpha)); axes[2].set_title("overlay")
    for ax in axes: ax.axis("off")
    plt.show()

picker = [(f"{k}: {n}", k) for k, n in enumerate(names)]
patches = [H // 14, H // 7, H // 4, H // 2]
strides_ui = cm.pick(clothes=[1, 2, 4, 7], photos=[H // 14, H // 7, H // 4])
vislib.explorer(show_occlusion, heavy=("image", "patch", "stride", "fill"),
                image=widgets.Dropdown(options=picker, description="image"),
                patch=widgets.SelectionSlider(options=patches, value=PATCH, description="patch"),
                stride=widgets.SelectionSlider(options=strides_ui, value=STRIDE, description="stride"),
                fill=widgets.Dropdown(options=[("grey", "gray"), ("image mean", "mean"), ("blur", "blur"),
                                               ("black", 0.0)], description="fill"),
                alpha=widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.1, description="overlay"))

# %% [markdown]
# ## What to notice
#
# - The batched library call and the one-at-a-time loop give the same numbers.
# - The grid has exactly $\left(\frac{H-p}{s}+1\right)^2$ cells when the stride lands on the
#   edge: one forward pass each.
# - A drop can never exceed the clean probability, and each pixel's value is a mean of grid
#   values, so the map stays within the grid's range.
# - With trained weights, the drop concentrates on the object: more of it falls inside the
#   box than the box's share of the image (ratio above 1, with a fill that adds no new object).
# - With real ImageNet weights and the blur fill, the peak falls inside the box on most
#   labelled photos. The check asks for all but one (4 of 5 on the six photos), which is
#   what EfficientNet-Lite0 scores: five photos leave no room for a margin on a count, but
#   the two peaks that decide it (palace, flower) sit 30 and 46 px inside their boxes, so a
#   small numerical change cannot move them out. The mass ratio is checked at 1.2 or more on each of the
#   three photos whose box is smaller than the image (measured 1.45-1.56).

# %%
for s, formula, cells, n, sec in cost:
    if (H - PATCH) % s == 0:
        assert cells == formula, (s, cells, formula)
clean_p = probs[np.arange(len(images)), target]
assert (grids <= clean_p[:, None, None] + 1e-6).all()
assert (maps >= grids.min(axis=(1, 2))[:, None, None] - 1e-6).all()
assert (maps <= grids.max(axis=(1, 2))[:, None, None] + 1e-6).all()
mean_ratio = {f: float(np.nanmean(r)) for f, r in ratios.items()}
print({str(f): round(v, 2) for f, v in mean_ratio.items()})
if cm.weights == "trained":   # the offline clothes model
    assert mean_ratio["blur"] > 1.0, mean_ratio
if cm.real_imagenet:
    n_hit, n_lab = int(hits["blur"][labelled].sum()), int(labelled.sum())
    vislib.claim(cm, n_hit >= n_lab - 1, f"with the blur fill the occlusion peak falls inside the hand-drawn box on "
                                         f"{n_hit} of {n_lab} labelled photos (all but at most one)")
    r_small = ratios["blur"][small]
    if small.any():   # VGG16 runs on three photos, none of them with a box smaller than the image
        vislib.claim(cm, (r_small >= 1.2).all(),
                     f"on each of the {small.sum()} labelled photos whose box is smaller than the image, the share of "
                     f"the drop inside the box is at least 1.2 times the box's area share "
                     f"(here {np.round(r_small, 2).tolist()})")

# %% [markdown]
# ## A classroom experiment: where do *people* look?
#
# The boxes above were drawn by the course's authors around the whole object. The study this
# lesson imitates asked people instead: each drew the regions they used to recognise each
# photo, counted on a 20 x 20 grid, and their regions were compared with the network's maps.
# Your class can repeat it. **Students:** put your name (or a pseudonym) below, run the cell,
# draw a box around every part you used to recognise each image and press *Submit*; your
# answers are saved to `answers/<name>.json` next to this notebook (send the file to your
# lecturer, or work on a shared drive).

# %%
drawer = vislib.draw_regions(images, names, student="your_name", folder="answers")
drawer.widget

# %% [markdown]
# **Lecturers:** collect the files in one folder and run the next cell. For each image it
# turns the answers into a *human attention map* (on each cell of the 20 x 20 grid, the share
# of students whose regions cover it) and compares it with the occlusion map: the **pointing
# game** (does the map's peak fall on a cell at least half the class marked?), the **IoU**
# of the map's top 20 % cells with those cells, and **Spearman's rank correlation** over the
# cells (`nan` where a map is constant, e.g. when everybody boxed the whole photo). Without
# answers in the folder, it uses the course authors' boxes as one stand-in "student", and says
# so: those numbers are about the object, not about people.

# %%
import tempfile
from pathlib import Path

answer_dir = Path("answers")
if list(answer_dir.glob("*.json")):
    answers = vislib.human.load_answers(answer_dir)
    who = f"{len(answers)} students"
else:
    stand_in = Path(tempfile.mkdtemp())
    vislib.human.save_answer(stand_in, "course_authors", dict(zip(names, vislib.example_boxes(cm, images))),
                             cm.input_size)
    answers = vislib.human.load_answers(stand_in)
    who = "no answers yet: the course authors' boxes as a stand-in for a class"
human_maps = vislib.human.human_attention(answers, names, cm.input_size)
scores = vislib.human.compare(human_maps, maps)
print(f"human attention from {who}")
print(f"{'image':>16s} {'pointing':>9s} {'IoU':>6s} {'Spearman':>9s}")
for n, hit, iou, rho in zip(names, scores["pointing"], scores["iou"], scores["spearman"]):
    print(f"{n[:16]:>16s} {int(hit):>9d} {iou:>6.2f} {rho:>9.2f}")
fig = vislib.plot_attributions(images[:4], {"people": human_maps[:4], "occlusion": maps[:4]},
                               titles=names[:4], size=1.8)
plt.show()
assert human_maps.shape == maps.shape and 0 <= human_maps.min() and human_maps.max() <= 1
assert all(0 <= v <= 1 for v in scores["iou"])

# %% [markdown]
# ## Exercises
#
# 1. How many forward passes does one image need with patch `H // 4` and stride `H // 8`?
#    Set `n_passes` (use the formula, then check with `vislib.occlusion_grid`).
# 2. In the grid of the first image (`grids[0]`), which (row, column) hurt the class most
#    when hidden? Set `worst_cell` to a tuple.
# 3. Compute the occlusion map of the first image with `output="probability"` (patch
#    `PATCH`, stride `STRIDE`, grey) and store the (H, W) map in `prob_map`.

# %%
n_passes = None            # your answer
worst_cell = None          # your answer
prob_map = None            # your answer

vislib.check(n_passes, ((H - H // 4) // (H // 8) + 1) ** 2,
             hint="count the positions along one axis (the first at 0, then one per stride while the patch still fits), then square", name="1. forward passes")
vislib.check(worst_cell, tuple(int(v) for v in np.unravel_index(grids[0].argmax(), grids[0].shape)),
             hint="find the largest drop in the grid and turn its position in the flattened grid into (row, column)", name="2. worst cell")
vislib.check(prob_map, probs[0, target[0]] - maps[0], tol=1e-4,   # p(occluded) = p(clean) - drop
             hint="the same call as for the maps above, for one image, asking for the probability instead of its drop",
             name="3. probability map");

# %% [markdown]
# ## Summary
#
# - Occlusion asks the network directly: hide a patch, measure the probability drop. It needs
#   no gradients and works on any classifier, even one you can only call.
# - `vislib.occlusion` batches all occluded copies and spreads the coarse grid back over the
#   pixels exactly (mean over the covering patches); it equals the plain loop.
# - Its cost is $\left(\frac{H-p}{s}+1\right)^2$ forward passes per image: a fine stride is
#   expensive. Patch size sets what counts as "a part".
# - The fill is part of the question: a grey square on a black background is a new object.
# - Comparing the drop with hand-drawn boxes turns "it looks at the object" into a number.
#
# ## References
#
# - M. D. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
# - J. Zhang, S. A. Bargal, Z. Lin, J. Brandt, X. Shen, S. Sclaroff. *Top-down Neural Attention by Excitation Backprop.* IJCV 2018 (the pointing game).
# - T. Szandała, H. Maciejewski. *Automated Method for Evaluating Neural Network's Attention Focus.* ICCS 2022 (the share inside the box, "fit").
# - A. Das, H. Agrawal, C. L. Zitnick, D. Parikh, D. Batra. *Human Attention in Visual Question Answering: Do Humans and Deep Networks Look at the Same Regions?* Computer Vision and Image Understanding 2017.
# - *Evaluating CNN Predictions using Visualization Techniques* (the study whose human-attention experiment the box comparison imitates).
# - B. Zhou, A. Khosla, A. Lapedriza, A. Oliva, A. Torralba. *Object Detectors Emerge in Deep Scene CNNs.* ICLR 2015.
# - M. Ancona, E. Ceolini, C. Öztireli, M. Gross. *Towards better understanding of gradient-based attribution methods for deep neural networks.* ICLR 2018.
