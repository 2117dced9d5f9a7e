// Element-wise arithmetic, comparisons, reductions and shape operations.
#include "common.h"

using namespace mmb;

#define UNARY(name, fn) MMB_TENSOR_FN(name, fn(T(info, 0)))
#define UNARY_(name, method) MMB_TENSOR_FN(name, T(info, 0).method())
// Binary ops come in tensor-tensor (name) and tensor-scalar (name##S) forms.
#define BINARY(name, fn)                                \
  MMB_TENSOR_FN(name, fn(T(info, 0), T(info, 1)))      \
  MMB_TENSOR_FN(name##S, fn(T(info, 0), S(info, 1)))
#define BINARY_(name, method)                            \
  MMB_TENSOR_FN(name, T(info, 0).method(T(info, 1)))    \
  MMB_TENSOR_FN(name##S, T(info, 0).method(S(info, 1)))

// ---- element-wise ----
MMB_TENSOR_FN(add, at::add(T(info, 0), T(info, 1), S(info, 2)))
MMB_TENSOR_FN(addS, at::add(T(info, 0), S(info, 1), S(info, 2)))
MMB_TENSOR_FN(sub, at::sub(T(info, 0), T(info, 1), S(info, 2)))
MMB_TENSOR_FN(subS, at::sub(T(info, 0), S(info, 1), S(info, 2)))
MMB_TENSOR_FN(rsubS, at::rsub(T(info, 0), S(info, 1)))
BINARY(mul, at::mul)
BINARY(div, at::div)
MMB_TENSOR_FN(divMode, at::div(T(info, 0), T(info, 1), Str(info, 2)))
MMB_TENSOR_FN(divModeS, at::div(T(info, 0), S(info, 1), Str(info, 2)))
BINARY(pow, at::pow)
MMB_TENSOR_FN(rpowS, at::pow(S(info, 1), T(info, 0)))
BINARY(remainder, at::remainder)
MMB_TENSOR_FN(maximum, at::maximum(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(minimum, at::minimum(T(info, 0), T(info, 1)))
BINARY(eq, at::eq)
BINARY(ne, at::ne)
BINARY(lt, at::lt)
BINARY(le, at::le)
BINARY(gt, at::gt)
BINARY(ge, at::ge)
MMB_TENSOR_FN(logicalAnd, at::logical_and(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(logicalOr, at::logical_or(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(logicalXor, at::logical_xor(T(info, 0), T(info, 1)))
UNARY(logicalNot, at::logical_not)
MMB_TENSOR_FN(atan2, at::atan2(T(info, 0), T(info, 1)))
UNARY(neg, at::neg)
UNARY(abs, at::abs)
UNARY(sign, at::sign)
UNARY(exp, at::exp)
UNARY(expm1, at::expm1)
UNARY(log, at::log)
UNARY(log1p, at::log1p)
UNARY(log2, at::log2)
UNARY(sqrt, at::sqrt)
UNARY(rsqrt, at::rsqrt)
UNARY(square, at::square)
UNARY(reciprocal, at::reciprocal)
UNARY(sin, at::sin)
UNARY(cos, at::cos)
UNARY(tanh, at::tanh)
UNARY(sigmoid, at::sigmoid)
UNARY(relu, at::relu)
UNARY(silu, at::silu)
UNARY(erf, at::erf)
UNARY(floor, at::floor)
UNARY(ceil, at::ceil)
UNARY(round, at::round)
UNARY(trunc, at::trunc)
UNARY(isnan, at::isnan)
UNARY(isinf, at::isinf)
UNARY(isfinite, at::isfinite)
MMB_TENSOR_FN(gelu, at::gelu(T(info, 0), Str(info, 1)))
MMB_TENSOR_FN(leakyRelu, at::leaky_relu(T(info, 0), S(info, 1)))
MMB_TENSOR_FN(elu, at::elu(T(info, 0), S(info, 1)))
MMB_TENSOR_FN(softplus, at::softplus(T(info, 0), S(info, 1), S(info, 2)))
MMB_TENSOR_FN(clamp, at::clamp(T(info, 0), OS(info, 1), OS(info, 2)))
MMB_TENSOR_FN(clampT, at::clamp(T(info, 0), OT(info, 1), OT(info, 2)))
MMB_TENSOR_FN(where, at::where(T(info, 0), T(info, 1), T(info, 2)))
MMB_TENSOR_FN(whereTS, at::where(T(info, 0), T(info, 1), S(info, 2)))
MMB_TENSOR_FN(whereST, at::where(T(info, 0), S(info, 1), T(info, 2)))
MMB_TENSOR_FN(whereSS, at::where(T(info, 0), S(info, 1), S(info, 2)))
MMB_TENSOR_FN(lerp, at::lerp(T(info, 0), T(info, 1), S(info, 2)))

// ---- in-place (autograd-aware; used on parameters and gradients under no-grad) ----
MMB_VOID_FN(add_, T(info, 0).add_(T(info, 1), S(info, 2)))
MMB_VOID_FN(addS_, T(info, 0).add_(S(info, 1)))
MMB_VOID_FN(sub_, T(info, 0).sub_(T(info, 1), S(info, 2)))
MMB_VOID_FN(mul_, T(info, 0).mul_(T(info, 1)))
MMB_VOID_FN(mulS_, T(info, 0).mul_(S(info, 1)))
MMB_VOID_FN(div_, T(info, 0).div_(T(info, 1)))
MMB_VOID_FN(divS_, T(info, 0).div_(S(info, 1)))
MMB_VOID_FN(copy_, T(info, 0).copy_(T(info, 1)))
MMB_VOID_FN(fill_, T(info, 0).fill_(S(info, 1)))
MMB_VOID_FN(zero_, T(info, 0).zero_())
MMB_VOID_FN(clamp_, T(info, 0).clamp_(OS(info, 1), OS(info, 2)))
MMB_VOID_FN(normal_, T(info, 0).normal_(D(info, 1), D(info, 2)))
MMB_VOID_FN(uniform_, T(info, 0).uniform_(D(info, 1), D(info, 2)))
MMB_VOID_FN(addcmul_, T(info, 0).addcmul_(T(info, 1), T(info, 2), S(info, 3)))
MMB_VOID_FN(addcdiv_, T(info, 0).addcdiv_(T(info, 1), T(info, 2), S(info, 3)))
MMB_VOID_FN(lerp_, T(info, 0).lerp_(T(info, 1), S(info, 2)))
MMB_VOID_FN(sqrt_, T(info, 0).sqrt_())
MMB_VOID_FN(maskedFill_, T(info, 0).masked_fill_(T(info, 1), S(info, 2)))

// ---- reductions: (t, dims|null, keepdim, ...) ----
static at::OptionalIntArrayRef Dims(const c10::optional<std::vector<int64_t>>& d) {
  if (!d) return c10::nullopt;
  return at::IntArrayRef(*d);
}
MMB_FN(sum) {
  MMB_TRY
  auto d = OIL(info, 1);
  return Wrap(info.Env(), at::sum(T(info, 0), Dims(d), B(info, 2), ODT(info, 3)));
  MMB_CATCH
}
MMB_FN(mean) {
  MMB_TRY
  auto d = OIL(info, 1);
  return Wrap(info.Env(), at::mean(T(info, 0), Dims(d), B(info, 2), ODT(info, 3)));
  MMB_CATCH
}
MMB_FN(prod) {
  MMB_TRY
  auto d = OI(info, 1);
  if (!d) return Wrap(info.Env(), at::prod(T(info, 0)));
  return Wrap(info.Env(), at::prod(T(info, 0), *d, B(info, 2)));
  MMB_CATCH
}
// std/var(t, dims|null, correction, keepdim)
MMB_FN(std) {
  MMB_TRY
  auto d = OIL(info, 1);
  return Wrap(info.Env(), at::std(T(info, 0), Dims(d), OI(info, 2), B(info, 3)));
  MMB_CATCH
}
MMB_FN(var) {
  MMB_TRY
  auto d = OIL(info, 1);
  return Wrap(info.Env(), at::var(T(info, 0), Dims(d), OI(info, 2), B(info, 3)));
  MMB_CATCH
}
// norm(t, p, dims|null, keepdim): the vector norm of PyTorch's `norm` for tensors
MMB_FN(norm) {
  MMB_TRY
  auto d = OIL(info, 2);
  return Wrap(info.Env(), at::linalg_vector_norm(T(info, 0), S(info, 1), Dims(d), B(info, 3)));
  MMB_CATCH
}
MMB_TENSOR_FN(logsumexp, at::logsumexp(T(info, 0), IL(info, 1), B(info, 2)))
MMB_TENSOR_FN(amax, at::amax(T(info, 0), IL(info, 1), B(info, 2)))
MMB_TENSOR_FN(amin, at::amin(T(info, 0), IL(info, 1), B(info, 2)))
UNARY(maxAll, at::max)
UNARY(minAll, at::min)
MMB_FN(maxDim) {
  MMB_TRY
  auto r = at::max(T(info, 0), I(info, 1), B(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  MMB_CATCH
}
MMB_FN(minDim) {
  MMB_TRY
  auto r = at::min(T(info, 0), I(info, 1), B(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  MMB_CATCH
}
MMB_TENSOR_FN(argmax, at::argmax(T(info, 0), OI(info, 1), B(info, 2)))
MMB_TENSOR_FN(argmin, at::argmin(T(info, 0), OI(info, 1), B(info, 2)))
MMB_FN(any) {
  MMB_TRY
  auto d = OI(info, 1);
  return Wrap(info.Env(), d ? at::any(T(info, 0), *d, B(info, 2)) : at::any(T(info, 0)));
  MMB_CATCH
}
MMB_FN(all) {
  MMB_TRY
  auto d = OI(info, 1);
  return Wrap(info.Env(), d ? at::all(T(info, 0), *d, B(info, 2)) : at::all(T(info, 0)));
  MMB_CATCH
}
MMB_TENSOR_FN(cumsum, at::cumsum(T(info, 0), I(info, 1)))
MMB_FN(sort) {
  MMB_TRY
  auto r = at::sort(T(info, 0), I(info, 1), B(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  MMB_CATCH
}
MMB_FN(topk) {
  MMB_TRY
  auto r = at::topk(T(info, 0), I(info, 1), I(info, 2), B(info, 3), true);
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  MMB_CATCH
}
MMB_TENSOR_FN(bincount, at::bincount(T(info, 0), OT(info, 1), I(info, 2)))

// ---- shape ----
MMB_TENSOR_FN(reshape, T(info, 0).reshape(IL(info, 1)))
MMB_TENSOR_FN(view, T(info, 0).view(IL(info, 1)))
MMB_TENSOR_FN(permute, T(info, 0).permute(IL(info, 1)))
MMB_TENSOR_FN(transpose, T(info, 0).transpose(I(info, 1), I(info, 2)))
MMB_FN(squeeze) {
  MMB_TRY
  auto d = OI(info, 1);
  return Wrap(info.Env(), d ? T(info, 0).squeeze(*d) : T(info, 0).squeeze());
  MMB_CATCH
}
MMB_TENSOR_FN(unsqueeze, T(info, 0).unsqueeze(I(info, 1)))
MMB_TENSOR_FN(flatten, T(info, 0).flatten(I(info, 1), I(info, 2)))
MMB_TENSOR_FN(expand, T(info, 0).expand(IL(info, 1)))
MMB_TENSOR_FN(repeat, T(info, 0).repeat(IL(info, 1)))
MMB_TENSOR_FN(cat, at::cat(TL(info, 0), I(info, 1)))
MMB_TENSOR_FN(stack, at::stack(TL(info, 0), I(info, 1)))
MMB_LIST_FN(split, T(info, 0).split(I(info, 1), I(info, 2)))
MMB_LIST_FN(splitSizes, T(info, 0).split_with_sizes(IL(info, 1), I(info, 2)))
MMB_LIST_FN(chunk, T(info, 0).chunk(I(info, 1), I(info, 2)))
MMB_LIST_FN(unbind, T(info, 0).unbind(I(info, 1)))
MMB_TENSOR_FN(narrow, T(info, 0).narrow(I(info, 1), I(info, 2), I(info, 3)))
MMB_TENSOR_FN(slice, T(info, 0).slice(I(info, 1), OI(info, 2), OI(info, 3), I(info, 4)))
MMB_TENSOR_FN(select, T(info, 0).select(I(info, 1), I(info, 2)))
MMB_TENSOR_FN(indexSelect, at::index_select(T(info, 0), I(info, 1), T(info, 2)))
MMB_TENSOR_FN(maskedSelect, at::masked_select(T(info, 0), T(info, 1)))
MMB_TENSOR_FN(gather, at::gather(T(info, 0), I(info, 1), T(info, 2)))
MMB_TENSOR_FN(scatter, at::scatter(T(info, 0), I(info, 1), T(info, 2), T(info, 3)))
MMB_TENSOR_FN(scatterS, at::scatter(T(info, 0), I(info, 1), T(info, 2), S(info, 3)))
MMB_TENSOR_FN(scatterAdd, at::scatter_add(T(info, 0), I(info, 1), T(info, 2), T(info, 3)))
MMB_TENSOR_FN(maskedFill, at::masked_fill(T(info, 0), T(info, 1), S(info, 2)))
MMB_TENSOR_FN(pad, at::pad(T(info, 0), IL(info, 1), Str(info, 2), OD(info, 3)))
MMB_TENSOR_FN(tril, at::tril(T(info, 0), I(info, 1)))
MMB_TENSOR_FN(triu, at::triu(T(info, 0), I(info, 1)))
MMB_TENSOR_FN(flip, at::flip(T(info, 0), IL(info, 1)))
MMB_TENSOR_FN(roll, at::roll(T(info, 0), IL(info, 1), IL(info, 2)))
MMB_TENSOR_FN(nonzero, at::nonzero(T(info, 0)))

namespace mmb {
void RegisterMath(Napi::Env env, Napi::Object exports) {
#define EX2(n) MMB_EXPORT(n); MMB_EXPORT(n##S)
  MMB_EXPORT(add); MMB_EXPORT(addS); MMB_EXPORT(sub); MMB_EXPORT(subS); MMB_EXPORT(rsubS);
  EX2(mul); EX2(div); MMB_EXPORT(divMode); MMB_EXPORT(divModeS); EX2(pow); MMB_EXPORT(rpowS); EX2(remainder);
  MMB_EXPORT(maximum); MMB_EXPORT(minimum);
  EX2(eq); EX2(ne); EX2(lt); EX2(le); EX2(gt); EX2(ge);
  MMB_EXPORT(logicalAnd); MMB_EXPORT(logicalOr); MMB_EXPORT(logicalXor); MMB_EXPORT(logicalNot);
  MMB_EXPORT(atan2); MMB_EXPORT(neg); MMB_EXPORT(abs); MMB_EXPORT(sign); MMB_EXPORT(exp);
  MMB_EXPORT(expm1); MMB_EXPORT(log); MMB_EXPORT(log1p); MMB_EXPORT(log2); MMB_EXPORT(sqrt);
  MMB_EXPORT(rsqrt); MMB_EXPORT(square); MMB_EXPORT(reciprocal); MMB_EXPORT(sin); MMB_EXPORT(cos);
  MMB_EXPORT(tanh); MMB_EXPORT(sigmoid); MMB_EXPORT(relu); MMB_EXPORT(silu); MMB_EXPORT(erf);
  MMB_EXPORT(floor); MMB_EXPORT(ceil); MMB_EXPORT(round); MMB_EXPORT(trunc); MMB_EXPORT(isnan);
  MMB_EXPORT(isinf); MMB_EXPORT(isfinite); MMB_EXPORT(gelu); MMB_EXPORT(leakyRelu); MMB_EXPORT(elu);
  MMB_EXPORT(softplus); MMB_EXPORT(clamp); MMB_EXPORT(clampT); MMB_EXPORT(where);
  MMB_EXPORT(whereTS); MMB_EXPORT(whereST); MMB_EXPORT(whereSS); MMB_EXPORT(lerp);
  MMB_EXPORT(add_); MMB_EXPORT(addS_); MMB_EXPORT(sub_); MMB_EXPORT(mul_); MMB_EXPORT(mulS_);
  MMB_EXPORT(div_); MMB_EXPORT(divS_); MMB_EXPORT(copy_); MMB_EXPORT(fill_); MMB_EXPORT(zero_);
  MMB_EXPORT(clamp_); MMB_EXPORT(normal_); MMB_EXPORT(uniform_); MMB_EXPORT(addcmul_);
  MMB_EXPORT(addcdiv_); MMB_EXPORT(lerp_); MMB_EXPORT(sqrt_); MMB_EXPORT(maskedFill_);
  MMB_EXPORT(sum); MMB_EXPORT(mean); MMB_EXPORT(prod); MMB_EXPORT(std); MMB_EXPORT(var);
  MMB_EXPORT(norm); MMB_EXPORT(logsumexp); MMB_EXPORT(amax); MMB_EXPORT(amin); MMB_EXPORT(maxAll);
  MMB_EXPORT(minAll); MMB_EXPORT(maxDim); MMB_EXPORT(minDim); MMB_EXPORT(argmax); MMB_EXPORT(argmin);
  MMB_EXPORT(any); MMB_EXPORT(all); MMB_EXPORT(cumsum); MMB_EXPORT(sort); MMB_EXPORT(topk);
  MMB_EXPORT(bincount);
  MMB_EXPORT(reshape); MMB_EXPORT(view); MMB_EXPORT(permute); MMB_EXPORT(transpose);
  MMB_EXPORT(squeeze); MMB_EXPORT(unsqueeze); MMB_EXPORT(flatten); MMB_EXPORT(expand);
  MMB_EXPORT(repeat); MMB_EXPORT(cat); MMB_EXPORT(stack); MMB_EXPORT(split); MMB_EXPORT(splitSizes);
  MMB_EXPORT(chunk); MMB_EXPORT(unbind); MMB_EXPORT(narrow); MMB_EXPORT(slice); MMB_EXPORT(select);
  MMB_EXPORT(indexSelect); MMB_EXPORT(maskedSelect); MMB_EXPORT(gather); MMB_EXPORT(scatter);
  MMB_EXPORT(scatterS); MMB_EXPORT(scatterAdd); MMB_EXPORT(maskedFill); MMB_EXPORT(pad);
  MMB_EXPORT(tril); MMB_EXPORT(triu); MMB_EXPORT(flip); MMB_EXPORT(roll); MMB_EXPORT(nonzero);
#undef EX2
}
}  // namespace mmb
