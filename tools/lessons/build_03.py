"""Build lessons/03_activations.ipynb (run: .venv/bin/python -m tools.lessons.build_03)."""

from tools.nb import build, code, md

CELLS = [
    md(r"""
# 03 · Activations: what every layer computes

Between the pixels and the FC7 vector of lesson 02 lie the feature maps: at every layer,
for every channel, a small image saying *where* that channel's pattern was found. This
lesson shows every channel of a chosen layer for a chosen image, follows how the maps
shrink and multiply with depth, and asks which channels fire on the object and which on
the background.

## What you will learn
- what an activation (feature map) is, and how to read a grid of them;
- how to get the maps of any layers from one sub-model (`vislib.activations`) and draw
  them (`vislib.plot_activations`);
- how spatial size shrinks and channel count grows with depth;
- how sparse the maps are, and which channels fire on which parts of an image.
"""),
    md(r"""
## The idea

Layer $l$ turns the maps of layer $l-1$ into new maps,

$$A^{(l)} = f_l\big(A^{(l-1)}\big) \in \mathbb{R}^{h_l \times w_l \times k_l}, \qquad
A^{(l)}_{ij c} = \mathrm{ReLU}\Big(b_c + \sum_{u,v,c'} W^{(l)}_{uvc'c}\, A^{(l-1)}_{i+u,\,j+v,\,c'}\Big)$$

for a convolution (a max-pooling layer instead keeps the largest value of each 2x2 block,
halving $h$ and $w$). Channel $c$ of layer $l$ is the map $A^{(l)}_{::c}$: bright where
its pattern is present. Because of the ReLU, a zero means "not here". Each unit of a
deeper layer sees a larger window of the input (its *receptive field*, lesson 04), so
with depth the maps get coarser while the number of channels, the vocabulary of patterns,
grows.
"""),
    code(r"""
import keras

images, labels, names = vislib.examples(cm, 6)
vislib.show_images(images, titles=names, cols=6, size=1.6)
plt.show()

def is_relu(layer):   # layers whose output has gone through a ReLU: 0 means "silent"
    act = getattr(layer, "activation", None)
    return isinstance(layer, keras.layers.ReLU) or (act is keras.activations.relu and not isinstance(layer, keras.layers.Dense))

spatial = [l for l in cm.model.layers[1:] if len(l.output.shape) == 4]
relu_layers = [l.name for l in spatial if is_relu(l)]
pool_layers = [l.name for l in spatial if isinstance(l, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))]
layer_options = [l.name for l in spatial if l.name in relu_layers or l.name in pool_layers]
print(f"{len(spatial)} layers with feature maps; {len(layer_options)} of them are ReLU or pooling outputs")
"""),
    md(r"""
## By hand

The maps of an inner layer are the output of a smaller model: from the network's input
to that layer. Keras builds it from the layer's output tensor; we run it on one
preprocessed image.
"""),
    code(r"""
layer_name = relu_layers[min(1, len(relu_layers) - 1)]
sub = keras.Model(cm.model.inputs, cm.model.get_layer(layer_name).output)
maps_hand = np.asarray(sub(cm.preprocess(images[:1]), training=False))
print(f"{layer_name}: maps of shape {maps_hand.shape} = (images, height, width, channels)")
"""),
    md(r"""
## With vislib

`vislib.activations(model, images, layers)` returns a dict of maps for any list of
layers, all from *one* sub-model that is built once and cached (asking again, in any
order, reuses it). `vislib.plot_activations` draws every channel of one image as a grid,
each map scaled to its own range.
"""),
    code(r"""
acts = vislib.activations(cm, images[:1], [layer_name])
assert np.allclose(acts[layer_name], maps_hand, atol=1e-5)
fig = vislib.plot_activations(acts[layer_name][0], max_channels=64,
                              suptitle=f"{layer_name}: the first {min(64, maps_hand.shape[-1])} channels for '{names[0]}'")
plt.show()
"""),
    md(r"""
### Size shrinks, channels grow

The shapes of all feature maps, read from the model (no image needed):
"""),
    code(r"""
shapes = [(l.name, *[int(d) for d in l.output.shape[1:]]) for l in spatial]
rows = [s for s in shapes if s[0] in layer_options]
print(f"{'layer':<28s} {'h x w':>9s} {'channels':>9s} {'numbers':>10s}")
for name, h, w, k in rows[:: max(1, len(rows) // 20)]:
    print(f"{name:<28s} {f'{h}x{w}':>9s} {k:>9d} {h * w * k:>10,d}")

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot([h for _, h, _, _ in shapes], label="height = width")
ax.plot([k for _, _, _, k in shapes], label="channels")
ax.set_yscale("log", base=2); ax.set_xlabel("layer (input to output)"); ax.legend()
ax.set_title(f"{cm.name}: feature-map size and channel count with depth")
plt.show()
"""),
    md(r"""
### Which channels fire on which parts?

We take the object's box (the item's bounding box for Fashion-MNIST, the hand-drawn
box for the sample photos) and ask, for each channel of the first ReLU layer, what
fraction of its total activation lies inside the box. A channel that fires evenly would
score the box's share of the area; *object channels* score more, *background channels*
less.
"""),
    code(r"""
if cm.channels == 1:
    boxes = vislib.object_boxes(images)
else:
    samples = {s.name: s for s in vislib.sample_images(names)}
    boxes = [samples[n].boxes_at(cm.input_size)[0] if samples[n].boxes else (0, 0, *cm.input_size[::-1]) for n in names]

def box_masks(h, w):
    H, W = cm.input_size
    out = np.zeros((len(boxes), h, w), bool)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        out[i, int(y0 * h / H):int(np.ceil(y1 * h / H)), int(x0 * w / W):int(np.ceil(x1 * w / W))] = True
    return out

first = relu_layers[0]
A = vislib.activations(cm, images, [first])[first]                    # (N, h, w, k), all >= 0
mask = box_masks(*A.shape[1:3])
inside = (A * mask[..., None]).sum(axis=(0, 1, 2)) / np.maximum(A.sum(axis=(0, 1, 2)), 1e-9)
area = mask.mean()
order = np.argsort(inside)
print(f"{first}: the box covers {100 * area:.0f} % of the area; channels put "
      f"{100 * inside.min():.0f} % to {100 * inside.max():.0f} % of their activation inside it")

pick = list(order[-3:][::-1]) + list(order[:3])                      # 3 object channels, 3 background channels
fig, axes = plt.subplots(1, 6, figsize=(12, 2.3))
for ax, c in zip(axes, pick):
    ax.imshow(vislib.overlay(images[0], A[0, ..., c], alpha=0.6, cmap="inferno"))
    ax.set_title(f"ch {c}: {100 * inside[c]:.0f} % inside", fontsize=8); ax.axis("off")
fig.suptitle("left: channels that fire on the item; right: channels that fire around it (background, outline); image 0")
plt.show()
"""),
    md(r"""
## Explore

Choose an image (a new forward pass through one cached sub-model for all listed layers,
then cached), a layer and a channel (both redraw from the cache). The grid shows every
channel of the layer; the right panel shows the chosen channel over the image.
"""),
    code(r"""
cache = {}

def show_activations(image, layer, channel):
    i = names.index(image)
    if i not in cache:                                    # one forward pass per image, all layers at once
        if len(cache) >= 2:                               # keep the last two images (VGG16: 60 MB of maps each)
            cache.pop(next(iter(cache)))
        cache[i] = vislib.activations(cm, images[i:i + 1], layer_options)
    maps = cache[i][layer][0]
    c = channel % maps.shape[-1]
    fig = plt.figure(figsize=(13, 5.2))
    left, right = fig.subfigures(1, 2, width_ratios=[2.2, 1])
    vislib.plot_activations(maps, max_channels=64, size=0.75, fig=left,
                            suptitle=f"{layer}: {maps.shape[0]}x{maps.shape[1]}, {maps.shape[-1]} channels")
    ax = right.subplots()
    ax.imshow(vislib.overlay(images[i], maps[..., c], alpha=0.6, cmap="inferno")); ax.axis("off")
    ax.set_title(f"channel {c}: max {maps[..., c].max():.2f}, {100 * (maps[..., c] > 0).mean():.0f} % of positions active")
    plt.show()

vislib.explorer(show_activations, heavy=("image",),
                image=widgets.Dropdown(options=names, description="image"),
                layer=widgets.Dropdown(options=layer_options, value=layer_options[min(1, len(layer_options) - 1)],
                                       description="layer"),
                channel=widgets.IntSlider(min=0, max=max(s[-1] for s in shapes) - 1, value=0, description="channel"))
"""),
    md(r"""
## What to notice

- `vislib.activations` agrees with the hand-built sub-model, and asking for the same layers
  again (in any order) reuses the one sub-model.
- The maps shrink (pooling and strides) while the channels multiply.
- ReLU maps are *sparse*: most positions of most channels are exactly zero. In the trained
  offline model the deeper ReLU layer is sparser than the first (random weights show the
  opposite): deeper channels respond to more specific patterns.
- Channels specialise: with trained weights some first-layer channels fire mostly on the
  background, most on the item.
"""),
    code(r"""
from vislib import _graph

before = len(_graph._model_cache(cm.model))
again = vislib.activations(cm, images[:1], [layer_name])
assert len(_graph._model_cache(cm.model)) == before          # cached sub-model, nothing new built
assert np.array_equal(again[layer_name], acts[layer_name])

heights = [h for _, h, _, _ in rows]                        # the ReLU and pooling layers listed above
assert heights[-1] < heights[0] and rows[-1][-1] > rows[0][-1]
assert all(b <= a for a, b in zip(heights, heights[1:]))   # never grows (padding layers aside)

deep = relu_layers[-1]
deep_maps = vislib.activations(cm, images, [first, deep])
sparsity = {n: float((m <= 0).mean()) for n, m in deep_maps.items()}
print("fraction of zeros:", {n: round(s, 2) for n, s in sparsity.items()})
if cm.weights == "trained":                                   # checked on the offline model
    assert sparsity[deep] > sparsity[first]
    assert inside.min() < area < np.median(inside)            # background channels exist; most fire on the item
"""),
    md(r"""
## Exercises

1. How many numbers does the layer `layer_name` produce for one image? Set `n_numbers`.
2. Which channel of `first` has the largest total activation on image 0? Set `strongest`.
3. By what factor does the height shrink from the first to the last ReLU / pooling layer
   in the table above? Set `shrink` (a number, e.g. 8.0).
"""),
    code(r"""
n_numbers = None   # your answer
strongest = None   # your answer
shrink = None      # your answer

vislib.check(n_numbers, int(np.prod(acts[layer_name].shape[1:])), hint="h * w * channels", name="1. numbers")
vislib.check(strongest, int(A[0].sum(axis=(0, 1)).argmax()), hint="A[0].sum(axis=(0, 1)).argmax()",
             name="2. strongest channel")
vislib.check(shrink, heights[0] / heights[-1], hint="heights[0] / heights[-1]", name="3. shrink factor");
"""),
    md(r"""
## Summary

- A layer's activations are a stack of maps, one per channel; `vislib.activations` returns
  them for any layers from one cached sub-model, `vislib.plot_activations` draws them.
- With depth, maps get coarser and channels more numerous; trained ReLU maps get sparser.
- Looking at where channels fire shows specialisation (object, background, outline), but a
  single image says little about what a channel *means*: lesson 04 searches a whole dataset
  for the patches that excite a unit most.

## References

- M. Zeiler, R. Fergus. *Visualizing and Understanding Convolutional Networks.* ECCV 2014.
- J. Yosinski, J. Clune, A. Nguyen, T. Fuchs, H. Lipson. *Understanding Neural Networks Through Deep Visualization.* ICML Deep Learning Workshop 2015.
- K. Simonyan, A. Zisserman. *Very Deep Convolutional Networks for Large-Scale Image Recognition.* ICLR 2015.
- C. Olah, A. Mordvintsev, L. Schubert. *Feature Visualization.* Distill, 2017.
"""),
]

if __name__ == "__main__":
    print(build("lessons/03_activations.ipynb", CELLS))
