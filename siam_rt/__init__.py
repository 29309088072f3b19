"""siam-rt: a real-time instrument built on the Sparse Interpretable Audio Model (SIAM).

Importing this package is cheap: it pulls in no model, audio or torch code. Subpackages load what they need.
"""

__version__ = "0.1.0"
