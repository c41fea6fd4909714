"""Coresets: class-balanced subsets of the real images with one-hot labels, chosen, not
learned (`selection.py`): random, herding, k-center greedy."""
from tfkip.distill.methods import Method, register


class Coreset(Method):
    def __init__(self, name, title):
        self.name, self.title = name, title
        self.summary = f'{title} (one-hot labels)'

    def start(self, config, train, params):
        import jax.numpy as jnp
        from tfkip.distill.methods.coresets import selection
        from tfkip.distill.krr import centered_one_hot
        rows = selection.select(self.name, train.images, train.labels, train.num_classes,
                                config.images_per_class, config.seed, train.source)
        return dict(params, images=jnp.asarray(train.images[rows]),
                    labels=centered_one_hot(train.labels[rows], train.num_classes))

    def made_with(self, config):
        return None  # real images: no kernel made them


register(Coreset('random', 'a random class-balanced subset of the real images'))
register(Coreset('herding', 'a herding coreset of the real images'))
register(Coreset('kcenter', 'a k-center greedy coreset of the real images'))
