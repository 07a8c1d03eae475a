"""Characters no model knows: similar images, near-duplicates, clusters, few-shot recognition.

Everything here reads the embeddings the tagging engine stores (float16, per pack) and the
thumbnails the scan makes; nothing here runs a model.
"""
