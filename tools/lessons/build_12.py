"""Build lessons/12_evaluating_explanations.ipynb (run: .venv/bin/python -m tools.lessons.build_12)."""

from tools.nb import build, code, md

CELLS = [
    md(r"""
# 12 · Evaluating explanations

Lessons 05-08 gave us a zoo of heat maps: occlusion, saliency, guided backprop,
SmoothGrad, Grad-CAM and its family. They often disagree. Which one should we believe?
This lesson puts numbers on that question, four kinds of them, and shows what each
number can and cannot tell.

## What you will learn
- **localisation**: does the map sit on the object a person marked? (ROI fit, pointing game);
- **faithfulness**: does the model lose its confidence when the pixels the map ranks
  highest are deleted? (deletion and insertion AUC);
- **sensitivity**: does the map change when the model's weights are randomised? (the
  sanity check of Adebayo et al.);
- **agreement**: which methods draw the same picture?
- why a method can win on one number and lose on another.
"""),
    md(r"""
## The idea

Let $h \ge 0$ be a heat map for class $c$ on image $x$ and $B$ a box around the object.

**ROI fit** (Szandała & Maciejewski): the share of the map's mass inside the box (the best
box when there are several). A uniform map scores the box's share of the image area.

$$\text{fit} = \frac{\sum_{(i,j) \in B} h_{ij}}{\sum_{i,j} h_{ij}}$$

**Pointing game** (Zhang et al. 2018): a hit when the map's maximum lies in the box,
$\;[\arg\max_{ij} h_{ij} \in B]$; the score is the share of hits.

**Deletion and insertion** (Petsiuk et al. 2018): sort the pixels by $h$, most important
first. Delete the top fraction $f$ (set them to black) and track the probability
$p_c$; or start from a blurred image and insert them. The area under the curve:

$$\text{AUC}_\text{del} = \int_0^1 p_c\big(x \text{ without its top-}f\text{ pixels}\big)\,df \;\;(\text{lower is better}),\qquad
\text{AUC}_\text{ins} = \int_0^1 p_c\big(\text{blur} + \text{top-}f\text{ pixels of } x\big)\,df \;\;(\text{higher is better}).$$

**Sanity check** (Adebayo et al. 2018): randomise the weights layer by layer from the
output down and compare each new map $M_\ell$ with the original $M$ by Spearman's rank
correlation $\rho(M, M_\ell)$. A map that explains the *model* must change ($\rho \to 0$).

**Agreement** between two maps: $\rho$ and the overlap of their top-$k\%$ pixels,
$|T_k(a) \cap T_k(b)| / k$.
"""),
    code(r"""
from vislib import metrics

offline = cm.channels == 1
n = vislib.budget(30, 20) if offline else vislib.budget(2 if cm.heavy else 4, 3 if not cm.heavy else 2)   # photos are costly
images, labels, names = vislib.examples(cm, n)    # clothes offline, the annotated photos on ImageNet profiles
# hand-annotated boxes (data/annotations.json) on photos; Fashion-MNIST has none, so the
# item's bounding box on its black background stands in
boxes = vislib.example_boxes(cm, images)
probs = cm.predict(images)
target = probs.argmax(1)                            # we explain each image's top-1 class
H, W = cm.input_size
area = np.mean([max((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in b) / (H * W) for b in boxes])
print(f"{len(images)} images; the boxes cover {area:.0%} of an image on average")
k = min(6, len(images))
fig, axes = plt.subplots(1, k, figsize=(2 * k, 2.3), squeeze=False)
for ax, i in zip(axes[0], range(k)):
    ax.imshow(images[i].astype("uint8").squeeze(), cmap="gray"); vislib.draw_boxes(ax, boxes[i])
    ax.set_title(f"{cm.class_names[target[i]][:14]} {probs[i, target[i]]:.2f}", fontsize=8); ax.axis("off")
plt.show()
"""),
    md(r"""
The contestants: every method of lessons 05-08 with the same call shape
`method(model, images, target)`, plus two maps that know nothing about the model:
**random** noise and a **centre** blob (objects tend to sit in the middle of a photo).
A metric that cannot tell a real method from these two is not measuring much.
"""),
    code(r"""
fast = vislib.fast()
patch = 4 if offline else 32
stride = patch // 2 if offline else vislib.budget(patch if cm.heavy else patch // 2, patch)
fill = 0 if offline else "gray"           # occlude with the background: black clothes background, grey for photos
METHODS = {
    "occlusion": lambda m, x, t: vislib.occlusion(m, x, t, patch=patch, stride=stride, fill=fill),
    "saliency": lambda m, x, t: vislib.saliency(m, x, t),
    "guided backprop": lambda m, x, t: vislib.guided_backprop(m, x, t),
    "SmoothGrad": lambda m, x, t: vislib.smoothgrad(vislib.saliency, m, x, t,
                                                    samples=vislib.budget(10 if cm.heavy else 25, 8)),
    "Grad-CAM": lambda m, x, t: vislib.gradcam(m, x, t),
    "Grad-CAM++": lambda m, x, t: vislib.gradcam_plus_plus(m, x, t),
    "Score-CAM": lambda m, x, t: vislib.scorecam(m, x, t, max_channels=None if offline else vislib.budget(32 if cm.heavy else 128, 16)),
    "guided Grad-CAM": lambda m, x, t: vislib.guided_gradcam(m, x, t),
}
try:                                   # CAM needs a global-average-pooling classifier (MobileNetV2, fashion_gap)
    vislib.cam(cm, images[:1])
    METHODS["CAM"] = lambda m, x, t: vislib.cam(m, x, t)
except ValueError as err:
    print("CAM skipped:", str(err).split(";")[0])

rng = np.random.default_rng(0)
yy, xx = np.mgrid[:H, :W]
centre = np.exp(-(((yy - H / 2) / (H / 4)) ** 2 + ((xx - W / 2) / (W / 4)) ** 2))
maps = {name: fn(cm, images, target) for name, fn in METHODS.items()}
maps["random"] = rng.random((len(images), H, W)).astype("float32")
maps["centre"] = np.repeat(centre[None], len(images), 0).astype("float32")
print({k: v.shape for k, v in maps.items()})
"""),
    code(r"""
show = list(range(min(3, len(images))))            # the first three photos (two on VGG16)
fig = vislib.plot_attributions(images[show], {k: maps[k][show] for k in METHODS},
                               titles=[names[i] for i in show], size=1.5)
plt.show()
"""),
    md(r"""
## By hand

Two of the metrics in a few lines of numpy: the ROI fit of one map, and the deletion
curve of one image (black out the top pixels step by step, classify every copy in one
batch, take the area under the curve with the trapezoid rule).
"""),
    code(r"""
i, m = 0, maps["saliency"][0]
x0, y0, x1, y1 = boxes[i][0]
mass = np.maximum(m, 0)
fit_hand = mass[y0:y1, x0:x1].sum() / mass.sum()

steps = 28 if offline else vislib.budget(6 if cm.heavy else 16, 8)   # one forward pass per step, map and image
order = np.argsort(-m.ravel(), kind="stable")                  # most important pixel first
counts = np.round(np.linspace(0, H * W, steps + 1)).astype(int)
copies = np.repeat(images[i:i + 1], steps + 1, axis=0)
for k, c in enumerate(counts):
    rows, cols = np.unravel_index(order[:c], (H, W))
    copies[k, rows, cols, :] = 0                                 # deleted pixels become black
curve_hand = cm.predict(copies)[:, target[i]]
auc_hand = np.trapezoid(curve_hand, counts / (H * W))
print(f"ROI fit {fit_hand:.3f}; deletion AUC {auc_hand:.3f} (p = {curve_hand[0]:.2f} -> {curve_hand[-1]:.2f})")
"""),
    md(r"""
## With vislib

`vislib.metrics` has each metric with the same argument order; `evaluate` runs all four
for every method. Ties in a map (Grad-CAM maps have many zeros) are broken in a seeded
random order rather than top-left first, otherwise a flat map would look like a map
that points at the top rows.
"""),
    code(r"""
fit = metrics.roi_fit(maps["saliency"], boxes)
f, p = metrics.perturbation_curve(cm, images[:1], maps["saliency"][:1], target[:1], steps, mode="deletion")
assert np.isclose(fit[0], fit_hand, atol=1e-5)
auc = metrics.deletion_auc(cm, images[0], m, int(target[0]), steps)
assert np.isclose(auc, np.trapezoid(p[0], f)) and abs(auc - auc_hand) < 0.05   # equal up to the order of ties
print(f"hand-made ROI fit equals metrics.roi_fit; deletion AUC {auc:.3f} (by hand {auc_hand:.3f})")

results = metrics.evaluate(cm, images, maps, boxes, target, steps=steps)
print(metrics.format_table(results))
"""),
    code(r"""
fig = metrics.plot_metrics({k: v for k, v in results.items()}, reference={
    "roi_fit": float(np.mean(results["random"]["roi_fit"])),
    "pointing_game": float(np.mean(results["random"]["pointing_game"])),
    "deletion_auc": float(np.mean(results["random"]["deletion_auc"])),
    "insertion_auc": float(np.mean(results["random"]["insertion_auc"]))})
plt.suptitle("dashed line: the random map", y=1.02, fontsize=9)
plt.show()
"""),
    md(r"""
### The sanity check

We randomise a copy of the model from the top layer down and recompute every map for
the same class. On photos the slow methods (occlusion, SmoothGrad, Score-CAM) would take
minutes per step, so there only the gradient methods and Grad-CAM are checked.
"""),
    code(r"""
weighted = metrics.weighted_layers(cm)
if offline:
    checkpoints = weighted                                   # every weighted layer of the small model
    sanity_methods = list(METHODS)
    sx = images[:vislib.budget(6, 4)]
else:                                                        # a few checkpoints through the big network
    picks = np.unique(np.round(np.linspace(0, len(weighted) - 1, 4)).astype(int))
    checkpoints = [weighted[k] for k in picks]
    sanity_methods = ["saliency", "guided backprop", "Grad-CAM"]
    sx = images[:1 if cm.heavy else vislib.budget(2, 1)]        # one photo on VGG16 (five maps per method)
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
"""),
    code(r"""
rows = list(sanity)
fig, axes = plt.subplots(len(rows), min(len(steps_names), 6), figsize=(9, 1.5 * len(rows)), squeeze=False)
for r, name in enumerate(rows):
    metrics.plot_sanity(sanity[name], sx, image=0, max_cols=axes.shape[1], size=1.4, axes=axes[r])
    axes[r, 0].set_ylabel(name, fontsize=8); axes[r, 0].axis("on")
    axes[r, 0].set_xticks([]); axes[r, 0].set_yticks([])
plt.tight_layout(); plt.show()
"""),
    md(r"""
### Which methods agree?

The mean rank correlation between every pair of maps, over all images.
"""),
    code(r"""
keys, agree = metrics.agreement_matrix(maps)     # mean of metrics.agreement(a, b).spearman over images
fig, ax = plt.subplots(figsize=(6.5, 5.5))
im = ax.imshow(agree, cmap="RdBu_r", vmin=-1, vmax=1)
ax.set_xticks(range(len(keys)), keys, rotation=60, ha="right", fontsize=8)
ax.set_yticks(range(len(keys)), keys, fontsize=8)
for a in range(len(keys)):
    for b in range(len(keys)):
        ax.text(b, a, f"{agree[a, b]:.1f}", ha="center", va="center", fontsize=6)
plt.colorbar(im, ax=ax, shrink=0.8); ax.set_title("Spearman's rho between methods"); plt.show()
"""),
    md(r"""
## Explore

Pick an image and a method: the map with its box, and the deletion or insertion curve
(one image's curve needs `steps + 1` forward passes, so it is cached).
"""),
    code(r"""
curves = {}

def curve(i, method, mode):
    key = (i, method, mode)
    if key not in curves:
        curves[key] = metrics.perturbation_curve(cm, images[i:i + 1], maps[method][i:i + 1],
                                                 target[i:i + 1], steps, mode=mode)
    return curves[key]

def show_curve(image, method, mode):
    f, p = curve(image, method, mode)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(7, 2.8), gridspec_kw={"width_ratios": [1, 1.5]})
    a0.imshow(vislib.overlay(images[image], maps[method][image])); vislib.draw_boxes(a0, boxes[image])
    a0.set_title(f"{method}: fit {results[method]['roi_fit'][image]:.2f}", fontsize=9); a0.axis("off")
    a1.plot(f, p[0], label=method)
    fr, pr = curve(image, "random", mode)
    a1.plot(fr, pr[0], "--", color="gray", label="random map")
    a1.fill_between(f, p[0], alpha=0.2)
    a1.set_xlabel(f"fraction of pixels {'deleted' if mode == 'deletion' else 'inserted'}")
    a1.set_ylabel(f"p({cm.class_names[target[image]][:12]})"); a1.set_ylim(0, 1.02)
    a1.set_title(f"{mode} AUC {np.trapezoid(p[0], f):.3f} (random {np.trapezoid(pr[0], fr):.3f})", fontsize=9)
    a1.legend(fontsize=8); plt.tight_layout(); plt.show()

picker = [(f"{k}: {n}", k) for k, n in enumerate(names)]
vislib.explorer(show_curve, heavy=("image", "method", "mode"),
                image=widgets.Dropdown(options=picker, description="image"),
                method=widgets.Dropdown(options=list(maps), value="saliency", description="method"),
                mode=widgets.ToggleButtons(options=["deletion", "insertion"], description="curve"))
"""),
    code(r"""
def show_sanity(method, step):
    res = sanity[method]
    k = min(step, len(res.layers) - 1)
    fig, axes = plt.subplots(1, len(sx), figsize=(2.2 * len(sx), 2.5), squeeze=False)
    for j, ax in enumerate(axes[0]):
        ax.imshow(vislib.overlay(sx[j], res.maps[k, j])); ax.axis("off")
        ax.set_title(f"rho {res.correlations[k, j]:.2f}", fontsize=8)
    fig.suptitle(f"{method}: randomised down to {res.layers[k]}", fontsize=9)
    plt.tight_layout(); plt.show()

vislib.explorer(show_sanity, method=widgets.Dropdown(options=list(sanity), description="method"),
                step=widgets.IntSlider(value=0, min=0, max=len(steps_names) - 1, description="cascade"))
"""),
    md(r"""
## What to notice

- **Localisation is easy to fake.** The centre blob scores well on the pointing game,
  because objects sit in the middle of pictures. On Fashion-MNIST the item's box covers
  most of the image, so even the random map has a high ROI fit: always compare with it.
- **Faithfulness favours the method that does the same thing as the metric.** Occlusion
  literally measures what hiding a patch does, so it wins deletion. Deletion also
  creates images the network never saw (black holes), and insertion depends on the
  blurred start: change the baseline and the ranking can change.
- **The sanity check separates two families.** Grad-CAM changes as soon as the top
  layers are random (it depends on the class weights); guided backprop keeps its picture
  until the lowest layers go, because it mostly reconstructs the image's edges. On the
  offline model Score-CAM also keeps part of its picture with every weight random: its
  masks are feature maps, and random convolutions still outline the garment.
- **A method can be faithful and badly localised, or the reverse.** On the offline
  model Grad-CAM's ROI fit is below the random map's: its 14x14 layer feeds a `Flatten`
  classifier that weighs every position separately, which Grad-CAM's averaged gradients
  ignore. Lesson 13 meets this again.
- **Agreement is not correctness.** The gradient family agrees with itself, the CAM
  family with itself; that two methods agree says nothing about whether either is right.
"""),
    code(r"""
mean = {k: {mm: float(np.mean(v)) for mm, v in r.items()} for k, r in results.items()}
assert all(0 <= mean[k]["roi_fit"] <= 1 and 0 <= mean[k]["deletion_auc"] <= 1 for k in mean)
assert np.allclose(np.diag(agree), 1) and np.allclose(agree, agree.T, atol=1e-6)
assert all(np.allclose(res.correlations[0], 1) for res in sanity.values())
first_step = {k: float(res.mean[1]) for k, res in sanity.items()}
last_step = {k: float(res.mean[-1]) for k, res in sanity.items()}
print("rho after randomising the top layer:", {k: round(v, 2) for k, v in first_step.items()})
print("rho after randomising every checkpoint:", {k: round(v, 2) for k, v in last_step.items()})
if cm.weights in ("trained", "imagenet"):
    assert last_step["Grad-CAM"] < 0.5                          # Grad-CAM passes the sanity check
    assert first_step["guided backprop"] > first_step["Grad-CAM"]   # guided backprop barely notices
    assert mean["occlusion"]["deletion_auc"] < mean["random"]["deletion_auc"]
    best_del = min(METHODS, key=lambda k: mean[k]["deletion_auc"])
    print("lowest deletion AUC:", best_del)
if offline and cm.weights == "trained":
    # the boxes are large: the random map's ROI fit is close to the box's share of the image
    assert abs(mean["random"]["roi_fit"] - area) < 0.1
    assert mean["Grad-CAM"]["roi_fit"] < mean["random"]["roi_fit"]   # see the last point above
    assert mean["centre"]["pointing_game"] >= mean["random"]["pointing_game"]
"""),
    md(r"""
## Exercises

1. Which method has the **highest insertion AUC** on these images? Set `best_insertion`
   to its name (a key of `results`).
2. Compute the **deletion AUC of Grad-CAM** for the first image with a **blurred**
   instead of a black baseline (`baseline="blur"` in `metrics.deletion_auc`, with `steps`
   as above); store the float in `gradcam_blur_auc`.
3. After randomising every checkpoint, which method's map stays **most similar** to its
   original (highest mean rho)? Set `stubborn`.
4. Use `metrics.agreement` to compute the top-10% overlap between the saliency map of the
   first image and its box as a boolean mask (`metrics.box_mask(boxes[0], (H, W))`); store
   the float in `overlap`.
"""),
    code(r"""
best_insertion = None     # your answer
gradcam_blur_auc = None   # your answer
stubborn = None           # your answer
overlap = None            # your answer

vislib.check(best_insertion, max(results, key=lambda k: mean[k]["insertion_auc"]),
             hint="look at the insertion_auc column of the table", name="1. best insertion")
vislib.check(gradcam_blur_auc, metrics.deletion_auc(cm, images[0], maps["Grad-CAM"][0], int(target[0]),
                                                     steps, baseline="blur"), tol=1e-4,
             hint='metrics.deletion_auc(cm, images[0], maps["Grad-CAM"][0], int(target[0]), steps, baseline="blur")',
             name="2. deletion with blur")
vislib.check(stubborn, max(last_step, key=last_step.get), hint="the line that stays highest on the right",
             name="3. most stubborn map")
vislib.check(overlap, metrics.agreement(maps["saliency"][0], metrics.box_mask(boxes[0], (H, W))).top_overlap,
             tol=1e-4, hint="metrics.agreement(map, mask).top_overlap", name="4. overlap with the box");
"""),
    md(r"""
## Summary

- `metrics.roi_fit` and `metrics.pointing_game` measure whether a map sits where people
  say the object is; compare with a random and a centre map before believing them.
- `metrics.deletion_auc` / `insertion_auc` measure whether the model actually depends on
  the pixels the map ranks highest; they favour perturbation methods and depend on the
  baseline.
- `metrics.randomization_sanity` randomises a *copy* of the model layer by layer: a
  method whose map survives randomisation is not explaining the model.
- `metrics.agreement` compares maps with each other or with a mask.
- No single number ranks the methods; together they tell you what a map can be trusted
  for. Lesson 13 uses ROI fit to catch a model that cheats.

## References

- T. Szandała, H. Maciejewski. *Automated Method for Evaluating Neural Network's Attention Focus.* ICCS 2022.
- J. Zhang, S. A. Bargal, Z. Lin, J. Brandt, X. Shen, S. Sclaroff. *Top-down Neural Attention by Excitation Backprop.* IJCV 2018.
- V. Petsiuk, A. Das, K. Saenko. *RISE: Randomized Input Sampling for Explanation of Black-box Models.* BMVC 2018.
- J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt, B. Kim. *Sanity Checks for Saliency Maps.* NeurIPS 2018.
- M. D. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
- K. Simonyan, A. Vedaldi, A. Zisserman. *Deep Inside Convolutional Networks.* ICLR workshop 2014.
- D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg. *SmoothGrad: removing noise by adding noise.* 2017.
- R. R. Selvaraju et al. *Grad-CAM.* ICCV 2017; A. Chattopadhyay et al. *Grad-CAM++.* WACV 2018; H. Wang et al. *Score-CAM.* CVPR-W 2020.
"""),
]

if __name__ == "__main__":
    print(build("lessons/12_evaluating_explanations.ipynb", CELLS))
