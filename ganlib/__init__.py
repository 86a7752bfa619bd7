"""ganlib: the reusable code of the GAN course, one module per concept.

``data`` (datasets), ``models`` (generators and discriminators), ``losses`` (GAN losses on
logits), ``metrics`` (measuring a GAN), ``training`` (the training algorithm of §3.1) and
``viz`` (pictures). Import the module you need, e.g. ``from ganlib import data, models``;
importing ``ganlib`` alone loads none of them.
"""

__version__ = "0.1.0"
