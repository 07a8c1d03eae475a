"""Architectures; importing this package registers them all."""

from models.architectures import efficientnet, resnet, shallow, vit

__all__ = ["efficientnet", "resnet", "shallow", "vit"]
