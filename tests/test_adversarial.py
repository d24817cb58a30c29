"""FGSM (Goodfellow et al. 2015), iterative FGSM (Kurakin et al. 2017),
success rates and cross-model transfer tables."""

from __future__ import annotations

import numpy as np
import pytest

import vislib
from vislib.adversarial.attacks import TransferTable, attack_success, fgsm, iterative_fgsm, loss_gradients, transfer_table
from conftest import course_from, tiny_cnn


def _xent(course, x, y):
    p = course.predict(x)
    return -np.log(np.maximum(p[np.arange(len(y)), y], 1e-30))


@pytest.fixture(scope="module")
def correct(fashion, fashion_data):
    """200 test items the trained model classifies correctly."""
    x, y = fashion_data.test
    x, y = x[:300, :, :, None].astype("float32"), y[:300].astype(int)
    ok = fashion.predict(x).argmax(1) == y
    return x[ok][:200], y[ok][:200]


def test_fgsm_raises_the_loss(fashion, correct):
    x, y = correct[0][:40], correct[1][:40]
    adv = fgsm(fashion, x, y, epsilon=4)
    before, after = _xent(fashion, x, y), _xent(fashion, adv, y)
    assert after.mean() > before.mean()
    assert np.mean(after > before) >= 0.9, np.mean(after > before)


def test_targeted_fgsm_lowers_the_loss_of_the_target(fashion, correct):
    x = correct[0][:40]
    target = np.full(len(x), 8)  # "Bag"
    adv = fgsm(fashion, x, target, epsilon=4, targeted=True)
    assert _xent(fashion, adv, target).mean() < _xent(fashion, x, target).mean()
    strong = iterative_fgsm(fashion, x, target, epsilon=40, steps=10, targeted=True)
    assert attack_success(fashion, x, strong, target, targeted=True) > 0.5


@pytest.mark.parametrize("attack", [fgsm, iterative_fgsm])
@pytest.mark.parametrize("eps", [0.5, 8.0, 60.0])
def test_perturbation_stays_in_the_ball_and_the_pixel_range(fashion, correct, attack, eps):
    x = correct[0][:20]
    adv = attack(fashion, x, epsilon=eps)
    assert adv.shape == x.shape and adv.dtype == np.float32
    assert np.abs(adv - x).max() <= eps + 1e-3
    assert adv.min() >= 0.0 and adv.max() <= 255.0
    # Fashion-MNIST is mostly black: without clipping half of those pixels would go below 0
    assert np.abs(adv - x).max() >= min(eps, 1.0) * 0.999
    assert (x == 0).any() and not (adv < 0).any()


def test_zero_epsilon_changes_nothing_and_labels_default_to_top1(fashion, correct):
    x = correct[0][:10]
    assert np.array_equal(fgsm(fashion, x, epsilon=0), x)
    top = fashion.predict(x).argmax(1)
    assert np.array_equal(fgsm(fashion, x, epsilon=6), fgsm(fashion, x, top, epsilon=6))


def test_fgsm_is_one_signed_gradient_step(fashion, correct):
    x, y = correct[0][:5], correct[1][:5]
    g, _, _ = loss_gradients(fashion, x, y)
    want = np.clip(x + 10 * np.sign(g), 0, 255)
    np.testing.assert_allclose(fgsm(fashion, x, y, epsilon=10), want, atol=1e-4)


def test_loss_gradient_matches_finite_differences():
    course = course_from(tiny_cnn(size=8, channels=1, classes=3, seed=1), pixel_range=(0.0, 1.0))
    x = np.random.default_rng(0).uniform(0.2, 0.8, (1, 8, 8, 1)).astype("float32")
    y = np.array([2])
    g, loss, _ = loss_gradients(course, x, y)
    h = 1e-2
    for pos in [(0, 2, 3, 0), (0, 5, 1, 0), (0, 7, 7, 0)]:
        up, down = x.copy(), x.copy()
        up[pos] += h
        down[pos] -= h
        fd = (_xent(course, up, y) - _xent(course, down, y))[0] / (2 * h)
        assert abs(fd - g[pos]) <= 1e-3 + 0.05 * abs(fd)


def test_success_rate_rises_with_epsilon_and_iterative_is_at_least_as_strong(fashion, correct):
    x, y = correct
    rates = [attack_success(fashion, x, fgsm(fashion, x, y, epsilon=e), y) for e in (2, 8, 20)]
    assert rates[0] <= rates[1] <= rates[2], rates
    single = rates[2]
    multi = attack_success(fashion, x, iterative_fgsm(fashion, x, y, epsilon=20, steps=10), y)
    assert single >= 0.5, f"FGSM at epsilon=20 flips only {single:.2f} of correctly classified items"
    assert multi >= single, (multi, single)


def test_attack_success_counts_only_correct_images(fashion, fashion_data):
    x, y = fashion_data.test
    x, y = x[:300, :, :, None].astype("float32"), y[:300].astype(int)
    pred = fashion.predict(x).argmax(1)
    wrong = np.flatnonzero(pred != y)[:3]
    right = np.flatnonzero(pred == y)[:3]
    idx = np.concatenate([wrong, right])
    # showing the clean images again: nothing flips among the correct ones
    assert attack_success(fashion, x[idx], x[idx], y[idx]) == 0.0
    assert attack_success(fashion, x[idx], x[idx]) == 0.0
    assert np.isnan(attack_success(fashion, x[wrong], x[wrong], y[wrong]))


def test_transfer_table_offline(fashion, fashion_gap, correct):
    x, y = correct[0][:100], correct[1][:100]
    table = transfer_table(fashion, {"fashion_gap": fashion_gap}, x, [0, 8, 25], labels=y)
    assert isinstance(table, TransferTable)
    assert table.success.shape == (3, 2) and table.models[1] == "fashion_gap"
    assert np.all(table.success[0] == 0)  # epsilon 0: the clean images
    assert table.success[2, 0] == pytest.approx(attack_success(fashion, x, fgsm(fashion, x, y, epsilon=25), y))
    assert np.all(np.diff(table.success[:, 0]) >= 0)
    assert table.success[2, 0] > table.success[2, 1]  # the white-box attack is the stronger one
    assert table.success[2, 1] > 0.1  # but it does transfer to another architecture
    md = table.to_markdown()
    assert md.count("\n") == 4 and "fashion_gap" in md
    assert set(table.as_dict()) == set(table.models)


def test_caller_model_is_not_mutated(fashion, correct):
    before = [w.copy() for w in fashion.model.get_weights()]
    iterative_fgsm(fashion, correct[0][:5], epsilon=8, steps=2)
    assert all(np.array_equal(a, b) for a, b in zip(before, fashion.model.get_weights()))


def test_bad_inputs_raise(fashion, fashion_gap, correct):
    x = correct[0][:2]
    with pytest.raises(ValueError, match="epsilon"):
        fgsm(fashion, x, epsilon=-1)
    with pytest.raises(ValueError, match="epsilon"):
        fgsm(fashion, x, epsilon=300)
    with pytest.raises(ValueError, match="steps"):
        iterative_fgsm(fashion, x, epsilon=4, steps=0)
    with pytest.raises(ValueError, match="targeted"):
        fgsm(fashion, x, epsilon=4, targeted=True)
    with pytest.raises(ValueError, match="out of range"):
        fgsm(fashion, x, labels=[0, 12], epsilon=4)
    with pytest.raises(ValueError, match="method"):
        transfer_table(fashion, [fashion_gap], x, [4], method="pgd")
    with pytest.raises(ValueError):
        transfer_table(fashion, [], x, [4])
    with pytest.raises(ValueError, match="range"):
        fgsm(fashion, x * 2.0 + 1, epsilon=4)


@pytest.mark.parametrize("name", ["vgg16_random", "mobilenet_random", "resnet_random"])
def test_runs_on_imagenet_architectures(name, request):
    course = request.getfixturevalue(name)
    x = vislib.examples(course, 1)[0]
    adv = fgsm(course, x, epsilon=4)
    adv2 = iterative_fgsm(course, x, epsilon=4, steps=2)
    for a in (adv, adv2):
        assert a.shape == x.shape
        assert np.abs(a - x).max() <= 4 + 1e-3 and a.min() >= 0 and a.max() <= 255
    assert np.abs(adv - x).max() > 0  # a real gradient flowed through the preprocessing


# ------------------------------------------------ on the real ImageNet network (EfficientNet-Lite0, offline)
def test_loss_gradient_matches_finite_differences_on_the_real_network(lite0, lite0_photos):
    # through (x - 127) / 128, BatchNorm, ReLU6, depthwise convs and residual adds, in display pixels. Single
    # pixels are a poor check here: the most sensitive ones sit on kinks (their difference quotient moves by
    # 60 % between h = 2 and h = 0.02), so compare directional derivatives instead. Along FGSM's own direction
    # sign(g) the derivative is sum |g| (measured 9.335 against 9.326 at h = 0.001), along a random r it is g . r.
    x = lite0_photos[0][5:6]                       # the flower (daisy 0.29: the loss is not saturated)
    y = lite0.predict(x).argmax(1)
    g, loss, _ = loss_gradients(lite0, x, y)
    np.testing.assert_allclose(loss, _xent(lite0, x, y), rtol=1e-4)
    h = 1e-3
    r = np.random.default_rng(0).normal(size=x.shape).astype("float32")
    # tolerances: measured 0.1 % along sign(g) and 4.5 % along r (a 70 times smaller derivative)
    for d, want, rtol in ((np.sign(g), float(np.abs(g).sum()), 0.01), (r, float((g * r).sum()), 0.1)):
        fd = (loss_gradients(lite0, x + h * d, y)[1] - loss_gradients(lite0, x - h * d, y)[1])[0] / (2 * h)
        assert abs(fd - want) <= rtol * abs(want), (fd, want)


def test_one_grey_level_flips_real_photos_where_random_noise_does_not(lite0, lite0_photos):
    # measured: FGSM at epsilon 1 flips 5 of the 6 photos (all but the espresso, 0.96), random +-1 noise
    # 1 or 2 (the two photos whose top-2 classes are nearly tied), 3-step iterative FGSM all 6
    images = lite0_photos[0]
    top = lite0.predict(images).argmax(1)
    flips = int((lite0.predict(fgsm(lite0, images, epsilon=1)).argmax(1) != top).sum())
    rng = np.random.default_rng(0)
    random_flips = [int((lite0.predict(np.clip(images + rng.choice([-1.0, 1.0], images.shape), 0, 255)).argmax(1)
                         != top).sum()) for _ in range(3)]
    assert flips >= 4 and flips >= max(random_flips) + 2, (flips, random_flips)
    strong = iterative_fgsm(lite0, images, epsilon=1, steps=3)
    assert attack_success(lite0, images, strong) == 1.0


# ------------------------------------------- known answers (mutation survivors, issue 25)
def _linear_softmax(seed=1, scale=0.01):
    from test_known_answers import _linear_net
    model, w, b = _linear_net((4, 5, 3), classes=3, seed=seed, scale=scale)
    return course_from(model, pixel_range=(0.0, 255.0)), w, b


def _xent_grad_by_hand(w, b, x, y):
    """Linear softmax: z = <x, W_c> + b_c, so d CE / d x = sum_c W[..., c] (p_c - [c == y]) per image."""
    from test_known_answers import _softmax
    z = np.einsum("nhwk,hwkc->nc", x.astype(np.float64), w) + b
    p = _softmax(z)
    p[np.arange(len(y)), y] -= 1.0
    return np.einsum("hwkc,nc->nhwk", w, p), -np.log(_softmax(z)[np.arange(len(y)), y])


def test_loss_gradients_of_a_batch_are_each_images_own_gradient():
    """Three images in ONE batch: each image's gradient is that of its own loss (the batch loss is
    the SUM of the per-image losses). Kills: the batch loss taken as the mean (gradients / N)."""
    course, w, b = _linear_softmax()
    x = np.random.default_rng(2).uniform(0, 255, (3, 4, 5, 3)).astype("float32")
    y = np.array([0, 2, 1])
    want, want_loss = _xent_grad_by_hand(w, b, x, y)
    g, loss, _ = loss_gradients(course, x, y)
    assert g.shape == x.shape
    scale = np.abs(want).max()   # float32 network vs float64 numpy: ~1e-6 relative, 1e-4 leaves a margin
    np.testing.assert_allclose(g, want, atol=1e-4 * scale)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-4, atol=1e-5)
    assert np.abs(want / 3 - want).max() > 100 * 1e-4 * scale         # the mean's answer is far off


def _iterative_by_hand(w, b, x, y, eps, steps, alpha):
    adv = x.astype(np.float64)
    for _ in range(steps):
        g, _ = _xent_grad_by_hand(w, b, adv, y)
        adv = np.clip(np.clip(adv + alpha * np.sign(g), x - eps, x + eps), 0, 255)
    return adv


def test_iterative_fgsm_default_step_is_2_5_epsilon_over_steps():
    """Kurakin et al.'s basic iterative method written out in numpy on a linear 3-class softmax,
    where the gradient's sign changes along the path, so the result depends on the step size.
    Kills: another default step size (e.g. 3.5 eps / steps)."""
    # scale 0.003: the sign changes for some pixels; the smallest |gradient| along the path is
    # 3e-5 of the largest, far above float32 rounding, so the signs agree with float64
    course, w, b = _linear_softmax(seed=1, scale=0.003)
    x = np.random.default_rng(3).uniform(60, 190, (4, 4, 5, 3)).astype("float32")
    y = np.array([0, 1, 2, 0])
    eps, steps = 8.0, 10
    want = _iterative_by_hand(w, b, x, y, eps, steps, 2.5 * eps / steps)
    other = _iterative_by_hand(w, b, x, y, eps, steps, 3.5 * eps / steps)
    assert np.abs(other - want).max() >= 0.8 - 1e-6                   # some pixel ends a step apart
    got = iterative_fgsm(course, x, y, epsilon=eps, steps=steps)
    # values are x +- multiples of 2 (float32 sums of exact steps): 1e-3 absorbs the rounding only
    np.testing.assert_allclose(got, want, atol=1e-3)
