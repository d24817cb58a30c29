"""Build lessons/11_class_model.ipynb (run: .venv/bin/python -m tools.lessons.build_11)."""

from tools.nb import build, code, md

CELLS = [
    md(r"""
# 11 · Class-model visualization

Lesson 04 searched real images for what a unit likes. Here we *synthesise* it: start
from a blank image and change its pixels, step by step, to make the network more and
more sure of one class. The result is the network's "class model" (Simonyan et al.
2014): an image that shows what the network looks for, without any photograph.

## What you will learn
- the class model visualization of Simonyan et al. (2014), written by hand with
  `tf.GradientTape`: gradient ascent on the pre-softmax class score with an L2 penalty;
- why the score must be the logit and not the softmax probability;
- why plain gradient ascent gives noise, and how regularizers (L2, blur, jitter, total
  variation) make the images readable (Yosinski et al. 2015);
- the same for any unit (dense units, conv channels) with `vislib.activation_maximization`
  (tf-keras-vis); the optimisation shown frame by frame.
"""),
    md(r"""
## The idea

Let $S_c(I)$ be the score of class $c$ *before* the softmax. The class model is

$$I^\star = \arg\max_I \; S_c(I) - \lambda \lVert I \rVert_2^2 ,$$

found by gradient ascent from the zero image $I_0 = 0$ (the mean image for mean-subtracted
networks; a black image for the offline model, whose input is pixels/255):

$$I_{t+1} = \operatorname{clip}\Big(I_t + \eta\, \frac{g_t}{\operatorname{rms}(g_t)}\Big),
\qquad g_t = \nabla_I \big(S_c(I_t) - \lambda \lVert I_t \rVert^2\big).$$

Dividing by the root mean square of the gradient makes $\eta$ a step size in pixel
units, whatever the network. The logit, not the probability: the softmax
$p_c = e^{S_c} / \sum_k e^{S_k}$ also rises when the *other* scores fall, so maximising it
can produce an image that is merely "not anything else".

Left alone, gradient ascent finds high-frequency patterns that no photo contains.
Regularizers push towards natural images: the L2 penalty above, a small Gaussian **blur**
every few steps, random **jitter** (shift the image by a pixel or two before each step,
so the pattern must work at every offset), and **total variation**
$\mathrm{TV}(I) = \sum |I_{i+1,j} - I_{i,j}| + |I_{i,j+1} - I_{i,j}|$, which penalises noise.
"""),
    code(r"""
import tensorflow as tf

target = 7 if cm.channels == 1 else 130      # "Sneaker" offline, "flamingo" on ImageNet
steps = vislib.budget(200, 40) if cm.channels == 1 else vislib.budget(30 if cm.heavy else 100, 10)   # a 224x224 step
# costs ~100x more than a 28x28 one, and a VGG16 step ~50x more than a MobileNetV2 one
print(f"target class {target}: {cm.class_names[target]}; {steps} steps")
"""),
    md(r"""
## By hand

The variable is the network's input $I$ (after the profile's preprocessing). The score
is the pre-softmax logit: `vislib._graph.forward` applies the last layer's weights
without the softmax (the model itself is not changed).
"""),
    code(r"""
run = vislib._graph.forward(cm.model)                                # I -> (_, pre-softmax logits)
lo = np.asarray(cm.preprocess(np.zeros((1, *cm.input_shape))))[0, 0, 0]
hi = np.asarray(cm.preprocess(np.full((1, *cm.input_shape), 255.0)))[0, 0, 0]
lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)                       # valid input range per channel
span = hi - lo
l2, lr = 1.0, 0.02

I = tf.Variable(np.clip(np.zeros((1, *cm.input_shape), np.float32), lo, hi))   # the zero image
hand_scores = []
hand_steps = steps if cm.channels == 1 else min(steps, 10 if cm.heavy else 25)   # eager steps on a 224x224 network are slow;
for step in range(hand_steps):                               # vislib runs the whole optimisation compiled
    with tf.GradientTape() as tape:
        score = run(I)[1][0, target]
        objective = score - l2 * tf.reduce_mean(tf.square(I / span))
    g = tape.gradient(objective, I)
    g = g / (tf.sqrt(tf.reduce_mean(tf.square(g))) + 1e-12)
    I.assign(tf.clip_by_value(I + lr * span * g, lo, hi))
    hand_scores.append(float(score))
by_hand = cm.deprocess(I.numpy())[0]                                  # back to display pixels
print(f"logit of class {target}: {hand_scores[0]:.2f} at the start, {hand_scores[-1]:.2f} after {hand_steps} steps")
"""),
    code(r"""
fig, axes = plt.subplots(1, 2, figsize=(7, 2.8))
axes[0].plot(hand_scores); axes[0].set_xlabel("step"); axes[0].set_ylabel(f"logit of {cm.class_names[target]}")
axes[1].imshow(by_hand.squeeze(), cmap="gray" if cm.channels == 1 else None)
axes[1].set_title("class model, no blur or jitter"); axes[1].axis("off")
plt.show()
"""),
    md(r"""
## With vislib

`vislib.class_model(model, target, steps, l2=..., blur_every=..., jitter=..., lr=...)`
runs the same loop (compiled once per model) and returns the final image, the score at
each step and frames of the optimisation. With blur and jitter switched off it is the
loop above, step for step (on a 224x224 network the loop ran only its first steps):
"""),
    code(r"""
plain = vislib.class_model(cm, target, steps=steps, l2=l2, lr=lr, blur_every=0, jitter=0)
if hand_steps == steps:                                      # same steps: the same image, to a grey level
    assert np.abs(plain.image.astype(int) - by_hand.astype(int)).max() <= 1
assert np.allclose(plain.scores[:hand_steps], hand_scores, rtol=1e-3, atol=1e-3)

vis = vislib.class_model(cm, target, steps=steps, l2=l2, lr=lr)     # + jitter 1 px and blur every 4 steps
fig = vislib.plot_frames(vis, max_frames=8)
fig.suptitle(f"class model of {cm.class_names[target]} with jitter and blur", y=1.08)
plt.show()
"""),
    md(r"""
### Any unit, with tf-keras-vis

`vislib.activation_maximization(model, layer, unit, ...)` wraps tf-keras-vis'
`ActivationMaximization`. For `layer=None` the score is a class logit (a weight-sharing
linear view of the model, what tf-keras-vis' `ReplaceToLinear` does to a clone); for a
dense layer, one unit before its ReLU; for a conv layer, the mean of one channel. The
defaults are tf-keras-vis' regularizers (total variation and an L2 norm, pulling towards
grey) and a jitter of a few pixels.
"""),
    code(r"""
am_steps = vislib.budget(200, 40) if cm.channels == 1 else vislib.budget(16 if cm.heavy else 50, 8)   # tf-keras-vis steps run eagerly
dense = cm.feature_layer                              # "fc7" offline, "fc2" on VGG16
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
"""),
    md(r"""
The whole optimisation as an animated GIF (open it next to the notebook):
"""),
    code(r"""
import tempfile, pathlib
gif = pathlib.Path(tempfile.gettempdir()) / f"class_model_{cm.name}_{target}.gif"
frames = [f.squeeze(-1) if cm.channels == 1 else f for f in vis.frames]
vislib.save_gif(frames, gif, duration=0.3)
print("saved", gif, f"({len(frames)} frames)")
"""),
    md(r"""
## Explore

The step slider walks through the frames already computed (no new optimisation). The
regularizer sliders run a new optimisation the first time a combination is chosen;
results are cached, so going back is instant.
"""),
    code(r"""
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
"""),
    code(r"""
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
"""),
    md(r"""
The same for tf-keras-vis' total-variation weight (the class unit; the L2 norm weight
stays at 0.3). Too little and the image is pixel noise; too much and the optimiser
fights the penalty and the score barely rises.
"""),
    code(r"""
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
"""),
    md(r"""
## What to notice

- The by-hand loop and `vislib.class_model` agree (checked above).
- The target logit rises well above its start. With trained weights the optimised image
  is classified as the target class: the network is sure about an image that looks
  little like a real one, a first hint of lesson 09's adversarial examples.
- A larger L2 weight gives a darker (offline) or greyer (ImageNet) image: a smaller
  $\lVert I \rVert$, bought with a lower score.
- Blur and jitter cost a little score but remove the pixel-level noise.
"""),
    code(r"""
start = cm.logits(vis.frames[0].astype(np.float32))[0]
end = cm.logits(vis.image.astype(np.float32))[0]
print(f"logit of {cm.class_names[target]}: {start[target]:.2f} -> {end[target]:.2f}; "
      f"top-1 of the class model: {cm.class_names[int(np.argmax(end))]}")
assert len(vis.scores) == steps and vis.frames.shape[0] == len(vis.frame_steps)
assert np.isfinite(vis.scores).all()
if cm.weights in ("trained", "imagenet"):
    assert end[target] > start[target] + 5
    assert int(np.argmax(end)) == target
    assert vis.scores[-1] > vis.scores[0] + 5
    strong = vislib.class_model(cm, target, steps=steps, l2=1000.0, blur_every=0, jitter=0)
    norm = lambda v: float(np.mean(np.square(np.asarray(cm.preprocess(v.image[None].astype(np.float32))))))
    assert norm(strong) < norm(plain)                    # the L2 penalty shrinks the image
    for name, v in runs.items():
        assert v.scores[-5:].mean() > v.scores[:5].mean(), name   # tf-keras-vis raised every score
"""),
    md(r"""
## Exercises

1. Which of the two would rise if the optimiser only *lowered the other classes'* scores:
   `"logit"` or `"softmax"`?
2. Run `vislib.class_model` for another class of your choice and give its top-1 class
   under the model (`cm.logits(...)`).
3. How much did the target logit rise between the first and the last frame of `vis`
   (use `cm.logits` on both frames)?
"""),
    code(r"""
answer_1 = None     # "logit" or "softmax"
answer_2 = None     # e.g. int(np.argmax(cm.logits(vislib.class_model(cm, 3).image.astype(np.float32))))
answer_3 = None     # a number

vislib.check(answer_1, "softmax", hint="p_c = exp(S_c) / sum_k exp(S_k): what happens when S_k falls?", name="1. score")
vislib.check(answer_2, lambda a: 0 <= int(a) < cm.num_classes, hint="an index between 0 and num_classes - 1", name="2. top-1")
vislib.check(answer_3, float(end[target] - start[target]), tol=1e-2, hint="end[target] - start[target]", name="3. rise")
"""),
    md(r"""
## Summary

- The class model $\arg\max_I S_c(I) - \lambda\lVert I\rVert^2$ is gradient ascent in
  input space on the pre-softmax score; a few lines with `tf.GradientTape`.
- Without regularizers it finds noise the network likes; L2, blur, jitter and total
  variation trade some score for images people can read.
- The same machinery visualises any unit (`vislib.activation_maximization`): a dense
  unit, a conv channel. Compare with lesson 04, which *searched* real images instead of
  *synthesising* one.
- A confident class score for a synthetic image says what the network responds to, not
  that the image looks like the class: the gap between the two is what adversarial
  examples exploit.

## References
- Simonyan, K., Vedaldi, A., & Zisserman, A. (2014). Deep Inside Convolutional Networks: Visualising Image
  Classification Models and Saliency Maps. ICLR Workshop.
- Erhan, D., Bengio, Y., Courville, A., & Vincent, P. (2009). Visualizing Higher-Layer Features of a Deep
  Network. University of Montreal Technical Report 1341.
- Yosinski, J., Clune, J., Nguyen, A., Fuchs, T., & Lipson, H. (2015). Understanding Neural Networks Through
  Deep Visualization. ICML Deep Learning Workshop.
- Mahendran, A., & Vedaldi, A. (2015). Understanding Deep Image Representations by Inverting Them. CVPR
  (total variation).
- Olah, C., Mordvintsev, A., & Schubert, L. (2017). Feature Visualization. Distill.
- Kubota, Y. tf-keras-vis (software), https://github.com/keisen/tf-keras-vis.
"""),
]

if __name__ == "__main__":
    build("lessons/11_class_model.ipynb", CELLS)
