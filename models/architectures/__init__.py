"""Architectures; importing this package registers them all."""

from models.architectures import efficientnet, mbconv, resnet, shallow, vilt, vit

__all__ = ["efficientnet", "mbconv", "resnet", "shallow", "vilt", "vit"]
