// Linear algebra, neural-network functions, losses and multi-tensor (foreach) updates.
#include "common.h"

using namespace mmb;

// ---- linear algebra ----
MMB_TENSOR_FN(matmul, at::matmul(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(mm, at::mm(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(bmm, at::bmm(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(outer, at::outer(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(einsum, at::einsum(Str(info, 0), TL(info, 1)))
MMB_TENSOR_FN(linear, at::linear(T(info, 0), T(info, 1), OT(info, 2)))
MMB_TENSOR_FN(baddbmm, at::baddbmm(T(info, 0), T(info, 1), T(info, 2), S(info, 3), S(info, 4)))

// ---- activations and normalisation ----
MMB_TENSOR_FN(softmax, at::softmax(T(info, 0), I(info, 1), ODT(info, 2)))
MMB_TENSOR_FN(logSoftmax, at::log_softmax(T(info, 0), I(info, 1), ODT(info, 2)))
MMB_TENSOR_FN(layerNorm, at::layer_norm(T(info, 0), IL(info, 1), OT(info, 2), OT(info, 3), D(info, 4)))
// batchNorm(x, weight, bias, runningMean, runningVar, training, momentum, eps)
MMB_TENSOR_FN(batchNorm, at::batch_norm(T(info, 0), OT(info, 1), OT(info, 2), OT(info, 3), OT(info, 4),
                                        B(info, 5), D(info, 6), D(info, 7), true))
MMB_TENSOR_FN(groupNorm, at::group_norm(T(info, 0), I(info, 1), OT(info, 2), OT(info, 3), D(info, 4), true))
MMB_TENSOR_FN(cosineSimilarity, at::cosine_similarity(T(info, 0), T(info, 1), I(info, 2), D(info, 3)))
MMB_TENSOR_FN(oneHot, at::one_hot(T(info, 0), I(info, 1)))
MMB_TENSOR_FN(embedding, at::embedding(T(info, 0), T(info, 1), I(info, 2)))

// ---- convolution and pooling: (x, weight, bias, stride, padding, dilation, groups) ----
MMB_TENSOR_FN(conv1d, at::conv1d(T(info, 0), T(info, 1), OT(info, 2), IL(info, 3), IL(info, 4), IL(info, 5), I(info, 6)))
MMB_TENSOR_FN(conv2d, at::conv2d(T(info, 0), T(info, 1), OT(info, 2), IL(info, 3), IL(info, 4), IL(info, 5), I(info, 6)))
// pools: (x, kernel, stride, padding, ceilMode)
MMB_TENSOR_FN(maxPool1d, at::max_pool1d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), 1, B(info, 4)))
MMB_TENSOR_FN(maxPool2d, at::max_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), 1, B(info, 4)))
MMB_TENSOR_FN(avgPool1d, at::avg_pool1d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), B(info, 4), true))
MMB_TENSOR_FN(avgPool2d, at::avg_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), B(info, 4), true))
MMB_TENSOR_FN(adaptiveAvgPool1d, at::adaptive_avg_pool1d(T(info, 0), IL(info, 1)))
MMB_TENSOR_FN(adaptiveAvgPool2d, at::adaptive_avg_pool2d(T(info, 0), IL(info, 1)))
MMB_TENSOR_FN(adaptiveMaxPool1d, std::get<0>(at::adaptive_max_pool1d(T(info, 0), IL(info, 1))))
MMB_TENSOR_FN(adaptiveMaxPool2d, std::get<0>(at::adaptive_max_pool2d(T(info, 0), IL(info, 1))))

// ---- losses: reduction 0 none, 1 mean, 2 sum (at::Reduction) ----
// crossEntropy(input, target, weight, reduction, ignoreIndex, labelSmoothing)
MMB_TENSOR_FN(crossEntropy, at::cross_entropy_loss(T(info, 0), T(info, 1), OT(info, 2), I(info, 3), I(info, 4), D(info, 5)))
MMB_TENSOR_FN(nllLoss, at::nll_loss_nd(T(info, 0), T(info, 1), OT(info, 2), I(info, 3), I(info, 4)))
MMB_TENSOR_FN(l1Loss, at::l1_loss(T(info, 0), T(info, 1), I(info, 2)))
MMB_TENSOR_FN(mseLoss, at::mse_loss(T(info, 0), T(info, 1), I(info, 2)))
MMB_TENSOR_FN(smoothL1Loss, at::smooth_l1_loss(T(info, 0), T(info, 1), I(info, 2), D(info, 3)))
MMB_TENSOR_FN(klDiv, at::kl_div(T(info, 0), T(info, 1), I(info, 2), B(info, 3)))
MMB_TENSOR_FN(bceWithLogits, at::binary_cross_entropy_with_logits(T(info, 0), T(info, 1), OT(info, 2), OT(info, 3), I(info, 4)))

// ---- multi-tensor updates (what PyTorch's foreach optimizers use) ----
MMB_VOID_FN(foreachAddList_, at::_foreach_add_(TL(info, 0), TL(info, 1), S(info, 2)))
MMB_VOID_FN(foreachAddScalar_, at::_foreach_add_(TL(info, 0), S(info, 1)))
MMB_VOID_FN(foreachMulScalar_, at::_foreach_mul_(TL(info, 0), S(info, 1)))
MMB_VOID_FN(foreachMulScalars_, at::_foreach_mul_(TL(info, 0), SL(info, 1)))
MMB_VOID_FN(foreachDivScalars_, at::_foreach_div_(TL(info, 0), SL(info, 1)))
MMB_VOID_FN(foreachMulList_, at::_foreach_mul_(TL(info, 0), TL(info, 1)))
MMB_VOID_FN(foreachAddcmul_, at::_foreach_addcmul_(TL(info, 0), TL(info, 1), TL(info, 2), S(info, 3)))
MMB_VOID_FN(foreachAddcdivScalars_, at::_foreach_addcdiv_(TL(info, 0), TL(info, 1), TL(info, 2), SL(info, 3)))
MMB_VOID_FN(foreachMaximum_, at::_foreach_maximum_(TL(info, 0), TL(info, 1)))
MMB_VOID_FN(foreachZero_, at::_foreach_zero_(TL(info, 0)))
MMB_VOID_FN(foreachSqrt_, at::_foreach_sqrt_(TL(info, 0)))
MMB_VOID_FN(foreachCopy_, {
  auto dst = TL(info, 0);
  auto src = TL(info, 1);
  if (dst.size() != src.size()) throw ArgError("foreachCopy_: lists differ in length");
  for (size_t k = 0; k < dst.size(); ++k) dst[k].copy_(src[k]);
})
MMB_LIST_FN(foreachSqrt, at::_foreach_sqrt(TL(info, 0)))
MMB_LIST_FN(foreachNorm, at::_foreach_norm(TL(info, 0), S(info, 1)))
MMB_LIST_FN(foreachClone, [&] {
  auto src = TL(info, 0);
  std::vector<at::Tensor> out;
  out.reserve(src.size());
  for (auto& t : src) out.push_back(t.clone());
  return out;
}())
MMB_LIST_FN(foreachZerosLike, [&] {
  auto src = TL(info, 0);
  std::vector<at::Tensor> out;
  out.reserve(src.size());
  for (auto& t : src) out.push_back(at::zeros_like(t, at::MemoryFormat::Preserve));
  return out;
}())
// The gradients of a list of tensors (null where none), in one crossing.
MMB_FN(grads) {
  MMB_TRY
  auto ts = TL(info, 0);
  Napi::Array arr = Napi::Array::New(info.Env(), ts.size());
  for (size_t k = 0; k < ts.size(); ++k) {
    const at::Tensor& g = ts[k].grad();
    arr.Set(static_cast<uint32_t>(k), g.defined() ? WrapBorrowed(info.Env(), g) : info.Env().Null());
  }
  return arr;
  MMB_CATCH
}
// Sets every gradient in the list to undefined (PyTorch's zero_grad(set_to_none=True)).
MMB_VOID_FN(clearGrads, {
  for (auto& t : TL(info, 0)) t.mutable_grad() = at::Tensor();
})

namespace mmb {
void RegisterNN(Napi::Env env, Napi::Object exports) {
  MMB_EXPORT(matmul); MMB_EXPORT(mm); MMB_EXPORT(bmm); MMB_EXPORT(outer); MMB_EXPORT(einsum);
  MMB_EXPORT(linear); MMB_EXPORT(baddbmm); MMB_EXPORT(softmax); MMB_EXPORT(logSoftmax);
  MMB_EXPORT(layerNorm); MMB_EXPORT(batchNorm); MMB_EXPORT(groupNorm);
  MMB_EXPORT(cosineSimilarity); MMB_EXPORT(oneHot); MMB_EXPORT(embedding); MMB_EXPORT(conv1d);
  MMB_EXPORT(conv2d); MMB_EXPORT(maxPool1d); MMB_EXPORT(maxPool2d); MMB_EXPORT(avgPool1d);
  MMB_EXPORT(avgPool2d); MMB_EXPORT(adaptiveAvgPool1d); MMB_EXPORT(adaptiveAvgPool2d);
  MMB_EXPORT(adaptiveMaxPool1d); MMB_EXPORT(adaptiveMaxPool2d);
  MMB_EXPORT(crossEntropy); MMB_EXPORT(nllLoss); MMB_EXPORT(l1Loss); MMB_EXPORT(mseLoss);
  MMB_EXPORT(smoothL1Loss); MMB_EXPORT(klDiv); MMB_EXPORT(bceWithLogits);
  MMB_EXPORT(foreachAddList_); MMB_EXPORT(foreachAddScalar_); MMB_EXPORT(foreachMulScalar_);
  MMB_EXPORT(foreachMulScalars_); MMB_EXPORT(foreachDivScalars_); MMB_EXPORT(foreachMulList_);
  MMB_EXPORT(foreachAddcmul_); MMB_EXPORT(foreachAddcdivScalars_); MMB_EXPORT(foreachMaximum_);
  MMB_EXPORT(foreachZero_); MMB_EXPORT(foreachSqrt_); MMB_EXPORT(foreachCopy_);
  MMB_EXPORT(foreachSqrt); MMB_EXPORT(foreachNorm); MMB_EXPORT(foreachClone);
  MMB_EXPORT(foreachZerosLike); MMB_EXPORT(grads); MMB_EXPORT(clearGrads);
}
}  // namespace mmb
