"""TFDS builders of distilled datasets; importing `tfds_builders.kip_<name>` registers one."""
