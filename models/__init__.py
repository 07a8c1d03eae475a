"""Model definitions, heads, registry, model packs, backends and importers."""
