"""Transfer learning (Yosinski et al. 2014): a new head on the profile's frozen
conv stack, fine-tuning, the from-scratch baseline, the digits task."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import vislib
from vislib import transfer


@pytest.fixture(scope="module")
def task(fashion):
    return transfer.digits(fashion, per_class=10, val_per_class=5, test_per_class=50)


@pytest.fixture(scope="module")
def result(fashion, task):
    before = [w.copy() for w in fashion.model.get_weights()]
    r = transfer.train(fashion, task["train"], task["val"], task["test"], task["class_names"],
                       epochs=3, fine_tune_epochs=0)
    return r, before


def test_digits_task_is_stratified_and_valid(fashion, task):
    x, y = task["train"]
    assert x.shape == (100, 28, 28, 1) and x.dtype == np.float32
    assert np.bincount(y, minlength=10).tolist() == [10] * 10
    assert task["test"][0].shape[0] == 500 and task["val"][0].shape[0] == 50
    assert x.min() >= 0 and x.max() <= 255 and x.max() > 200
    assert np.unique(np.concatenate([task["train"][1], task["test"][1]])).tolist() == list(range(10))


def test_transfer_beats_scratch_with_few_labels(result):
    r, _ = result
    acc = r.test_accuracy
    # measured 0.76 vs 0.50 (10 labels per class, 3 epochs); demand a clear margin
    assert acc["transfer"] > acc["scratch"] + 0.1, acc
    assert acc["transfer"] > 0.5, acc
    for h in r.histories.values():
        assert len(h["accuracy"]) == 3 and "val_accuracy" in h


def test_frozen_base_is_unchanged_and_the_caller_model_untouched(fashion, result):
    r, before = result
    assert all(np.array_equal(a, b) for a, b in zip(before, fashion.model.get_weights()))
    net = r.transfer.model
    for name in ("block1_conv1", "block2_conv1"):
        for a, b in zip(net.get_layer(name).get_weights(), fashion.model.get_layer(name).get_weights()):
            assert np.array_equal(a, b), name
        assert net.get_layer(name) is not fashion.model.get_layer(name)  # new layers, never shared
    # the head did learn, and the scratch network does not start from the trained weights
    scratch_w = r.scratch.model.get_layer("block1_conv1").get_weights()[0]
    assert not np.allclose(scratch_w, fashion.model.get_layer("block1_conv1").get_weights()[0])


def test_fine_tuning_changes_only_the_last_block(fashion, task):
    r = transfer.train(fashion, task["train"], None, None, epochs=1, fine_tune_epochs=1, scratch=False)
    assert r.fine_tuned == ["block2_conv1"] and r.fine_tune_from == 1
    net = r.transfer.model
    assert np.array_equal(net.get_layer("block1_conv1").get_weights()[0],
                          fashion.model.get_layer("block1_conv1").get_weights()[0])
    assert not np.array_equal(net.get_layer("block2_conv1").get_weights()[0],
                              fashion.model.get_layer("block2_conv1").get_weights()[0])
    assert len(r.histories["transfer"]["loss"]) == 2 and r.scratch is None


def test_the_transfer_model_works_with_gradcam(result, task):
    r, _ = result
    x = task["test"][0][:3]
    maps = vislib.gradcam(r.transfer, x)
    assert maps.shape == (3, 28, 28) and r.transfer.last_conv == "block2_conv1"
    assert r.transfer.class_names == [str(c) for c in range(10)]


def test_plot_histories(result):
    import matplotlib.pyplot as plt
    r, _ = result
    fig = transfer.plot_histories(r.histories, fine_tune_from=2)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) >= 4
    plt.close(fig)
    with pytest.raises(ValueError, match="metric"):
        transfer.plot_histories(r.histories, metrics=("precision",))


def test_bad_inputs_raise(fashion, task):
    with pytest.raises(ValueError, match="pooling"):
        transfer.build(fashion, 10, pooling="max")
    with pytest.raises(ValueError, match="base layer"):
        transfer.build(fashion, 10, base="fc7")
    with pytest.raises(ValueError, match="labels"):
        transfer.train(fashion, (task["train"][0], task["train"][1][:5]), epochs=1)
    with pytest.raises(ValueError, match="per_class"):
        transfer.digits(fashion, per_class=0)
    with pytest.raises(ValueError, match="channel"):
        transfer.train(fashion, (np.zeros((4, 28, 28, 3)), np.arange(4)), epochs=1)


@pytest.mark.parametrize("name, base", [("vgg16_random", "block5_pool"), ("mobilenet_random", "out_relu"),
                                        ("resnet_random", "conv5_block3_out")])
def test_builds_flat_on_imagenet_architectures(name, base, request):
    course = request.getfixturevalue(name)
    net = transfer.build(course, 5)
    assert transfer.base_layer(course) == base
    assert not any(isinstance(layer, keras.Model) for layer in net.layers)  # no nested base (FACTS.md)
    assert net.get_layer(base) is not course.model.get_layer(base)
    frozen = [l for l in net.layers if l.weights and not l.name.startswith(("head_", "predictions"))]
    assert frozen and not any(l.trainable for l in frozen)
    x = transfer.digits(course, per_class=1, val_per_class=0, test_per_class=1)["test"][0][:1]
    assert x.shape == (1, 224, 224, 3)
    probs = net(np.asarray(course.preprocess(x)), training=False)
    assert probs.shape == (1, 5)
    assert transfer.last_block(net, base)  # something to fine-tune


def test_head_trained_on_cached_features_is_the_networks_own_head(fashion, result):
    # train() fits the head on the frozen base's outputs, computed once; the head model must
    # share the network's layers, so that what it learned is what the network predicts with
    r, _ = result
    net, base = r.transfer.model, r.base
    head = transfer._head(net, base)
    for layer in head.layers[1:]:
        assert layer is net.get_layer(layer.name)
    x = np.asarray(fashion.preprocess(np.random.default_rng(0).uniform(0, 255, (6, 28, 28, 1))), np.float32)
    feats = transfer._stack_outputs(net, base, x, batch_size=4, show=False, desc="")
    assert feats.shape == (6, *net.get_layer(base).output.shape[1:])
    np.testing.assert_allclose(np.asarray(head(feats, training=False)), np.asarray(net(x, training=False)),
                               atol=1e-5)


def test_training_batch_size_follows_model_size(fashion, vgg16_random, mobilenet_random):
    sizes = {c.name: transfer.train_batch_size(c) for c in (fashion, mobilenet_random, vgg16_random)}
    assert sizes[fashion.name] == 16
    # 224x224 photos through VGG16 / MobileNetV2 (expanded 6x inside each block) hold far
    # more activations per image than a 28x28 Fashion-MNIST item: smaller batches, never below 4
    assert all(4 <= sizes[c.name] < 16 for c in (vgg16_random, mobilenet_random)), sizes
    # the estimate is cached per budget, not once per model
    assert vislib._graph.batch_size_for(vgg16_random.model, 64) < vislib._graph.batch_size_for(vgg16_random.model, 4096)
