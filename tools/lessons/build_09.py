"""Build lessons/09_fgsm.ipynb (run: .venv/bin/python -m tools.lessons.build_09)."""

from tools.nb import build, code, md

CELLS = [
    md(r"""
# 09 · Fooling the network: FGSM, transfer across models, noise images

A network that recognises a coat can be made to call it a bag by changing every pixel
by a few grey levels, a change you barely see. Goodfellow, Shlens and Szegedy (2015)
showed that one step along the sign of the loss gradient is enough: the *fast gradient
sign method* (FGSM). This lesson builds it by hand, measures how often it works as the
allowed change grows, watches where Grad-CAM looks before and after, shows that attacks
made on one network also fool another, and feeds the network images that are pure noise.

## What you will learn
- FGSM in four lines with `tf.GradientTape`, and `vislib.fgsm` / `vislib.iterative_fgsm`;
- why $\epsilon$ is counted in pixel units and why the result is clipped;
- the success rate as a function of $\epsilon$, single step vs iterative;
- how far the Grad-CAM map moves when the decision flips (**attention shift**);
- how well attacks **transfer** to a network of another architecture;
- what the network says about Perlin noise, random noise and a universal perturbation.
"""),
    md(r"""
## The idea

Let $J(x, y)$ be the cross-entropy loss of the network for image $x$ (display pixels,
0-255) and label $y$. Near $x$ the loss is roughly linear,
$J(x + \delta, y) \approx J(x, y) + \delta^\top \nabla_x J$. Among all changes with
$\|\delta\|_\infty \le \epsilon$ (no pixel moves by more than $\epsilon$), the one that
raises this linear model most is $\delta = \epsilon\,\mathrm{sign}(\nabla_x J)$:

$$x^{adv} = \mathrm{clip}_{[0, 255]}\Big(x + \epsilon\,\mathrm{sign}\big(\nabla_x J(x, y)\big)\Big).$$

The gradient is taken *through the profile's preprocessing*, so $\epsilon$ is in the
pixels we look at, and clipping keeps a valid image. The **iterative** version
(Kurakin et al. 2017) takes small steps of size $\alpha$ and projects back into the
$\epsilon$-ball after each:

$$x^{(t+1)} = \mathrm{clip}_{x, \epsilon}\Big(x^{(t)} + \alpha\,\mathrm{sign}\big(\nabla_x J(x^{(t)}, y)\big)\Big).$$

A **targeted** attack descends the loss of a chosen class instead. The **success rate**
is the share of correctly classified images whose class changes.
"""),
    code(r"""
import keras
import tensorflow as tf

OFFLINE = cm.channels == 1
images, labels, names = vislib.examples(cm, 6 if OFFLINE else 2 if cm.heavy else 4)   # clothes offline, photos on ImageNet
probs = cm.predict(images)
top1 = probs.argmax(1)
if OFFLINE:                 # a batch of test items the model gets right, for success rates
    (xt, yt) = vislib.fashion_mnist().test
    pool, pool_y = xt[:400, ..., None].astype("float32"), yt[:400].astype(int)
    right = cm.predict(pool).argmax(1) == pool_y
    N = vislib.budget(200, 100)
    batch, batch_y = pool[right][:N], pool_y[right][:N]
else:                       # a few photos; labels=None: each image's own top-1 class is the label
    batch, batch_y = images, None
EPS = [0, 2, 4, 8, 16, 32] if OFFLINE else vislib.budget([0, 2, 8] if cm.heavy else [0, 1, 2, 4, 8], [0, 2, 8])   # pixels (0-255)
STEPS = vislib.budget(5 if cm.heavy else 10, 5 if OFFLINE else 3)   # VGG16: a gradient takes ~0.7 s
print(f"{len(batch)} images for success rates; epsilons {EPS}; iterative FGSM with {STEPS} steps")
if cm.weights not in ("trained", "imagenet"):
    print("Random weights: the numbers below show that the code runs, not what a trained network does.")

def show(image):
    return np.clip(image, 0, 255).astype("uint8").squeeze()
"""),
    md(r"""
## By hand

Put the preprocessing and the network inside the tape, take the gradient of the loss
with respect to the display pixels, step by $\epsilon$ along its sign, clip. The loss is
computed from the pre-softmax scores (the dense layer's kernel applied by hand), which
stays finite even when the network is very sure.
"""),
    code(r"""
head = cm.model.layers[-1]                                        # Dense classifier (softmax inside)
features = keras.Model(cm.model.inputs, head.input)               # everything before it

x = tf.convert_to_tensor(images[:1])
y = tf.constant(top1[:1])
with tf.GradientTape() as tape:
    tape.watch(x)
    logits = features(cm.preprocess(x), training=False) @ head.kernel + head.bias
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
grad = tape.gradient(loss, x).numpy()                             # dJ / d pixel

EPSILON = 8.0
adv_hand = np.clip(images[:1] + EPSILON * np.sign(grad), 0, 255)  # one signed step, clipped
p_adv = cm.predict(adv_hand)[0]
print(f"clean: {cm.class_names[top1[0]]} ({probs[0, top1[0]]:.2f});  "
      f"adversarial (eps={EPSILON:g}): {cm.class_names[p_adv.argmax()]} ({p_adv.max():.2f})")
"""),
    code(r"""
delta = adv_hand[0] - images[0]
fig, axes = plt.subplots(1, 3, figsize=(8, 3))
axes[0].imshow(show(images[0]), cmap="gray", vmin=0, vmax=255); axes[0].set_title(f"clean: {cm.class_names[top1[0]]}")
axes[1].imshow(show(127.5 + delta * 127.5 / EPSILON), cmap="gray", vmin=0, vmax=255)
axes[1].set_title(f"perturbation x{127.5 / EPSILON:.0f}")
axes[2].imshow(show(adv_hand[0]), cmap="gray", vmin=0, vmax=255); axes[2].set_title(f"adversarial: {cm.class_names[p_adv.argmax()]}")
for ax in axes: ax.axis("off")
plt.tight_layout(); plt.show()
"""),
    md(r"""
The perturbation is drawn amplified (grey = no change). Where the image is black and the
sign says "darker", clipping removes the change: the result stays a valid image.

## With vislib

`vislib.fgsm(model, images, labels=None, epsilon=8)` does the same for a batch (labels
default to the model's own top-1 class); `vislib.iterative_fgsm(..., steps, step_size)` is
the iterative version and `vislib.attack_success(model, clean, adversarial, labels)` the
success rate.
"""),
    code(r"""
adv_lib = vislib.fgsm(cm, images[:1], epsilon=EPSILON)
same = np.isclose(adv_lib, adv_hand, atol=1e-3)
print(f"vislib.fgsm equals the hand-made image in {same.mean():.2%} of the pixels")
assert np.abs(adv_lib - images[:1]).max() <= EPSILON + 1e-3
if cm.weights in ("trained", "imagenet"):   # random ImageNet nets score ~1e-11: float32 noise decides many signs
    assert same.all(), "vislib.fgsm differs from the hand-made version"
"""),
    md(r"""
### Success rate against $\epsilon$, single step and iterative

For every $\epsilon$ we attack the whole batch once with FGSM and once with iterative
FGSM (same $\epsilon$-ball) and count the flipped decisions.
"""),
    code(r"""
from vislib._progress import progress

ADV = {}           # (method, eps) -> adversarial batch, reused below
rates = {"FGSM": [], f"iterative FGSM ({STEPS} steps)": []}
for eps in progress(EPS, desc="epsilons"):
    ADV["fgsm", eps] = vislib.fgsm(cm, batch, batch_y, epsilon=eps)
    ADV["ifgsm", eps] = vislib.iterative_fgsm(cm, batch, batch_y, epsilon=eps, steps=STEPS)
    rates["FGSM"].append(vislib.attack_success(cm, batch, ADV["fgsm", eps], batch_y))
    rates[f"iterative FGSM ({STEPS} steps)"].append(vislib.attack_success(cm, batch, ADV["ifgsm", eps], batch_y))

fig, ax = plt.subplots(figsize=(5, 3.2))
for name, r in rates.items():
    ax.plot(EPS, r, "o-", label=name)
ax.set_xlabel("epsilon (pixels of 0-255)"); ax.set_ylabel("success rate"); ax.set_ylim(-0.02, 1.02)
ax.set_title(f"{cm.name}: {len(batch)} images"); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()
print("| epsilon | " + " | ".join(rates) + " |\n|---:|---:|---:|")
for i, eps in enumerate(EPS):
    print(f"| {eps} | " + " | ".join(f"{r[i]:.2f}" for r in rates.values()) + " |")
"""),
    md(r"""
Iterative FGSM follows the loss around its bends instead of trusting one linear step,
so within the same $\epsilon$-ball it finds adversarial images more often.

### Attention shift: where does Grad-CAM look after the attack?

The study *Evaluating CNN Predictions using Visualization Techniques* showed Grad-CAM on
Goodfellow's panda before and after FGSM. We do the same for every example image, and
give two numbers per image: the correlation between the two maps and the distance
between their peaks (in pixels).
"""),
    code(r"""
EPS_SHIFT = 16.0 if OFFLINE else 4.0
adv_ex = vislib.fgsm(cm, images, epsilon=EPS_SHIFT)
adv_top = cm.predict(adv_ex).argmax(1)
cam_clean = vislib.gradcam(cm, images)                 # clean image, its top-1 class
cam_adv = vislib.gradcam(cm, adv_ex)                   # adversarial image, its new top-1 class

def shift(a, b):
    # (Pearson r, distance between the peaks in pixels) for two maps
    r = np.corrcoef(a.ravel(), b.ravel())[0, 1] if a.std() > 0 and b.std() > 0 else 0.0
    pa, pb = np.unravel_index(a.argmax(), a.shape), np.unravel_index(b.argmax(), b.shape)
    return float(r), float(np.hypot(pa[0] - pb[0], pa[1] - pb[1]))

SHIFT = np.array([shift(a, b) for a, b in zip(cam_clean, cam_adv)])
flipped = adv_top != top1
fig = vislib.plot_attributions(
    np.concatenate([images, adv_ex])[[i for k in range(len(images)) for i in (k, k + len(images))]],
    {"Grad-CAM": np.stack([m for pair in zip(cam_clean, cam_adv) for m in pair])},
    titles=[t for i in range(len(images)) for t in (f"clean: {cm.class_names[top1[i]]}",
            f"adv: {cm.class_names[adv_top[i]]}  r={SHIFT[i, 0]:.2f}, peak moved {SHIFT[i, 1]:.0f}px")],
    size=1.9)
plt.show()
for label, mask in (("flipped", flipped), ("not flipped", ~flipped)):
    if mask.any():
        print(f"{label} ({mask.sum()}): mean r = {SHIFT[mask, 0].mean():+.2f}, mean peak shift = {SHIFT[mask, 1].mean():.1f} px")
"""),
    md(r"""
### Cross-model transfer

Adversarial images are made with one network's gradient. Do they fool a network that
never saw them? Offline the source is the course model and the target the second offline
model, a different architecture (three conv layers and global average pooling) trained
by vislib the same way. On ImageNet profiles the targets are the other two ImageNet
architectures (VGG16, ResNet50, MobileNetV2; under the light `mobilenet_v2` profile only
ResNet50, to stay inside Binder's 2 GB); that part is kept to a few photos and two
$\epsilon$ because every model costs memory and time.
"""),
    code(r"""
if OFFLINE:
    other = "fashion_gap" if cm.name != "fashion_gap" else "fashion_cnn"
    TARGETS = {other: vislib.load_model(other)}
    t_images, t_labels, t_eps = batch, batch_y, [4, 8, 16, 32]
else:
    w = None if cm.weights is None else "imagenet"
    # the light profile stays light: VGG16 alone (138 M weights) would take a 2 GB Binder session over
    names = ("resnet50", "mobilenet_v2") if cm.name == "mobilenet_v2" else ("vgg16", "resnet50", "mobilenet_v2")
    TARGETS = {n: vislib.load_model(n, weights=w) for n in names if n != cm.name}
    t_images, t_labels, t_eps = images[:vislib.budget(4, 2)], None, [2, 8]
    if cm.weights is None:
        print("Random weights everywhere: these rates mean nothing about real networks.")
table = vislib.transfer_table(cm, TARGETS, t_images, t_eps, labels=t_labels)
table
"""),
    code(r"""
fig, ax = plt.subplots(figsize=(5, 3.2))
table.plot(ax=ax)
plt.tight_layout(); plt.show()
"""),
    md(r"""
The attack is strongest on the network it was computed on (white box), but a good share
of it carries over to a network with other layers and other weights (black box): the
networks learned similar, equally fragile features. Xie et al. (2019) report such tables
for ImageNet networks and make attacks transfer better by randomly resizing the input at
every step.

### Noise images

What does the network say about images that contain nothing? Perlin noise (smooth
procedural noise that Co et al. 2019 found to act as a universal perturbation), uniform and
Gaussian noise, and a **universal perturbation**: one pattern of at most $\epsilon$ per
pixel, fitted to raise the loss of a whole set of images at once, here shown on its own on
mid-grey.
"""),
    code(r"""
EPS_U = 40.0 if OFFLINE else 16.0
fit_on = batch[: len(batch) // 2] if OFFLINE else images
universal = vislib.universal_perturbation(cm, fit_on, epsilon=EPS_U,
                                         steps=vislib.budget(8 if cm.heavy else 20, 8 if OFFLINE else 3))
NOISE = {
    "Perlin": vislib.perlin_noise(cm, octaves=4, seed=0, color=not OFFLINE, sine_frequency=None if OFFLINE else 6.0),
    "uniform": vislib.uniform_noise(cm, seed=0),
    "Gaussian": vislib.gaussian_noise(cm, seed=0),
    "universal (on grey)": np.clip(127.5 + universal, 0, 255),
}
noise_images = np.stack(list(NOISE.values()))
noise_probs = cm.predict(noise_images)
noise_cam = vislib.gradcam(cm, noise_images)
titles = [f"{k}\n{cm.class_names[p.argmax()]} ({p.max():.2f})" for k, p in zip(NOISE, noise_probs)]
fig = vislib.plot_attributions(noise_images, {"Grad-CAM": noise_cam}, titles=titles, size=2.0)
plt.show()

held_out = batch[len(batch) // 2:] if OFFLINE else images
held_y = batch_y[len(batch) // 2:] if OFFLINE else None
rng = np.random.default_rng(0)
random_sign = EPS_U * rng.choice([-1.0, 1.0], universal.shape)
fool_universal = vislib.attack_success(cm, held_out, np.clip(held_out + universal, 0, 255), held_y)
fool_random = vislib.attack_success(cm, held_out, np.clip(held_out + random_sign, 0, 255), held_y)
print(f"one universal perturbation (eps={EPS_U:g}) flips {fool_universal:.0%} of "
      f"{'held-out items it was not fitted on' if OFFLINE else 'the photos it was fitted on'}; "
      f"random +-{EPS_U:g} noise flips {fool_random:.0%}")
"""),
    md(r"""
A network trained to pick one of its classes has no "nothing" answer: it gives every
noise image a class, often with high confidence (Nguyen et al. 2015 built images that
look like nothing and get 99 %). The universal perturbation is not random: the same
pattern flips far more images than random noise of the same size.

## Explore

Choose an image and $\epsilon$ (each attack is computed once and cached); the amplification
only redraws. Left to right: the clean image, the perturbation, the adversarial image, and
the top-5 classes before (blue) and after (orange).
"""),
    code(r"""
cache = {}

def attack(i, eps, method):
    key = (i, eps, method)
    if key not in cache:
        fn = vislib.fgsm if method == "FGSM" else (lambda *a, **k: vislib.iterative_fgsm(*a, steps=STEPS, **k))
        adv = fn(cm, images[i:i + 1], epsilon=eps)
        cache[key] = (adv[0], cm.predict(adv)[0])
    return cache[key]

def show_attack(image, epsilon, method, amplify):
    adv, p_adv = attack(image, epsilon, method)
    d = adv - images[image]
    fig, axes = plt.subplots(1, 5, figsize=(13, 2.8), gridspec_kw={"width_ratios": [1, 1, 1, 1.3, 1.3]})
    axes[0].imshow(show(images[image]), cmap="gray", vmin=0, vmax=255); axes[0].set_title("clean")
    axes[1].imshow(show(127.5 + amplify * d), cmap="gray", vmin=0, vmax=255); axes[1].set_title(f"perturbation x{amplify}")
    axes[2].imshow(show(adv), cmap="gray", vmin=0, vmax=255); axes[2].set_title(f"{method}, eps={epsilon}")
    for ax in axes[:3]: ax.axis("off")
    vislib.plot_topk(cm.decode(probs[image])[0], ax=axes[3]); axes[3].set_title("before")
    vislib.plot_topk(cm.decode(p_adv)[0], ax=axes[4], color="C1"); axes[4].set_title("after")
    plt.tight_layout(); plt.show()

vislib.explorer(show_attack, heavy=("image", "epsilon", "method"),
                image=widgets.Dropdown(options=[(f"{k}: {n}", k) for k, n in enumerate(names)], description="image"),
                epsilon=widgets.IntSlider(value=8, min=0, max=32, step=1, description="epsilon"),
                method=widgets.Dropdown(options=["FGSM", "iterative FGSM"], description="method"),
                amplify=widgets.IntSlider(value=8, min=1, max=40, description="amplify"))
"""),
    md(r"""
## What to notice

- Every adversarial image lies within $\epsilon$ of the clean one in every pixel and in
  the valid range $[0, 255]$; $\epsilon = 0$ changes nothing.
- With trained weights the success rate rises with $\epsilon$; iterative FGSM is at least as
  strong as one step; offline, FGSM at $\epsilon = 16$ (6 % of the range) flips at least half
  of the correctly classified items.
- The white-box attack beats the transferred one, but the transferred one still works.
- The universal perturbation flips more images than random noise of the same size.
- When the decision flips, the Grad-CAM map changes a lot (offline: correlation with the
  clean map around 0.1, peak moved by several pixels).
"""),
    code(r"""
for (method, eps), adv in ADV.items():
    assert np.abs(adv - batch).max() <= eps + 1e-3, (method, eps)
    assert adv.min() >= 0 and adv.max() <= 255
assert rates["FGSM"][0] == 0
assert np.abs(universal).max() <= EPS_U + 1e-4
if cm.weights in ("trained", "imagenet"):
    fg, it = np.array(rates["FGSM"]), np.array(list(rates.values())[1])
    assert fg[-1] > fg[1] and it[-1] >= fg[-1], rates
    assert np.all(it >= fg - 0.03), rates                  # iterative: at least as strong (up to 3 images in 100)
    assert table.success[-1, 0] >= table.success[-1, 1:].max()
if cm.weights == "trained":                                # measured on the offline models
    assert rates["FGSM"][EPS.index(16)] >= 0.5, rates
    assert table.success[-1, 1] > 0.2, table.success        # transfers to the other architecture
    assert fool_universal > fool_random + 0.1, (fool_universal, fool_random)
    if flipped.any():                                    # measured: r ~ 0.1 after a flip
        assert SHIFT[flipped, 0].mean() < 0.5, SHIFT      # the map moved, not just its scale
"""),
    code(r"""
# the explorer's callback serves cached attacks: a new amplification computes nothing
show_attack(0, 8, "FGSM", 8)
n_cached = len(cache)
show_attack(0, 8, "FGSM", 20)
assert len(cache) == n_cached
"""),
    md(r"""
## Exercises

1. From `rates["FGSM"]` and `EPS`, find the smallest $\epsilon$ at which FGSM flips at
   least half of the batch (None if none does). Set `eps_half`.
2. Make a targeted attack: push the first example image towards class 8 (`"Bag"` offline)
   with `vislib.iterative_fgsm(..., targeted=True)` at $\epsilon = 32$ and set `hit` to
   whether the model now answers class 8.
3. What is the largest change of any pixel in `ADV["fgsm", 8]` compared with `batch`?
   Set `largest_change` (a number).
"""),
    code(r"""
eps_half = None        # your answer
hit = None             # your answer
largest_change = None  # your answer

want_half = next((e for e, r in zip(EPS, rates["FGSM"]) if r >= 0.5), None)
vislib.check(eps_half, (lambda a: a == want_half) if want_half is None else want_half,
             hint="loop over zip(EPS, rates['FGSM']) and stop at the first rate >= 0.5", name="1. half flipped")
target_adv = vislib.iterative_fgsm(cm, images[:1], labels=8, epsilon=32, steps=STEPS, targeted=True)
vislib.check(hit, bool(cm.predict(target_adv)[0].argmax() == 8),
             hint="cm.predict(adv)[0].argmax() == 8", name="2. targeted attack")
vislib.check(largest_change, float(np.abs(ADV["fgsm", 8] - batch).max()), tol=1e-3,
             hint="np.abs(a - b).max(); it can be less than 8 only where clipping bit", name="3. largest change");
"""),
    md(r"""
## Summary

- FGSM is one signed gradient step of the loss with respect to the pixels; small changes
  that a person barely sees change the decision of an undefended network.
- `vislib.fgsm` and `vislib.iterative_fgsm` work in display pixels through the profile's
  preprocessing, keep the change within $\epsilon$ and clip to the pixel range.
- The success rate grows with $\epsilon$; iterative attacks are stronger within the same ball.
- After a successful attack Grad-CAM looks elsewhere or at the same place for other
  reasons: an explanation explains the decision, not the truth.
- Attacks transfer between architectures, which makes black-box attacks possible; a
  single universal pattern fools many images at once, and pure noise gets confident classes.

## References

- I. J. Goodfellow, J. Shlens, C. Szegedy. *Explaining and Harnessing Adversarial Examples.* ICLR 2015.
- C. Szegedy, W. Zaremba, I. Sutskever, J. Bruna, D. Erhan, I. Goodfellow, R. Fergus. *Intriguing Properties of Neural Networks.* ICLR 2014.
- A. Kurakin, I. Goodfellow, S. Bengio. *Adversarial Examples in the Physical World.* ICLR workshop 2017.
- A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu. *Towards Deep Learning Models Resistant to Adversarial Attacks.* ICLR 2018.
- C. Xie, Z. Zhang, Y. Zhou, S. Bai, J. Wang, Z. Ren, A. Yuille. *Improving Transferability of Adversarial Examples with Input Diversity.* CVPR 2019.
- S.-M. Moosavi-Dezfooli, A. Fawzi, O. Fawzi, P. Frossard. *Universal Adversarial Perturbations.* CVPR 2017.
- A. Shafahi, M. Najibi, Z. Xu, J. Dickerson, L. S. Davis, T. Goldstein. *Universal Adversarial Training.* AAAI 2020.
- K. T. Co, L. Muñoz-González, S. de Maupeou, E. C. Lupu. *Procedural Noise Adversarial Examples for Black-Box Attacks on Deep Convolutional Networks.* CCS 2019.
- A. Nguyen, J. Yosinski, J. Clune. *Deep Neural Networks are Easily Fooled: High Confidence Predictions for Unrecognizable Images.* CVPR 2015.
- R. R. Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization.* ICCV 2017.
"""),
]

if __name__ == "__main__":
    print(build("lessons/09_fgsm.ipynb", CELLS))
