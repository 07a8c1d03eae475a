"""Model definitions, heads, registry, model packs, backends and importers.

Imports neither the app nor training. Modules (import what you need; nothing is loaded here):

- registry / config / base / heads / architectures: ``create_model``, ``ModelConfig``,
  ``AnimesionModel``, the linear and IFA heads, and the registered CNNs and ViTs.
- pack (+ spec, labels, pack_checks, safetensors_header, safezip): model packs, validated on
  load and installed safely.
- preprocess / backends / device: ``open_predictor(pack)`` for the torch, onnx and hf backends.
- importers: Animesion checkpoints, WD tagger folders, Hugging Face classifiers -> packs.
"""
