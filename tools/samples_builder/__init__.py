"""saescope's bundled-sample builder (tools/build_samples.py is its command line).

One module per step: `rdata` reads R's serialization format, `austen` the novels out of the Debian
package r-cran-janeaustenr and the text files made from them, `probe_statements` the probe CSVs,
`smollm2` where the model comes from, `exporting` runs tools/export_activations.py, `training`
trains the dictionaries with dictionary_learning's trainSAE, `saelens_copy` writes and checks the
SAELens-layout copy, `evaluation` measures them (dictionary_learning's evaluate, saescope eval),
`readme` writes samples/README.md, and `build` runs the steps in order.
"""
