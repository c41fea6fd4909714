"""tfkip: dataset distillation (KIP, Label Solve) for the TensorFlow / Keras / JAX stack.

Also serves as Beam's `--setup_file` for remote workers.
"""
import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    with open(os.path.join(HERE, 'tfkip', 'version.py')) as f:
        namespace = {}
        exec(f.read(), namespace)  # pylint: disable=exec-used
        return namespace['__version__']


# Pinned to one set known to work together on Python 3.11 (CPU and CUDA hosts).
INSTALL_REQUIRES = [
    'jax==0.10.2',
    'neural-tangents==0.6.5',  # imported only through tfkip/_nt_compat.py
    'optax==0.2.8',
    'numpy>=2.0,<2.5',
    'scipy>=1.13',
    'pillow>=10',
    'tqdm>=4.66',
    'tensorflow==2.21.0',
    'tensorflow-datasets==4.9.10',
    'keras==3.15.1',
    'apache-beam[tfrecord]==2.77.0',
    'google-crc32c>=1.5',  # TFRecord checksums: Beam falls back to ~70x slower crcmod
    'scikit-learn==1.9.1',  # the quick start's `sklearn:digits` source ships inside it
    'matplotlib==3.11.2',  # the run report's figures
    # Used by TFDS but not declared by it: building datasets, and its CLI.
    'importlib_resources>=6',
    'mlcroissant>=1.0',
]

EXTRAS_REQUIRE = {
    # dill: needed by tfds.testing.DatasetBuilderTestCase, undeclared by TFDS; pytest-xdist
    # runs the suite on both cores (pytest.ini); distributed: the Dask cluster on which a
    # test measures why Beam's DaskRunner is refused; kfp: the components' local run.
    'test': ['pytest>=8', 'pytest-xdist>=3.5', 'dill>=0.3.8', 'dask[distributed]==2026.8.0',
             'kfp==2.17.3'],
    # The stages as Kubeflow Pipelines components (tfkip/pipeline/kubeflow.py).
    'kfp': ['kfp==2.17.3'],
    # Benchmarks only: other projects' code run beside tfkip (benchmarks/peers/), best in an
    # environment of its own (docs/benchmarks.md).
    'peers': ['torch==2.14.1', 'torchvision==0.29.1'],
}

setuptools.setup(
    name='tfkip',
    version=version(),
    description='Dataset distillation with infinitely wide networks (KIP, Label Solve) '
                'for TensorFlow, Keras and JAX',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.11',
    # tfds_builders: the kip_* TFDS builder folders (`tfkip publish` imports them).
    packages=setuptools.find_packages(include=['tfkip', 'tfkip.*', 'tfds_builders',
                                               'tfds_builders.*']),
    package_data={'tfds_builders': ['*/*.md', '*/*.bib', '*/*.txt', '*/*.tsv',
                                    '*/dummy_data/*']},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={'console_scripts': ['tfkip = tfkip.cli:main']},
)
