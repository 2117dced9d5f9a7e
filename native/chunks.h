// A contiguous CPU tensor walked in chunks on libtorch's threads, each chunk told the index of its
// first element: what the addon's counter-based draws (random.cc) and per-piece sums (passes.cc)
// need to be independent of how the threads split the tensor.
#pragma once
#include <ATen/TensorIterator.h>

namespace mmb {

// Calls f(chunk pointer, index of its first element, length) over t's elements.
template <typename scalar_t, typename F>
void ForEachChunk(const at::Tensor& t, int64_t grain, const F& f) {
  scalar_t* base = t.data_ptr<scalar_t>();
  at::Tensor view = t;  // TensorIterator wants an output operand; nothing is resized or checked
  auto iter = at::TensorIteratorConfig()
                  .set_check_mem_overlap(false)
                  .check_all_same_dtype(false)
                  .resize_outputs(false)
                  .add_output(view)
                  .build();
  iter.for_each(
      [&](char** data, const int64_t* strides, int64_t n0, int64_t n1) {
        for (int64_t j = 0; j < n1; j++) {
          scalar_t* p = reinterpret_cast<scalar_t*>(data[0] + j * strides[1]);
          TORCH_CHECK(strides[0] == static_cast<int64_t>(sizeof(scalar_t)), "the addon's chunked loops need contiguous chunks");
          f(p, static_cast<int64_t>(p - base), n0);
        }
      },
      grain);
}

}  // namespace mmb
