"""Everything that is only there for speed; nothing here defines an equation.

- `backend`: the one switch (`set_kernels`, ``REF_CNN_KERNELS``) and the table of
  implementations every multi-implementation op dispatches through;
- tuned NumPy kernels (`conv_numpy`, `pool_numpy`) and compiled ones (`conv_numba`,
  `passes_numba`, optional);
- the runtime under them: `threads`, `products` (BLAS calls), `scratch` (work buffers).

The public ops in `ref_cnn.functional` are the definition; the tests hold every kernel here
equal to them (docs/design.md has the measurements behind each choice).
"""
