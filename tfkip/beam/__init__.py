"""The Beam stage: preprocessing statistics and preprocessed TFRecord shards at scale
(`preprocess.py`), read back by `tfkip.sources.Prepared`."""
