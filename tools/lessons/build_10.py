"""Build lessons/10_transfer_learning.ipynb (run: .venv/bin/python -m tools.lessons.build_10)."""

from tools.nb import build, code, md

CELLS = [
    md(r"""
# 10 · Transfer learning: reuse what a network has learned

Lessons 01-08 showed that the early layers of a trained CNN detect edges, textures and
parts that are not specific to its classes. Then they should be useful for *other* classes
too. Transfer learning keeps the trained convolutional stack, freezes it, and trains only a
small new head on the new task; with few labelled images this beats training the same
network from scratch. The project report *Visualising Deep Convolutional Neural Networks*
did this with a frozen VGG16 on the TF flowers photos; we do the same where those photos
can be had, and otherwise move the course model's features to handwritten digits.

## What you will learn
- what "frozen base, new head" means, and how to build it so that every layer stays
  reachable (Grad-CAM needs that);
- that a linear classifier on frozen features already works, computed by hand;
- how transfer compares with the same network trained from random weights, with few labels;
- what fine-tuning the last block adds;
- where the transferred model looks (Grad-CAM).
"""),
    md(r"""
## The idea

Write the trained network as a conv stack $g_\phi$ followed by a head, and the new model
as $f(x) = h_\theta\big(g_\phi(x)\big)$ with a new head $h_\theta$ (pooling, a dense layer,
softmax over the new classes). **Transfer** keeps the trained $\phi^*$ and learns only $\theta$:

$$\theta^* = \arg\min_\theta \sum_{i=1}^{n} J\big(h_\theta(g_{\phi^*}(x_i)),\, y_i\big).$$

**Fine-tuning** then also updates the last block of $\phi$, with a small learning rate so
the features are adjusted, not destroyed. **From scratch** learns $\theta$ and $\phi$ from
random initialisation on the same $n$ images. With small $n$ the scratch network has far
more parameters than examples; the transferred one brings what it learned on a large data
set (Yosinski et al. 2014).

The task here: TF flowers (5 classes) when the photos can be downloaded, else scikit-learn's
handwritten digits (1797 images of 8x8 pixels, 10 classes), upsampled to the model's input
size, with only a handful of labels per class.
"""),
    code(r"""
import keras
import tensorflow as tf
from vislib import transfer

OFFLINE = cm.channels == 1
H, W = cm.input_size
weights_before = [w.copy() for w in cm.model.get_weights()]   # to show nothing touches the profile's model

TASK = "digits"
if not OFFLINE:
    try:
        fl = vislib.flowers(size=cm.input_size, limit=vislib.budget(12 if cm.heavy else 30, 6))   # 105 training photos (40 on VGG16)
        data, TASK = fl, "flowers"
    except RuntimeError as err:
        print(f"TF flowers unavailable ({str(err).split(';')[0]}).\n"
              f"Using the handwritten digits at {H}x{W} RGB instead: the same question (do features learned "
              f"on ImageNet help with few labels?) on a task that ships with scikit-learn.")
if TASK == "digits":
    PER_CLASS = 10 if OFFLINE else vislib.budget(4 if cm.heavy else 10, 3)   # photos cost ~100x more per image
    data = transfer.digits(cm, per_class=PER_CLASS, val_per_class=PER_CLASS,
                           test_per_class=50 if OFFLINE else vislib.budget(20, 3))
# Training a 224x224 ImageNet network from scratch costs ~14 images/s (MobileNetV2) or ~1 image/s
# (VGG16) on 2 CPU cores, so the photo task is kept small; raise the numbers on a GPU.
EPOCHS = vislib.budget(10, 3) if OFFLINE else vislib.budget(2 if cm.heavy else 3, 1)
FINE_TUNE = vislib.budget(3, 1) if OFFLINE else 1
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]
class_names = data["class_names"]
print(f"task {TASK}: {len(x_train)} training, {len(x_val)} validation, {len(x_test)} test images of "
      f"{x_train.shape[1:]}; {EPOCHS} epochs for the head, {FINE_TUNE} of fine-tuning")
if cm.weights not in ("trained", "imagenet"):
    print("Random weights: there is nothing to transfer, so transfer vs scratch means nothing here.")
fig = vislib.show_images(x_train[:8], [class_names[c] for c in y_train[:8]], cols=8, size=1.3)
plt.show()
"""),
    md(r"""
## By hand

The frozen base is just a function from images to feature maps. Compute the features of
every image once, average them over positions, and train a linear softmax classifier on
them with `tf.GradientTape`: transfer learning at its simplest (Razavian et al. 2014 showed
how far such "off-the-shelf" features go).
"""),
    code(r"""
BASE = transfer.base_layer(cm)                                   # the last layer with a spatial output
stack = keras.Model(cm.model.inputs, cm.model.get_layer(BASE).output)   # calls cm's layers, changes nothing

def pooled(x, bs=8):   # small batches: an eager call holds every layer's output until it returns
    return np.concatenate([np.asarray(stack(cm.preprocess(x[i:i + bs]), training=False)).mean(axis=(1, 2))
                           for i in range(0, len(x), bs)])

F_train, F_test = pooled(x_train), pooled(x_test)
mu, sd = F_train.mean(0), F_train.std(0) + 1e-6                  # standardise the features
F_train, F_test = (F_train - mu) / sd, (F_test - mu) / sd

Wt = tf.Variable(tf.zeros((F_train.shape[1], len(class_names))))
bt = tf.Variable(tf.zeros(len(class_names)))
opt = keras.optimizers.Adam(0.05)
for step in range(vislib.budget(200, 100)):
    with tf.GradientTape() as tape:
        z = F_train @ Wt + bt
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_train, logits=z))
    opt.apply_gradients(zip(tape.gradient(loss, [Wt, bt]), [Wt, bt]))
acc_linear = float(np.mean((F_test @ Wt.numpy() + bt.numpy()).argmax(1) == y_test))
print(f"features of {BASE}: {stack.output.shape[1:]} -> pooled {F_train.shape[1]} numbers per image")
print(f"linear classifier on frozen, pooled features: test accuracy {acc_linear:.2f} "
      f"(chance {1 / len(class_names):.2f})")
"""),
    md(r"""
## With vislib

`vislib.transfer.train(model, train, val, test, class_names, epochs, fine_tune_epochs)`
rebuilds the conv stack on a new input (a copy of the layers with the trained weights, so
the profile's model is never touched and every layer stays reachable), adds a new head
(pooling or flattening, a dense layer, dropout, softmax), trains the head, optionally
unfreezes the last block, and trains the same architecture from random weights for as many
epochs. It returns both models (as profiles that work with every vislib method), their
histories and test accuracies.
"""),
    code(r"""
res = transfer.train(cm, (x_train, y_train), (x_val, y_val), (x_test, y_test), class_names,
                     epochs=EPOCHS, fine_tune_epochs=FINE_TUNE, verbose=True)
net = res.transfer.model
print(f"base up to {res.base}; fine-tuned layers: {res.fine_tuned}")
print(f"trainable weights: {sum(int(np.prod(w.shape)) for w in net.trainable_weights):,} of {net.count_params():,} "
      "(after unfreezing the last block)")
# the layers that stayed frozen still hold the profile's weights, and the profile's model is unchanged
for layer in net.layers:
    if layer.weights and layer.name in [l.name for l in stack.layers] and layer.name not in res.fine_tuned:
        assert all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), cm.model.get_layer(layer.name).get_weights())), layer.name
assert all(np.array_equal(a, b) for a, b in zip(weights_before, cm.model.get_weights()))
print("frozen layers equal the profile's; the profile's model is unchanged")
"""),
    code(r"""
fig = transfer.plot_histories(res.histories, fine_tune_from=res.fine_tune_from)
plt.show()
acc = res.test_accuracy
print("| model | test accuracy |\n|---|---:|")
print(f"| linear on pooled frozen features (by hand) | {acc_linear:.2f} |")
print(f"| transfer: frozen base + head, then {FINE_TUNE} epoch(s) fine-tuning | {acc['transfer']:.2f} |")
print(f"| same network from scratch, {EPOCHS + FINE_TUNE} epochs | {acc['scratch']:.2f} |")
mean_val = {k: float(np.mean(h["val_accuracy"])) for k, h in res.histories.items()}
print(f"mean validation accuracy over the epochs (area under the curve): "
      f"transfer {mean_val['transfer']:.2f}, scratch {mean_val['scratch']:.2f}")
"""),
    md(r"""
The transferred network starts from features that already separate shapes, so its
validation accuracy is high after the first epoch; the scratch network first has to learn
edges from a handful of images. Fine-tuning (right of the dotted line) adapts the last
block to the new images.

### Where does the transferred model look?

Grad-CAM on the fine-tuned model's predictions for some test images, next to the scratch
model's: the maps show whether the new head uses the object or something else.
"""),
    code(r"""
n_show = min(6, len(x_test))
pred_t = res.transfer.predict(x_test[:n_show]).argmax(1)
pred_s = res.scratch.predict(x_test[:n_show]).argmax(1)
maps = {"transfer": vislib.gradcam(res.transfer, x_test[:n_show]),
        "scratch": vislib.gradcam(res.scratch, x_test[:n_show])}
titles = [f"true {class_names[y]}: T {class_names[a]}, S {class_names[b]}"
          for y, a, b in zip(y_test[:n_show], pred_t, pred_s)]
fig = vislib.plot_attributions(x_test[:n_show], maps, titles=titles, size=1.9)
plt.show()
"""),
    md(r"""
## Explore

How many labels per class does transfer need? Choose the number of labels (each setting
trains both networks once and is cached), then a test image and a model to see its
Grad-CAM map.
"""),
    code(r"""
runs = {len(x_train) // len(class_names): res}
cam_cache = {}

def run_for(per_class):
    if per_class not in runs:
        if TASK == "digits":
            d = transfer.digits(cm, per_class=per_class, val_per_class=PER_CLASS, test_per_class=1)
            runs[per_class] = transfer.train(cm, d["train"], d["val"], (x_test, y_test), class_names,
                                             epochs=EPOCHS, fine_tune_epochs=FINE_TUNE)
        else:
            runs[per_class] = res       # flowers: the split is fixed
    return runs[per_class]

def show_run(per_class, model, image):
    r = run_for(per_class)
    course = r.transfer if model == "transfer" else r.scratch
    key = (per_class, model, image)
    if key not in cam_cache:
        cam_cache[key] = (vislib.gradcam(course, x_test[image:image + 1])[0],
                          course.predict(x_test[image:image + 1])[0])
    heat, p = cam_cache[key]
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), gridspec_kw={"width_ratios": [1, 1, 1.6]})
    axes[0].imshow(x_test[image].astype("uint8").squeeze(), cmap="gray"); axes[0].set_title(f"true: {class_names[y_test[image]]}")
    axes[1].imshow(vislib.overlay(x_test[image], heat)); axes[1].set_title(f"{model}: {class_names[p.argmax()]} ({p.max():.2f})")
    for ax in axes[:2]: ax.axis("off")
    accs = r.test_accuracy
    axes[2].bar(list(accs), list(accs.values()), color=["C0", "C1"]); axes[2].set_ylim(0, 1)
    axes[2].set_title(f"test accuracy, {per_class} labels per class")
    plt.tight_layout(); plt.show()

vislib.explorer(show_run, heavy=("per_class", "model", "image"),
                per_class=widgets.Dropdown(options=sorted({2, 5, next(iter(runs)), 20}), value=next(iter(runs)),
                                           description="labels/class"),
                model=widgets.Dropdown(options=["transfer", "scratch"], description="model"),
                image=widgets.IntSlider(value=0, min=0, max=min(len(x_test), 20) - 1, description="test image"))
"""),
    md(r"""
## What to notice

- The profile's model is never changed, and the layers that stay frozen keep its weights
  exactly.
- Every curve has one point per epoch; fine-tuning continues the transfer curve.
- With the trained offline model and ten labels per class, transfer beats training from
  scratch at the same number of epochs, and it is ahead already after the first epoch. The
  gap is widest early: given many more epochs, the scratch network catches up part of the
  way (final accuracy), but its validation curve stays lower on average.
- Grad-CAM works on the transferred model (its base is part of its own graph).
"""),
    code(r"""
assert all(np.array_equal(a, b) for a, b in zip(weights_before, cm.model.get_weights()))
assert len(res.histories["transfer"]["accuracy"]) == EPOCHS + FINE_TUNE
assert len(res.histories["scratch"]["val_accuracy"]) == EPOCHS + FINE_TUNE
for m in maps.values():
    assert m.shape == (n_show, H, W) and m.min() >= 0 and m.max() <= 1
if cm.weights == "trained" and TASK == "digits":
    # final test accuracy, measured: 0.78 vs 0.65 (CI budget, 4 epochs), 0.89 vs 0.85 (13 epochs)
    assert acc["transfer"] > acc["scratch"], acc
    assert mean_val["transfer"] > mean_val["scratch"] + 0.05, mean_val   # learns faster
    assert res.histories["transfer"]["val_accuracy"][0] > res.histories["scratch"]["val_accuracy"][0]
    assert acc_linear > 2 / len(class_names)              # frozen features carry information
"""),
    code(r"""
# the explorer's callback serves cached results: showing another model of the same run trains nothing
show_run(next(iter(runs)), "scratch", 1)
n_runs, n_cams = len(runs), len(cam_cache)
show_run(next(iter(runs)), "scratch", 1)
assert len(runs) == n_runs and len(cam_cache) == n_cams
"""),
    md(r"""
## Exercises

1. How much better than scratch did transfer do on the test set? Set `gain` to the
   difference of the two test accuracies in `res.test_accuracy`.
2. Set `base_shape` to the shape `(h, w, k)` of the frozen base's output (layer `BASE`).
3. Which class does the transferred model give the first test image? Set `first_pred`
   (an int), using `res.transfer.predict`.
"""),
    code(r"""
gain = None          # your answer
base_shape = None    # your answer
first_pred = None    # your answer

vislib.check(gain, res.test_accuracy["transfer"] - res.test_accuracy["scratch"], tol=1e-6,
             hint="res.test_accuracy['transfer'] - res.test_accuracy['scratch']", name="1. gain")
vislib.check(base_shape, tuple(cm.model.get_layer(BASE).output.shape[1:]),
             hint="cm.model.get_layer(BASE).output.shape[1:]", name="2. base output")
vislib.check(first_pred, int(res.transfer.predict(x_test[:1])[0].argmax()),
             hint="res.transfer.predict(x_test[:1])[0].argmax()", name="3. first prediction");
"""),
    md(r"""
## Summary

- A trained conv stack is a general feature extractor: a linear classifier on its pooled
  features already works on a new task.
- `vislib.transfer.train` rebuilds the stack on the new model's own input (never nested:
  Grad-CAM needs every layer reachable), trains a new head, optionally fine-tunes the last
  block, and trains the same network from scratch for comparison.
- With few labels, transfer wins clearly over training from random weights at the same
  number of epochs; fine-tuning adapts the last block once the head is trained.
- The random-weight ImageNet profiles used in CI have nothing to transfer: the code runs,
  the numbers mean nothing.

## References

- J. Yosinski, J. Clune, Y. Bengio, H. Lipson. *How Transferable are Features in Deep Neural Networks?* NeurIPS 2014.
- A. S. Razavian, H. Azizpour, J. Sullivan, S. Carlsson. *CNN Features off-the-shelf: an Astounding Baseline for Recognition.* CVPR workshops 2014.
- J. Donahue, Y. Jia, O. Vinyals, J. Hoffman, N. Zhang, E. Tzeng, T. Darrell. *DeCAF: A Deep Convolutional Activation Feature for Generic Visual Recognition.* ICML 2014.
- M. Oquab, L. Bottou, I. Laptev, J. Sivic. *Learning and Transferring Mid-Level Image Representations using Convolutional Neural Networks.* CVPR 2014.
- K. Simonyan, A. Zisserman. *Very Deep Convolutional Networks for Large-Scale Image Recognition.* ICLR 2015.
- E. Alpaydin, C. Kaynak. *Optical Recognition of Handwritten Digits* (UCI data set, the source of scikit-learn's `load_digits`), 1998.
- The TensorFlow Team. *Flowers* data set (tf_flowers), 2019.
- R. R. Selvaraju et al. *Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization.* ICCV 2017.
"""),
]

if __name__ == "__main__":
    print(build("lessons/10_transfer_learning.ipynb", CELLS))
