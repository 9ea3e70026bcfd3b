"""payprobe: an on-device network and environment probe for failed mobile payments."""

__version__ = "0.1.0"
