"""`kip_digits`: scikit-learn's 8x8 handwritten digits distilled with KIP."""
