"""Every file tfkip writes, one module each with its writer and its typed reader:

    preprocess_stats.py  the preprocessing statistics (`stats.npz`, `.preprocess.npz`,
                         `preprocessing.npz`) <-> PreprocessStats
    prepared.py          the Beam stage's folder: manifest, statistics, TFRecord examples
    distilled_set.py     the distilled-set artifact: `.npz` + JSON sidecar (+ statistics)
                         <-> DistilledSet
    checkpoint.py        a training state pytree + its JSON metadata

and the one it reads from other tools:

    external_set.py      a set another tool made: `.npz` of images, labels and the tool's
                         normalization -> (DistilledSet, PreprocessStats)
"""
