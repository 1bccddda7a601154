"""saescope's Python side: everything that touches a language model.

loading       model + tokenizer from a hub name, a local directory or a GGUF file
hooks         hook sites (block outputs, embeddings, any submodule); reading and replacing them
cache_writer  the activation-cache exporter (text mode)
statements    the exporter's statement (probe CSV) mode
cli           the exporter's command line (tools/export_activations.py)
protocol      the server's wire format
server        the model server saescope starts as a child process
bench         eval --model's model-side cost against a plain forward pass

Entry point: python -m saescope_model {export,serve,bench} ... (tools/ on PYTHONPATH).
"""
