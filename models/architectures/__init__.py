"""Architectures; importing this package registers them all."""

from models.architectures import efficientnet, mbconv, resnet, shallow, vit

__all__ = ["efficientnet", "mbconv", "resnet", "shallow", "vit"]
