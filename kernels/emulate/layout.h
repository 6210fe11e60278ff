// Building the kernels' `Layout` (common.cuh) in emulation tests, the way the host code does
// (`CudaData::layout_as`, `CudaData::reduction_view`): include after the kernel file.
#pragma once
#include <vector>

typedef std::vector<i64> Dims;

// Row-major strides of `shape`.
inline Dims row_major(const Dims &shape) {
  Dims s(shape.size());
  i64 acc = 1;
  for (size_t d = shape.size(); d-- > 0;) s[d] = acc, acc *= shape[d] > 0 ? shape[d] : 1;
  return s;
}

// The view (shape, strides, offset) read as `to` (a broadcast: missing leading and size-1
// dimensions get stride 0).
inline Layout layout_as(const Dims &shape, const Dims &strides, const Dims &to, i64 offset = 0) {
  Layout l{};
  l.ndim = (int)to.size();
  l.offset = offset;
  size_t lead = to.size() - shape.size();
  for (size_t d = 0; d < to.size(); ++d) {
    l.shape[d] = to[d];
    l.strides[d] = (d >= lead && shape[d - lead] == to[d]) ? strides[d - lead] : 0;
  }
  return l;
}

// A contiguous tensor of `shape` read as `to`.
inline Layout contiguous_as(const Dims &shape, const Dims &to) { return layout_as(shape, row_major(shape), to); }

// The row-major multi-index of element `i` of `shape`.
inline Dims unravel(i64 i, const Dims &shape) {
  Dims ix(shape.size());
  for (size_t d = shape.size(); d-- > 0;) ix[d] = i % shape[d], i /= shape[d];
  return ix;
}

// A strided view of a host buffer: the reference reads elements by multi-index (broadcast: the
// index is right-aligned and size-1 dimensions repeat), the kernel through `as(to)`.
template <typename T> struct View {
  const T *p;
  Dims shape, strides;
  i64 offset = 0;
  T at(const Dims &ix) const {
    size_t lead = ix.size() - shape.size();
    i64 o = offset;
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] != 1) o += ix[d + lead] * strides[d];
    return p[o];
  }
  Layout as(const Dims &to) const { return layout_as(shape, strides, to, offset); }
};

// A contiguous view of `v` with `shape`.
template <typename T> View<T> view(const std::vector<T> &v, const Dims &shape) {
  return View<T>{v.data(), shape, row_major(shape), 0};
}

inline i64 numel(const Dims &shape) {
  i64 n = 1;
  for (i64 s : shape) n *= s;
  return n;
}
