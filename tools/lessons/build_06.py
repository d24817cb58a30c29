"""Build lessons/06_saliency.ipynb (run: .venv/bin/python -m tools.lessons.build_06)."""

from tools.nb import build, code, md

CELLS = [
    md(r"""
# 06 · Saliency and guided backpropagation

Occlusion (lesson 05) asked the network one question per grey square. A single
backward pass asks all pixels at once: *if this pixel changed a little, how much would
the class score change?* The answer is the gradient of the score with respect to the
image, drawn as a picture: a **saliency map**. This lesson computes it by hand, draws
its sharper cousin **guided backpropagation**, measures how little either cares about
*which* class you ask for, and tries to cut the object out of the image with it.

## What you will learn
- the image gradient $\partial S_c / \partial x$ and why we take it on the pre-softmax score;
- how to compute it with `tf.GradientTape` in a few lines, and with `vislib.saliency`;
- why the map takes the maximum over colour channels;
- what guided backpropagation changes, and why its maps look so clean;
- a measured fact: gradient maps barely change with the class asked for, Grad-CAM's do;
- how far a thresholded saliency map gets as an object mask.
"""),
    md(r"""
## The idea

Near an image $x_0$ the class score $S_c$ (the logit, before the softmax) is almost
linear (Simonyan et al. 2014):

$$S_c(x) \approx w^\top x + b, \qquad w = \left.\frac{\partial S_c}{\partial x}\right|_{x_0}.$$

The weight $w_{ijk}$ says how much the score moves per unit change of pixel $(i, j)$ in
colour channel $k$. The saliency map keeps its size, taking the largest magnitude over
the channels:

$$M_{ij} = \max_k \left| w_{ijk} \right|.$$

We differentiate $S_c$, not the probability $p_c$: $p_c$ can also rise by *lowering the
other classes*, so its gradient mixes in evidence about them.

**Guided backpropagation** (Springenberg et al. 2015) changes only the backward pass
through each ReLU. Plain backprop passes a gradient $R$ where the forward input was
positive; guided backprop also requires the gradient itself to be positive:

$$R^{\text{in}} = \mathbb{1}[z > 0]\; R^{\text{out}} \quad\text{(plain)}, \qquad
R^{\text{in}} = \mathbb{1}[z > 0]\;\mathbb{1}[R^{\text{out}} > 0]\; R^{\text{out}} \quad\text{(guided)}.$$
"""),
    code(r"""
images, labels, names = vislib.examples(cm, 10)   # 10 clothes offline, the 6 sample photos on ImageNet profiles
probs = cm.predict(images)
order = np.argsort(-probs, axis=1)
top1, top2 = order[:, 0], order[:, 1]
titles = [f"{cm.class_names[c]} {probs[i, c]:.2f}" for i, c in enumerate(top1)]
print(len(images), "images; top-1:", [cm.class_names[c] for c in top1])
"""),
    md(r"""
## By hand

The classifier's last layer is a `Dense` layer with the softmax built in. We run
everything before it, apply its kernel and bias ourselves to get the logits, and let
`tf.GradientTape` differentiate the top-1 logit with respect to the *display* pixels
(so the preprocessing sits inside the tape). Each image's score depends only on its own
pixels, so one tape over the sum of the scores gives every image's gradient. An eager
tape keeps every layer's output of every image until `tape.gradient` returns (about
60 MB per photo on VGG16), so on heavy networks we take only the first two photos here.
"""),
    code(r"""
import keras
import tensorflow as tf

head = cm.model.layers[-1]                          # Dense classifier (softmax inside)
body = keras.Model(cm.model.inputs, head.input)     # everything before it, same weights

n_hand = 2 if cm.heavy else len(images)             # VGG16: two photos keep the tape under Binder's 2 GB
x = tf.convert_to_tensor(images[:n_hand])           # display pixels, 0-255
with tf.GradientTape() as tape:
    tape.watch(x)
    logits = body(cm.preprocess(x), training=False) @ head.kernel + head.bias   # S_c, before softmax
    score = tf.reduce_sum(tf.gather(logits, top1[:n_hand], batch_dims=1))              # each image's top-1 score
grads = tape.gradient(score, x).numpy()             # dS/dx: (N, H, W, C)
hand = np.abs(grads).max(axis=-1)                   # max over colour channels: (N, H, W)
print("gradient", grads.shape, "-> saliency", hand.shape)
"""),
    md(r"""
The signed gradient (red: brighter would raise the score, blue: lower it), each colour
channel's magnitude, and their maximum, the saliency map:
"""),
    code(r"""
i = 0
chans = np.abs(grads[i])
fig, axes = plt.subplots(1, 3 + cm.channels, figsize=(2.3 * (3 + cm.channels), 2.6))
axes[0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(titles[i])
lim = np.abs(grads[i].sum(-1)).max()
axes[1].imshow(grads[i].sum(-1), cmap="RdBu_r", vmin=-lim, vmax=lim); axes[1].set_title("signed gradient")
for k in range(cm.channels):
    axes[2 + k].imshow(chans[..., k], cmap="gray"); axes[2 + k].set_title(f"|grad| channel {k}")
axes[-1].imshow(hand[i], cmap="gray"); axes[-1].set_title("max over channels")
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()
"""),
    md(r"""
## With vislib

`vislib.saliency(model, images, target=None)` is the same computation, batched and
compiled once per model; `target=None` means each image's top-1 class. It returns raw
gradient magnitudes (not rescaled), so it must equal our hand-made map.
`vislib.guided_backprop` has the same call shape; it runs on a copy of the network that
shares its weights and gates the gradient after every ReLU, so `cm.model` is never changed.
"""),
    code(r"""
sal = vislib.saliency(cm, images)                 # (N, H, W), max_c |dS/dx_c| for the top-1 class
assert sal.shape == images.shape[:3] and sal.dtype == np.float32
err = float(np.abs(sal[:n_hand] - hand).max() / max(hand.max(), 1e-30))
print(f"largest difference between vislib.saliency and the tape: {err:.1e} of the map's maximum")
if cm.weights in ("trained", "imagenet"):   # random ImageNet nets score ~1e-11: float32 rounding dominates
    assert err < 1e-3, "vislib.saliency differs from the tape"

gb = vislib.guided_backprop(cm, images)           # same call shape, guided ReLU gradients
"""),
    code(r"""
show = list(range(min(4, len(images))))
fig, axes = plt.subplots(len(show), 3, figsize=(7, 2.3 * len(show)), squeeze=False)
for r, i in enumerate(show):
    axes[r, 0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[r, 0].set_title(titles[i])
    axes[r, 1].imshow(vislib.normalize_map(sal[i]), cmap="gray"); axes[r, 1].set_title("saliency")
    axes[r, 2].imshow(vislib.normalize_map(gb[i]), cmap="gray"); axes[r, 2].set_title("guided backprop")
for ax in axes.ravel(): ax.axis("off")
plt.tight_layout(); plt.show()
"""),
    md(r"""
Guided backprop is cleaner than the plain gradient (on photos it looks like an edge
drawing of the object). Is that because it explains the *class* better? A map that explains
"why class $c$" should change when we ask about another class. Let us measure it.

### Do the maps depend on the class?

For every image we compute each map twice, for the top-1 and for the top-2 class, and
correlate the two (Pearson's $r$ over pixels: 1 = the same picture). Grad-CAM (lesson 08)
is added as a yardstick: it weights the last conv layer's feature maps by the class's
gradient, so it is built to be class-discriminative.
"""),
    code(r"""
def corr(a, b):
    # Pearson r per image between two stacks of maps (0 when a map is constant)
    out = []
    for p, q in zip(a, b):
        ok = p.std() > 0 and q.std() > 0
        out.append(np.corrcoef(p.ravel(), q.ravel())[0, 1] if ok else 0.0)
    return np.array(out)

METHODS = {"saliency": vislib.saliency, "guided backprop": vislib.guided_backprop, "Grad-CAM": vislib.gradcam}
pairs = {name: (fn(cm, images, top1), fn(cm, images, top2)) for name, fn in METHODS.items()}
same = {name: corr(a, b) for name, (a, b) in pairs.items()}
for name, r in same.items():
    print(f"{name:>16s}: top-1 vs top-2 maps, mean r = {r.mean():.2f}  (per image: {np.round(r, 2)})")
"""),
    code(r"""
fig, (ax, *rest) = plt.subplots(1, 4, figsize=(12, 2.8), gridspec_kw={"width_ratios": [1.6, 1, 1, 1]})
means = [same[n].mean() for n in METHODS]
errs = [same[n].std() for n in METHODS]
ax.bar(list(METHODS), means, yerr=errs, color=["C0", "C1", "C2"], capsize=4)
ax.set_ylabel("r(top-1 map, top-2 map)"); ax.set_ylim(-0.5, 1.05); ax.axhline(0, color="k", lw=0.5)
ax.set_title(f"mean over {len(images)} images")
i = 0
for a, (name, (m1, m2)) in zip(rest, pairs.items()):
    a.imshow(np.concatenate([vislib.normalize_map(m1[i]), vislib.normalize_map(m2[i])], axis=1), cmap="inferno")
    a.set_title(f"{name}: {cm.class_names[top1[i]][:10]} | {cm.class_names[top2[i]][:10]}", fontsize=8)
    a.axis("off")
plt.tight_layout(); plt.show()
"""),
    md(r"""
Guided backprop hardly changes at all with the class: it reconstructs the image's
edges (Nie et al. 2018 prove that it mostly does image recovery), and the plain gradient
changes only partly. Grad-CAM's maps move when the class changes. On ImageNet the
top-2 class is often a close cousin (tabby vs tiger cat), so even Grad-CAM may point at
the same object: try a distant class in the explorer below.

### A saliency map as an object mask

Simonyan et al. (2014) turned saliency maps into object boxes without ever training on
boxes. The crude version: keep the pixels above a percentile of the map and compare this
mask with the object's box by intersection over union,
$\mathrm{IoU} = |M \cap B| / |M \cup B|$. A random mask of the same size is the baseline:
its expected IoU is $qb / (q + b - qb)$ for mask fraction $q$ and box fraction $b$.
The boxes are hand-annotated for the sample photos (`data/annotations.json`) and, for
Fashion-MNIST, the bounding box of the item on its black background.
"""),
    code(r"""
boxes = vislib.example_boxes(cm, images)   # hand-drawn boxes on photos, the item's bounding box offline
H, W = cm.input_size
regions = []
for bs in boxes:                       # union of an image's boxes as a boolean region
    r = np.zeros((H, W), bool)
    for x0, y0, x1, y1 in bs:
        r[y0:y1, x0:x1] = True
    regions.append(r)

def mask_iou(smap, region, percentile):
    # IoU of the pixels above the percentile with the region, and the random-mask baseline
    mask = smap >= np.percentile(smap, percentile)
    q, b = mask.mean(), region.mean()
    return (mask & region).sum() / (mask | region).sum(), q * b / (q + b - q * b), mask

def iou_table(percentile):
    rows = [mask_iou(s, r, percentile)[:2] for s, r in zip(sal, regions) if r.any()]
    return np.array(rows)

for p in (50, 70, 90):
    t = iou_table(p)
    print(f"percentile {p}: mean IoU {t[:, 0].mean():.3f}  (random mask of the same size: {t[:, 1].mean():.3f})")
"""),
    code(r"""
def show_mask(image, percentile):
    i = image
    iou, base, mask = mask_iou(sal[i], regions[i], percentile)
    fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
    axes[0].imshow(images[i].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(titles[i])
    vislib.draw_boxes(axes[0], boxes[i])
    axes[1].imshow(vislib.normalize_map(sal[i]), cmap="gray"); axes[1].set_title("saliency")
    axes[2].imshow(mask, cmap="gray"); vislib.draw_boxes(axes[2], boxes[i])
    axes[2].set_title(f"top {100 - percentile}% pixels: IoU {iou:.2f} (random {base:.2f})")
    for ax in axes: ax.axis("off")
    plt.tight_layout(); plt.show()

picker = [(f"{k}: {n}", k) for k, n in enumerate(names)]
vislib.explorer(show_mask, image=widgets.Dropdown(options=picker, description="image"),
                percentile=widgets.IntSlider(value=60, min=0, max=98, step=2, description="percentile"))
"""),
    md(r"""
## Explore

Pick an image, a method and which class to explain (the image's top-1 to top-5).
Each map needs a backward pass, so it is computed once and cached; switching between the
plain map and the overlay only redraws.
"""),
    code(r"""
maps_cache = {}

def explain(i, method, rank):
    key = (i, method, rank)
    if key not in maps_cache:
        cls = int(order[i, rank])
        maps_cache[key] = (cls, METHODS[method](cm, images[i:i + 1], cls)[0])
    return maps_cache[key]

def show_explanation(image, method, rank, view):
    cls, m = explain(image, method, rank)
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(images[image].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(names[image])
    if view == "overlay":
        axes[1].imshow(vislib.overlay(images[image], m, alpha=0.5))
    else:
        axes[1].imshow(vislib.normalize_map(m), cmap="inferno")
    axes[1].set_title(f"{method}: {cm.class_names[cls]} ({probs[image, cls]:.2f})", fontsize=9)
    for ax in axes: ax.axis("off")
    plt.tight_layout(); plt.show()

vislib.explorer(show_explanation, heavy=("image", "method", "rank"),
                image=widgets.Dropdown(options=picker, description="image"),
                method=widgets.Dropdown(options=list(METHODS), description="method"),
                rank=widgets.Dropdown(options=[(f"top-{r + 1}", r) for r in range(5)], description="class"),
                view=widgets.ToggleButtons(options=["map", "overlay"], description="view"))
"""),
    md(r"""
## What to notice

- The tape and `vislib.saliency` agree; saliency is a magnitude, never negative.
- Guided backprop is not the plain gradient: gating negative gradients changes the map.
- Asking for another class changes every saliency map a little; with trained weights the
  plain gradient's top-1 and top-2 maps are more alike than Grad-CAM's, and guided
  backprop's are the most alike of all (it hardly depends on the class).
- With trained weights, the brightest pixels of the saliency map fall on the object more
  often than chance: the mask beats a random mask of the same size.
"""),
    code(r"""
assert (sal >= 0).all() and (gb >= 0).all()
assert not np.allclose(vislib.normalize_map(gb), vislib.normalize_map(sal), atol=1e-3)
assert all(not np.allclose(vislib.normalize_map(a), vislib.normalize_map(b), atol=1e-3)
           for a, b in zip(*pairs["saliency"]))   # the class does change the gradient
mean_r = {n: float(r.mean()) for n, r in same.items()}
print({n: round(v, 3) for n, v in mean_r.items()})
if cm.weights == "trained":   # measured on the offline models (ImageNet's top-2 is often a look-alike class)
    assert mean_r["saliency"] > mean_r["Grad-CAM"], mean_r
    assert mean_r["guided backprop"] > mean_r["Grad-CAM"], mean_r
    assert mean_r["guided backprop"] > mean_r["saliency"], mean_r
"""),
    code(r"""
t = iou_table(60)
print(f"IoU at the 60th percentile: saliency mask {t[:, 0].mean():.3f}, random mask {t[:, 1].mean():.3f}")
assert ((t >= 0) & (t <= 1)).all()
if cm.weights in ("trained", "imagenet"):
    assert t[:, 0].mean() > t[:, 1].mean()
"""),
    md(r"""
## Exercises

1. Compute the saliency map of the first image for its **second** most likely class with
   `vislib.saliency` and store the (H, W) map in `second_map`.
2. Reduce `grads[0]` (our hand-made gradient) over the colour channels by the **mean** of
   the absolute values instead of the maximum; store it in `mean_map`.
3. Which of the three methods changed least between the top-1 and top-2 class? Set
   `least_discriminative` to its name as written in `METHODS`.
4. Which percentile in 10, 20, ..., 90 gives the highest mean IoU of the saliency mask?
   Set `best_percentile` (use `iou_table`).
"""),
    code(r"""
second_map = None          # your answer
mean_map = None            # your answer
least_discriminative = None
best_percentile = None

vislib.check(second_map, vislib.saliency(cm, images[:1], int(top2[0]))[0], tol=1e-3,
             hint="vislib.saliency(cm, images[:1], target=int(top2[0]))[0]", name="1. second class")
vislib.check(mean_map, vislib.saliency(cm, images[:1], reduce="mean")[0], tol=1e-3,
             hint="np.abs(grads[0]).mean(axis=-1)", name="2. mean over channels")
vislib.check(least_discriminative, max(mean_r, key=mean_r.get),
             hint="the highest bar in the chart", name="3. least class-discriminative")
vislib.check(best_percentile, max(range(10, 100, 10), key=lambda p: iou_table(p)[:, 0].mean()),
             hint="max(range(10, 100, 10), key=lambda p: iou_table(p)[:, 0].mean())", name="4. best percentile");
"""),
    md(r"""
## Summary

- The saliency map is $\max_k |\partial S_c / \partial x_{ijk}|$: one backward pass of the
  pre-softmax class score, taken through the preprocessing to the display pixels.
- `vislib.saliency` and `vislib.guided_backprop` share one call shape,
  `(model, images, target=None) -> (N, H, W)`; both leave the model untouched.
- Guided backprop draws crisp edges, but its maps barely change with the class: it shows
  *what is in the image* more than *why this class*. The plain gradient is noisy (lesson 07
  smooths it) and only partly class-dependent. Grad-CAM (lesson 08) is built to be
  class-discriminative.
- The brightest saliency pixels make a crude object mask, better than chance but far
  from a segmentation.

## References

- K. Simonyan, A. Vedaldi, A. Zisserman. *Deep Inside Convolutional Networks: Visualising Image Classification Models and Saliency Maps.* ICLR workshop 2014.
- J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for Simplicity: The All Convolutional Net.* ICLR workshop 2015.
- R. R. Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization.* ICCV 2017.
- W. Nie, Y. Zhang, A. Patel. *A Theoretical Explanation for Perplexing Behaviors of Backpropagation-based Visualizations.* ICML 2018.
- J. Adebayo et al. *Sanity Checks for Saliency Maps.* NeurIPS 2018.
"""),
]

if __name__ == "__main__":
    print(build("lessons/06_saliency.ipynb", CELLS))
