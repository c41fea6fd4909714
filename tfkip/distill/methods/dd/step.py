"""Dataset distillation (Wang, Zhu, Torralba, Efros, 2018) as a pure `init` / `update` pair.

The synthetic set (x_s, y_s) and one step size per inner step are learned so that a finite
network trained on the set for K steps of full-batch gradient descent,

    theta_{k+1} = theta_k - softplus(rho_k) * grad L_inner(theta_k),   k = 0 .. K-1,
    L_inner(theta) = mean_s cross_entropy(softmax(C * y_s), f(theta; x_s)),

classifies real data: the outer loss is the cross-entropy of f(theta_K; x_t) on a real target
batch, differentiated through all K steps with JAX. The labels y_s are kept in the project's
centered one-hot form; softmax(C * y_s) turns them, learned or not, into a distribution
(0.9996 on the class for fixed labels, C = 10). With `random_init`, theta_0 is drawn afresh
every outer step (from `fold_in(key(seed), step)`), so the set must train any network of the
family; otherwise one theta_0 (from `key(seed)`) serves every step, the paper's fixed-init
setting, where the set is tied to that initialisation.

Memory: the K steps run in `lax.scan`, each under `jax.checkpoint`, so the backward pass keeps
the K + 1 parameter vectors theta_k and recomputes one step's activations at a time instead of
storing all K steps' activations on the synthetic set: memory grows as K * |theta| (a depth-3,
width-32 ConvNet on MNIST: 21k floats per step) plus one step's activations. Compute still
grows as K (about three network passes over x_s per inner step), which is what limits K:
tens of steps, as in the paper, not thousands.

The pair is an `optimizer.loss_pair`, run by the shared training loop; the jitted step runs on
whatever devices its inputs are on (no explicit sharding: the synthetic set is small and the target
batch is split by XLA when it arrives sharded).
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tfkip.distill.distributed import batch_mean
from tfkip.distill.optimizer import frozen, loss_pair
from tfkip.kernels.architectures import ARCHITECTURES

LEARNABLE = ('images', 'labels', 'raw_step_sizes')


class Network(NamedTuple):
    """The finite network DD trains: a stax architecture at a finite width.

    architecture: 'fc' or 'convnet'; depth: hidden layers or conv blocks; width: hidden
    units or channels; W_std, b_std: the initialisation (NTK parameterisation).
    """
    architecture: str = 'convnet'
    depth: int = 3
    width: int = 32
    W_std: float = 2 ** 0.5
    b_std: float = 0.1

    def stax(self, num_classes):
        """`(init_fn, apply_fn, kernel_fn)` of this network with `num_classes` outputs."""
        return ARCHITECTURES[self.architecture].stax(self.depth, num_classes=num_classes,
                                                     width=self.width, W_std=self.W_std,
                                                     b_std=self.b_std)


def raw_step_sizes(step_size, inner_steps):
    """rho: [inner_steps] float32 with softplus(rho) = step_size, the initial step sizes."""
    return jnp.full([inner_steps], jnp.log(jnp.expm1(jnp.float32(step_size))))


def target_distribution(labels):
    """labels: [S, C] (centered one-hot, or learned) -> [S, C] softmax(C * labels): a
    distribution for any labels, and 0.9996 on the class for centered one-hot ones (C=10)."""
    return jax.nn.softmax(labels * labels.shape[-1], axis=-1)


def unrolled_training(apply_fn, theta, images, labels, raw_steps):
    """theta after len(raw_steps) gradient steps on L_inner over (images [S, H, W, C],
    labels [S, C]), step k of size softplus(raw_steps[k]); each step rematerialised."""
    targets = target_distribution(labels)

    def inner_loss(theta):
        return jnp.mean(optax.softmax_cross_entropy(apply_fn(theta, images), targets))

    @jax.checkpoint
    def step(theta, raw_step):
        grads = jax.grad(inner_loss)(theta)
        return jax.tree.map(lambda p, g: p - jax.nn.softplus(raw_step) * g, theta, grads), None

    return jax.lax.scan(step, theta, raw_steps)[0]


def dd(network, num_classes, image_shape, *, learning_rate, learn=('images', 'raw_step_sizes'),
       random_init=True, seed=0, factor=1):
    """Builds the DD init/update pair.

    Args:
      network: the `Network` trained in the inner loop.
      num_classes: C, its output width.
      image_shape: (H, W, C_in) of the images.
      learning_rate: Adam step size of the outer loop (a float or an optax schedule).
      learn: which of `LEARNABLE` to learn.
      random_init: a fresh theta_0 every outer step (else one fixed theta_0).
      seed: seeds the initialisations.
      factor: multi-formation of the stored support set (`tfkip.distill.formation`).

    Returns:
      A `Pair` over `optimizer.State` with params {'images': [S, H, W, C] float32,
      'labels': [S, C] float32, 'raw_step_sizes': [K] float32}; `update(state, x_t, y_t,
      weights=None) -> (state, {'loss', 'accuracy'})` (targets y_t centered one-hot).
    """
    unknown = set(learn) - set(LEARNABLE)
    if unknown:
        raise ValueError(f'cannot learn {sorted(unknown)}; choose from {LEARNABLE}')
    init_fn, apply_fn, _ = network.stax(num_classes)
    def outer_loss(params, target_images, target_labels, target_weights, key):
        params = frozen(params, learn)
        _, theta = init_fn(key, (-1,) + tuple(image_shape))
        theta = unrolled_training(apply_fn, theta, params['images'], params['labels'],
                                  params['raw_step_sizes'])
        logits = apply_fn(theta, target_images)
        one_hot = target_labels + 1.0 / num_classes
        return batch_mean(optax.softmax_cross_entropy(logits, one_hot),
                          jnp.argmax(logits, -1) == jnp.argmax(one_hot, -1), target_weights)

    key = jax.random.key(seed)
    return loss_pair(outer_loss, learning_rate, learn,
                     lambda step: jax.random.fold_in(key, step) if random_init else key, factor)


def fresh_network_accuracy(network, num_classes, params, images, labels, keys, chunk=1000):
    """DD's own yardstick: test accuracy of networks initialised from `keys`, each trained by
    the learned inner loop (the K learned step sizes) on the distilled set.

    Args:
      network, num_classes: as for `dd`.
      params: the learned {'images', 'labels', 'raw_step_sizes', ...}.
      images: [N, H, W, C] float32 test images; labels: [N] int.
      keys: PRNG keys, one network each.
      chunk: test images per forward pass (bounds memory).

    Returns:
      [len(keys)] float accuracies.
    """
    init_fn, apply_fn, _ = network.stax(num_classes)

    train = jax.jit(lambda key: unrolled_training(
        apply_fn, init_fn(key, (-1,) + images.shape[1:])[1], params['images'],
        params['labels'], params['raw_step_sizes']))
    predict = jax.jit(lambda theta, x: jnp.argmax(apply_fn(theta, x), -1))
    accuracies = []
    for key in keys:
        theta = train(key)
        predictions = np.concatenate([np.asarray(predict(theta, images[i:i + chunk]))
                                      for i in range(0, len(images), chunk)])
        accuracies.append(float(np.mean(predictions == labels)))
    return accuracies
